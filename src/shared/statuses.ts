// The partition statuses, once for everything: the core's status codes (src/core/state/staleness.ts),
// the graph protocol's count tuples, and the words every view shows (tree, decorations, graph).
// Imports nothing: the core, the extension and the webview all import it.

/** The statuses in the order of their codes. */
export const STATUS_NAMES = ['fresh', 'stale', 'missing', 'failed', 'running'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

/** The code of each status (an index into STATUS_NAMES and into a StatusTuple). */
export const STATUS_CODE = { fresh: 0, stale: 1, missing: 2, failed: 3, running: 4 } as const satisfies Record<StatusName, number>;

/** Order of importance, worst first: the order of counts in descriptions and of range nodes. */
export const STATUS_ORDER: readonly StatusName[] = ['failed', 'stale', 'missing', 'running', 'fresh'];

export type StatusCountsByName = Record<StatusName, number>;
/** Counts by status code, as the graph protocol sends them: [fresh, stale, missing, failed, running]. */
export type StatusTuple = [number, number, number, number, number];

export function countsByName(t: Readonly<StatusTuple>): StatusCountsByName {
  return {
    fresh: t[STATUS_CODE.fresh],
    stale: t[STATUS_CODE.stale],
    missing: t[STATUS_CODE.missing],
    failed: t[STATUS_CODE.failed],
    running: t[STATUS_CODE.running],
  };
}

/**
 * `1 failed · 12 stale · 3 missing · 40 fresh` (worst first: a view too narrow for all of it
 * still shows what matters most), `all 62 fresh`, or `missing` / `fresh` for an unpartitioned asset.
 */
export function describeCounts(counts: StatusCountsByName, unpartitioned = false): string {
  if (unpartitioned) return STATUS_ORDER.find((s) => counts[s] > 0) ?? 'fresh';
  const total = STATUS_ORDER.reduce((n, s) => n + counts[s], 0);
  if (total === 0) return 'no partitions yet';
  if (counts.fresh === total) return `all ${total} fresh`;
  return STATUS_ORDER.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(' · ');
}
