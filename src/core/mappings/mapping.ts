import type { PartitionSubset } from '../partitions/subset.ts';

/** How a dependency's mapping is shown in `backfill assets --json` and in the editor. */
export type MappingSummary =
  | { kind: 'all' }
  | { kind: 'identity' }
  | { kind: 'last' }
  | { kind: 'time_window'; start_offset: number; end_offset: number; allow_nonexistent: boolean }
  | { kind: 'static'; pairs: Record<string, string[]> }
  | { kind: 'specific'; keys: string[] }
  | { kind: 'dimension'; dimension: string; mapping: MappingSummary }
  | { kind: 'dimensions'; dimensions: Record<string, MappingSummary> };

export interface UpstreamPartitions {
  /** Upstream partitions (indexes of the upstream definition) that are read. */
  partitions: PartitionSubset;
  /** Keys the mapping requires that the upstream does not have (as of `now`). */
  missing: string[];
}

/**
 * Maps partitions of a downstream asset to the partitions of one upstream asset it reads,
 * and back. `downstreamFor` is the exact inverse of `upstreamFor`: a downstream partition is
 * returned iff the upstream partitions it reads intersect the given set.
 */
export interface PartitionMapping {
  /** True when the user wrote no `mapping:` (the default for the two definitions). */
  readonly isDefault: boolean;
  summary(): MappingSummary;
  upstreamFor(downstream: PartitionSubset): UpstreamPartitions;
  downstreamFor(upstream: PartitionSubset): PartitionSubset;
  /**
   * For a self-dependency: true when every partition reads only strictly earlier partitions
   * of itself (a negative offset), so the dependency is not a cycle.
   */
  readsOnlyEarlier(): boolean;
}
