import type { Command } from 'commander';
import { PartitionSubset } from '../../core/partitions/subset.ts';
import { STATUSES, type AssetStatus, type PartitionStatus, type StatusCounts } from '../../core/state/staleness.ts';
import { action, type CliContext } from '../context.ts';
import { colourStatus, columns, describeSubset, printJson, type Style } from '../output.ts';
import { resolveAsset } from '../../core/select/resolve.ts';

export function register(program: Command): void {
  program
    .command('status')
    .description('show which partitions are fresh, stale, missing, failed or running')
    .argument('[assets...]', 'asset names (default: every asset)')
    .option('--partitions', 'list every partition with its status and causes')
    .addHelpText(
      'after',
      `
Reads the state database (--state). Assets come upstream first; each line shows the worst status
of the asset and its counts, then the stale, missing, failed and running partitions as compressed
ranges, the stale ones grouped by cause: code, upstream, dependencies.
In JSON, "partitions" (only with --partitions) lists every partition; "partition" is null for an
unpartitioned asset.

Examples:
  $ backfill status
  $ backfill status clean_events --partitions
  $ backfill status --json | jq '.assets[] | select(.counts.stale > 0) | .asset'`,
    )
    .action(action(status));
}

interface StatusOptions {
  partitions?: boolean;
}

async function status(ctx: CliContext, names: string[], options: StatusOptions): Promise<void> {
  const ws = await ctx.workspace();
  // Resolve the names before reading the state: a typo fails fast.
  const wanted = names.length > 0 ? new Set(names.map((n) => resolveAsset(ws, n).name)) : null;
  const { statuses } = await ctx.status(ws);
  const shown = ws.graph.order.filter((a) => wanted === null || wanted.has(a.name)).map((a) => statuses.get(a.name)!);
  const listPartitions = options.partitions === true;

  if (ctx.json) {
    printJson({
      assets: shown.map((st) => ({
        asset: st.asset.name,
        counts: st.counts(),
        ...(listPartitions ? { partitions: partitionList(st) } : {}),
      })),
    });
    return;
  }
  if (shown.length === 0) {
    ctx.print('no assets');
    return;
  }
  const s = ctx.style;
  const nameWidth = Math.max(...shown.map((st) => st.asset.name.length));
  const wordWidth = Math.max(...STATUSES.map((w) => w.length));
  const lines: string[] = [];
  for (const st of shown) {
    const def = st.asset.partitions;
    const empty = def.size === 0;
    const worst = st.worst();
    const counts = st.counts();
    const word = empty ? s.dim('none') : colourStatus(s, worst);
    const pad = (text: string, width: number, shownText = text) => shownText + ' '.repeat(Math.max(0, width - text.length));
    lines.push(
      `${pad(st.asset.name, nameWidth, s.bold(st.asset.name))}  ${pad(empty ? 'none' : worst, wordWidth, word)}  ${summaryOf(st, counts, s)}`.trimEnd(),
    );
    lines.push(...(listPartitions ? partitionLines(st, s) : rangeLines(st, counts, s)).map((l) => `  ${l}`));
  }
  ctx.print(...lines);
}

/** Every partition with its status and causes (JSON). */
function partitionList(st: AssetStatus): Array<{ partition: string | null; status: PartitionStatus; causes: string[] }> {
  const def = st.asset.partitions;
  const unpartitioned = def.kind === 'unpartitioned';
  const out = new Array<{ partition: string | null; status: PartitionStatus; causes: string[] }>(def.size);
  for (let i = 0; i < def.size; i++)
    out[i] = { partition: unpartitioned ? null : def.keyAt(i), status: st.statusAt(i), causes: st.causesAt(i) };
  return out;
}

/** `75 fresh · 12 stale · 3 missing`, `all 91 fresh`; for an unpartitioned asset its causes. */
function summaryOf(st: AssetStatus, counts: StatusCounts, s: Style): string {
  const def = st.asset.partitions;
  if (def.size === 0) return s.dim('no partitions yet');
  if (def.kind === 'unpartitioned') {
    const causes = st.statusAt(0) === 'stale' ? ` (${st.causesAt(0).join(', ')})` : '';
    return s.dim(`unpartitioned${causes}`);
  }
  if (counts.fresh === def.size) return s.green(`all ${def.size} fresh`);
  return STATUSES.filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status === 'fresh' ? status : colourStatus(s, status)}`)
    .join(' · ');
}

/**
 * The partitions that are not fresh, as compressed ranges: stale ones grouped by their set of
 * causes (`stale (code)`), then missing, failed and running. Work is proportional to those
 * partitions, not to every partition of the asset.
 */
function rangeLines(st: AssetStatus, counts: StatusCounts, s: Style): string[] {
  const def = st.asset.partitions;
  if (def.kind === 'unpartitioned') return []; // its one status is on the asset's line
  const rows: string[][] = [];
  if (counts.stale > 0) {
    for (const { label, subset } of staleGroups(st)) rows.push([s.yellow(`stale (${label})`), describeSubset(def, subset)]);
  }
  for (const status of ['missing', 'failed', 'running'] as const) {
    if (counts[status] > 0) rows.push([colourStatus(s, status), describeSubset(def, st.subset(status))]);
  }
  return columns(rows);
}

/** The stale partitions grouped by their set of causes, in the order causes first appear. */
function staleGroups(st: AssetStatus): Array<{ label: string; subset: PartitionSubset }> {
  const groups = new Map<number, { first: number; ranges: Array<[number, number]> }>();
  for (const [start, end] of st.subset('stale').ranges()) {
    for (let i = start; i < end; i++) {
      const bits = st.causes[i]!;
      let g = groups.get(bits);
      if (!g) groups.set(bits, (g = { first: i, ranges: [] }));
      const last = g.ranges[g.ranges.length - 1];
      if (last && last[1] === i) last[1] = i + 1;
      else g.ranges.push([i, i + 1]);
    }
  }
  return [...groups.values()].map((g) => ({ label: st.causesAt(g.first).join(', '), subset: PartitionSubset.fromRanges(g.ranges) }));
}

/** Every partition on its own line (human --partitions). */
function partitionLines(st: AssetStatus, s: Style): string[] {
  const def = st.asset.partitions;
  if (def.kind === 'unpartitioned') return [];
  const rows: string[][] = [];
  for (let i = 0; i < def.size; i++) {
    const causes = st.causesAt(i);
    const status = st.statusAt(i);
    rows.push([def.keyAt(i), colourStatus(s, status) + (causes.length > 0 ? ` (${causes.join(', ')})` : '')]);
  }
  return columns(rows);
}
