import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.ts';
import { formatCost } from '../../core/cost/units.ts';
import { summarizeAttempt } from '../../core/state/explain.ts';
import type { AnyStore } from '../../core/state/copy.ts';
import type { Attempt } from '../../core/state/store.ts';
import type { Workspace } from '../../core/workspace.ts';
import { action, type CliContext } from '../context.ts';
import { colourStatus, columns, formatDuration, formatInstant, printJson } from '../output.ts';
import { RANGE_SEPARATOR, resolveAsset, resolveKey, resolvePartitions } from '../../core/select/resolve.ts';
import { parsePositive } from '../selection.ts';

const DEFAULT_LIMIT = 50;

export function register(program: Command): void {
  program
    .command('history')
    .description('list past materialization attempts, newest first')
    .argument('[asset]', 'only this asset (also one no longer defined, if it has records)')
    .argument('[partition]', 'only this partition of the asset')
    .option('--limit <n>', `how many attempts at most (default: ${DEFAULT_LIMIT})`)
    .addHelpText(
      'after',
      `
In JSON, times are ISO-8601 UTC, "partition" is null for an unpartitioned asset, "metadata"
is what was recorded with the attempt (or null), "cost" the partition's share of what its task
cost (or null) and "cost_source" "reported" (by the command) or "rate" (the declared cost:).

Examples:
  $ backfill history
  $ backfill history clean_events 2024-03-02 --limit 5
  $ backfill history raw_events --json | jq '.attempts[] | select(.status == "failed")'`,
    )
    .action(action(history));
}

interface HistoryOptions {
  limit?: string;
}

async function history(ctx: CliContext, name: string | undefined, partition: string | undefined, options: HistoryOptions): Promise<void> {
  const limit = parseLimit(options.limit);
  const ws = await ctx.workspace();
  const store = await ctx.state();
  const filter = name === undefined ? {} : await resolveFilter(ws, store, name, partition, ctx.now);
  const attempts = await store.history({ ...filter, limit });
  if (ctx.json) {
    printJson({ attempts: attempts.map(attemptJson) });
    return;
  }
  if (attempts.length === 0) {
    const what = name === undefined ? '' : ` for ${name}${partition === undefined ? '' : ` ${partition}`}`;
    ctx.print(`no attempts recorded${what}`);
    return;
  }
  const s = ctx.style;
  const header = ['id', 'started', 'asset', 'partition', 'status', 'duration', 'details'].map((h) => s.dim(h));
  const rows = attempts.map((a) => [
    `#${a.id}`,
    formatInstant(new Date(a.startedAt)),
    s.bold(a.asset),
    a.partition,
    colourStatus(s, a.status),
    // Recorded materializations take no time: an empty cell rather than "0ms".
    a.durationMs === null || a.durationMs === 0 ? '' : formatDuration(a.durationMs),
    details(a, ws.costUnit),
  ]);
  ctx.print(...columns([header, ...rows]));
  if (attempts.length === limit) ctx.print(s.dim(`(the latest ${limit} attempts: --limit N shows more)`));
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  return parsePositive('--limit', text);
}

/**
 * The filter for an asset and maybe a partition. An asset that is no longer defined, or a key
 * that no longer exists, is accepted when the database has attempts for it: history outlives
 * definitions. Otherwise the usual errors, with a did-you-mean or the nearest keys.
 */
async function resolveFilter(
  ws: Workspace,
  store: AnyStore,
  name: string,
  partition: string | undefined,
  now: Date,
): Promise<{ asset: string; partition?: string }> {
  if (partition?.includes(RANGE_SEPARATOR)) throw new UserError(`history takes one partition key, not a range: ${partition}`);
  const asset = ws.assets.get(name);
  if (!asset) {
    if (!(await store.recordedAssets()).includes(name)) resolveAsset(ws, name); // throws, with a did-you-mean
    return partition === undefined ? { asset: name } : { asset: name, partition };
  }
  if (partition === undefined) return { asset: name };
  if (asset.partitions.kind === 'unpartitioned') resolvePartitions(asset, [partition], now); // throws: not partitioned
  if (asset.partitions.indexOf(partition) < 0 && (await store.history({ asset: name, partition, limit: 1 })).length === 0)
    resolveKey(asset, partition, now);
  return { asset: name, partition };
}

/** One attempt in JSON: which partition, then the attempt's summary. */
function attemptJson(a: Attempt): Record<string, unknown> {
  const { id, ...rest } = summarizeAttempt(a)!;
  return { id, asset: a.asset, partition: a.partition === '' ? null : a.partition, ...rest };
}

/** Exit code, run, cost and metadata, compactly: `exit 1 · run r-12 · cost 0.40 USD · rows=1200 note=late`. */
function details(a: Attempt, unit: string | undefined): string {
  const parts: string[] = [];
  if (a.exitCode !== null) parts.push(`exit ${a.exitCode}`);
  if (a.runId !== null) parts.push(`run ${a.runId}`);
  if (a.cost !== null) parts.push(`cost ${formatCost(a.cost, unit)}${a.costSource === 'rate' ? ' (rate)' : ''}`);
  if (a.metadata)
    parts.push(
      Object.entries(a.metadata)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' '),
    );
  return parts.join(' · ');
}
