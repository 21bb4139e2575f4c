/**
 * The cost model: what a finished task cost (reported by its command, else computed from the
 * asset's declared rate), and what planned tasks will cost (from history, else from the rate,
 * else unknown — never an invented number).
 */
import type { AssetDefinition } from '../model.ts';
import type { CostSource } from '../state/store.ts';

export interface TaskCost {
  cost: number;
  source: CostSource;
}

/**
 * What one finished run of an asset's command cost: the cost it reported wins; else its rate
 * per run, per partition (times the partitions it materialized), or per hour of runtime (times
 * `resources.cpus` where given); null when neither exists.
 */
export function taskCost(
  asset: AssetDefinition | undefined,
  partitions: number,
  durationMs: number,
  reported: number | undefined,
): TaskCost | null {
  if (reported !== undefined) return { cost: reported, source: 'reported' };
  const rate = asset?.cost;
  if (!rate) return null;
  if ('per_run' in rate) return { cost: rate.per_run, source: 'rate' };
  if ('per_partition' in rate) return { cost: rate.per_partition * Math.max(1, partitions), source: 'rate' };
  return { cost: (rate.per_hour * Math.max(0, durationMs) * (asset.resources?.cpus ?? 1)) / 3_600_000, source: 'rate' };
}

export interface CostEstimate {
  asset: string;
  /** `history`: past attempts' costs; `rate`: the declared rate; `unknown`: neither. */
  source: 'history' | 'rate' | 'unknown';
  /** Expected cost of the asset's planned tasks (the median case), or null when unknown. */
  expected: number | null;
  /** The range the history gives (a partition's 10th–90th percentile cost, times the partitions); equal to `expected` for an exact rate. */
  low: number | null;
  high: number | null;
  /** Past attempts the estimate is based on (0 for a rate). */
  samples: number;
}

/** The q-quantile (0–1) of sorted numbers, interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * What an asset's cost history is counted in: per task for a `single_run` asset (one run of its
 * command materializes a chunk, and a run costs what it costs whatever the chunk's size), else
 * per partition.
 */
export function costSampleUnit(asset: AssetDefinition): 'partition' | 'task' {
  return asset.backfill?.strategy === 'single_run' && asset.partitions.kind !== 'unpartitioned' ? 'task' : 'partition';
}

/**
 * The cost of `tasks` tasks covering `partitions` partitions of an asset. `samples` are past
 * costs per partition or per task (costSampleUnit); `medianTaskMs` the median duration of its
 * past tasks (for a rate per hour).
 */
export function estimateCost(
  asset: AssetDefinition,
  partitions: number,
  tasks: number,
  samples: readonly number[],
  medianTaskMs: number | null,
): CostEstimate {
  const n = costSampleUnit(asset) === 'task' ? tasks : partitions;
  if (tasks === 0)
    return {
      asset: asset.name,
      source: samples.length ? 'history' : asset.cost ? 'rate' : 'unknown',
      expected: 0,
      low: 0,
      high: 0,
      samples: samples.length,
    };
  if (samples.length > 0) {
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      asset: asset.name,
      source: 'history',
      expected: quantile(sorted, 0.5) * n,
      low: quantile(sorted, 0.1) * n,
      high: quantile(sorted, 0.9) * n,
      samples: samples.length,
    };
  }
  const m = partitions;
  const rate = asset.cost;
  const exact = (value: number): CostEstimate => ({
    asset: asset.name,
    source: 'rate',
    expected: value,
    low: value,
    high: value,
    samples: 0,
  });
  if (rate && 'per_run' in rate) return exact(rate.per_run * tasks);
  if (rate && 'per_partition' in rate) return exact(rate.per_partition * m);
  if (rate && 'per_hour' in rate && medianTaskMs !== null)
    return exact((rate.per_hour * medianTaskMs * tasks * (asset.resources?.cpus ?? 1)) / 3_600_000);
  return { asset: asset.name, source: 'unknown', expected: null, low: null, high: null, samples: 0 };
}

/** The plan's cost: the sum over the assets whose cost is known, and the assets whose cost is not. */
export interface PlanCost {
  unit: string | null;
  expected: number;
  low: number;
  high: number;
  /** Assets with no history and no rate: their cost is not in the sums. */
  unknown: string[];
  assets: CostEstimate[];
}

export function sumCosts(estimates: CostEstimate[], unit: string | undefined): PlanCost {
  const known = estimates.filter((e) => e.expected !== null);
  const sum = (f: (e: CostEstimate) => number | null): number => known.reduce((s, e) => s + (f(e) ?? 0), 0);
  return {
    unit: unit ?? null,
    expected: sum((e) => e.expected),
    low: sum((e) => e.low),
    high: sum((e) => e.high),
    unknown: estimates.filter((e) => e.expected === null).map((e) => e.asset),
    assets: estimates,
  };
}
