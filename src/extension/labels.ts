// Texts the editor shows for assets and partitions. No `vscode` import: unit-tested with node:test.
import type { AssetDefinition } from '../core/model.ts';
import type { PartitionsDefinition } from '../core/partitions/definition.ts';
import { PartitionSubset } from '../core/partitions/subset.ts';
import type { AssetStatus, PartitionStatus, StaleCause } from '../core/state/staleness.ts';
import { STATUS_NAMES, STATUS_ORDER, type StatusName } from '../shared/statuses.ts';

export { describeCounts, STATUS_ORDER } from '../shared/statuses.ts';

/** `2024-01-03…2024-01-09 (7)` or a single key. */
export function describeRange(def: PartitionsDefinition, start: number, end: number): string {
  const n = end - start;
  return n === 1 ? def.keyAt(start) : `${def.keyAt(start)}…${def.keyAt(end - 1)} (${n})`;
}

/** One node of an asset's partitions: contiguous partitions with the same status (and stale causes). */
export interface PartitionRange {
  status: PartitionStatus;
  causes: StaleCause[];
  start: number;
  end: number;
}

/**
 * The asset's partitions that need attention, compressed into runs of the same status and
 * cause set, worst status first, then in partition order.
 */
export function attentionRanges(st: AssetStatus): PartitionRange[] {
  const out: PartitionRange[] = [];
  const n = st.status.length;
  let i = 0;
  while (i < n) {
    const status = st.statusAt(i);
    const causes = st.causes[i]!;
    let j = i + 1;
    while (j < n && st.status[j] === st.status[i] && st.causes[j] === causes) j++;
    if (status !== 'fresh') out.push({ status, causes: st.causesAt(i), start: i, end: j });
    i = j;
  }
  return out.sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || a.start - b.start);
}

/** `stale (code) 2024-01-03…2024-01-09 (7)`. */
export function describeAttention(def: PartitionsDefinition, r: PartitionRange): string {
  const causes = r.status === 'stale' && r.causes.length ? ` (${r.causes.join(', ')})` : '';
  return `${r.status}${causes} ${describeRange(def, r.start, r.end)}`;
}

/** Why a partition is stale, in words, for tooltips. */
export function describeCauses(causes: readonly StaleCause[]): string {
  const words: Record<StaleCause, string> = {
    code: 'its code changed since it was materialized',
    upstream: 'an upstream partition it reads was rematerialized after it',
    dependencies: 'its dependencies were added or removed since',
    observed: 'its output exists (materialized outside Backfill)',
  };
  return causes.map((c) => words[c]).join('; ');
}

/** Short description of an asset's partitions: `daily · 62`, `multi (date × region) · 186`. */
export function describePartitions(asset: AssetDefinition): string {
  const def = asset.partitions;
  if (def.kind === 'unpartitioned') return 'unpartitioned';
  const summary = def.summary();
  if (summary && summary.kind === 'multi') return `multi (${summary.dimensions.map((d) => d.name).join(' × ')}) · ${def.size}`;
  return `${def.kind} · ${def.size}`;
}

/** The subset of a range node. */
export function rangeSubset(r: PartitionRange): PartitionSubset {
  return PartitionSubset.range(r.start, r.end);
}

/** Character and color of each status in the hover's partition strip: colors readable on light and dark themes, shapes for when colors are not seen. */
const STRIP: Record<StatusName, { char: string; color: string }> = {
  fresh: { char: '█', color: '#3fa34d' },
  stale: { char: '▒', color: '#d7a000' },
  missing: { char: '·', color: '#8a8a8a' },
  failed: { char: '✕', color: '#e5484d' },
  running: { char: '▶', color: '#3794ff' },
};

/**
 * The partitions as one line of colored characters (HTML for a hover): one character per
 * partition, sampled down to `width`, each showing the worst status of the partitions it stands
 * for; runs of one status share a span.
 */
export function partitionStripHtml(status: Uint8Array, width = 60): string {
  const n = status.length;
  const w = Math.min(width, n);
  const rank = STATUS_NAMES.map((name) => STATUS_ORDER.length - STATUS_ORDER.indexOf(name)); // higher is worse
  let out = '';
  let run: StatusName | null = null;
  let text = '';
  const flush = (): void => {
    if (run) out += `<span style="color:${STRIP[run].color};">${text}</span>`;
  };
  for (let i = 0; i < w; i++) {
    const from = Math.floor((i * n) / w);
    const to = Math.max(from + 1, Math.floor(((i + 1) * n) / w));
    let worst = status[from]!;
    for (let j = from + 1; j < to; j++) if (rank[status[j]!]! > rank[worst]!) worst = status[j]!;
    const name = STATUS_NAMES[worst]!;
    if (name !== run) {
      flush();
      run = name;
      text = '';
    }
    text += STRIP[name].char;
  }
  flush();
  return out;
}

/** What the strip's characters mean, colored like it. */
export const STRIP_LEGEND_HTML = STATUS_ORDER.map((s) => `<span style="color:${STRIP[s].color};">${STRIP[s].char}</span> ${s}`).join(
  ' &nbsp; ',
);
