import { UserError } from '../diagnostics.ts';
import { estimateCost, sumCosts, type PlanCost } from '../cost/cost.ts';
import type { AssetGraph } from '../graph.ts';
import type { AssetDefinition } from '../model.ts';
import { keysOf } from '../partitions/definition.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import type { PartitionStatus, StatusEngine } from '../state/staleness.ts';
import { formatKeyList } from '../mappings/format.ts';
import { renderCommand } from './command.ts';

/** What the user asked for: partitions of some assets, maybe with everything downstream of them. */
export interface Selection {
  /** `downstream` on a root adds what depends on that root only (the CLI's `NAME+`). */
  roots: Array<{ asset: string; partitions: PartitionSubset; downstream?: boolean }>;
  /** Add every downstream partition that depends on the selected ones (of every root). */
  downstream: boolean;
  /** Keep only the selected partitions with these statuses (downstream partitions of kept ones are always added). */
  only?: ReadonlySet<PartitionStatus>;
  /**
   * Also plan the upstream partitions that the planned tasks read and that are missing or
   * failed (and theirs, up the graph), so that those tasks do not fail for want of input.
   */
  withMissingUpstream?: boolean;
}

export interface PlannedTask {
  id: string;
  asset: string;
  /** Partition indexes of the asset. */
  indexes: PartitionSubset;
  /** Partition keys ([] for an unpartitioned asset). */
  partitions: string[];
  command: string;
  cwd: string;
  env: Record<string, string>;
  /** Tasks that must succeed first: those materializing upstream partitions this task reads. */
  after: string[];
}

export interface PlannedAsset {
  asset: string;
  partitions: PartitionSubset;
  /** `selected`: asked for; `downstream`: added because it depends on the selection; `upstream`: missing input of the selection, added by withMissingUpstream. */
  reason: 'selected' | 'downstream' | 'upstream';
}

export interface BackfillPlan {
  runId: string;
  tasks: PlannedTask[];
  assets: PlannedAsset[];
  summary: {
    tasks: number;
    partitions: number;
    assets: number;
    estimated_seconds: number | null;
    /** Assets without a duration history (their tasks count as 0 s in the estimate). */
    no_history: string[];
    /** What the plan will cost, per asset and in total (history, else declared rates, else unknown). */
    cost: PlanCost;
  };
  warnings: string[];
  /** Missing or failed upstream partitions that planned tasks read and the plan does not build (see withMissingUpstream). */
  missingUpstream: Array<{ asset: string; partitions: PartitionSubset; readers: string[] }>;
}

export interface PlanOptions {
  runId: string;
  /** Used for the time estimate: how many tasks run at once. */
  concurrency: number;
  /** Median past duration (ms) of one task of an asset, or null without history. */
  medianDurationMs?: (asset: string) => number | null;
  /** Past attempts' per-partition costs of an asset (StateStore.costSamples). */
  costSamples?: (asset: string) => number[];
  /** The workspace's cost unit, for the plan's cost. */
  costUnit?: string;
  /** Statuses, for `only` filters and warnings about upstream partitions that are not materialized. */
  statuses?: StatusEngine;
}

/** A plan this large gets a warning suggesting a sample run first. */
export const LARGE_PLAN = 1000;

/**
 * Turns a selection into a DAG of tasks: per asset, one task per partition or one per contiguous
 * chunk (single_run); a task waits only for the planned tasks of the upstream partitions it reads.
 */
export function planBackfill(graph: AssetGraph, selection: Selection, options: PlanOptions): BackfillPlan {
  const warnings: string[] = [];
  const wanted = new Map<string, { subset: PartitionSubset; reason: PlannedAsset['reason']; down?: boolean }>();

  for (const root of selection.roots) {
    const asset = graph.get(root.asset);
    if (!asset) throw new UserError(`unknown asset "${root.asset}"`);
    let subset = root.partitions.clamp(asset.partitions.size);
    if (selection.only && options.statuses) {
      const st = options.statuses.get(asset.name);
      if (st) {
        let keep = PartitionSubset.EMPTY;
        for (const status of selection.only) keep = keep.union(st.subset(status));
        subset = subset.intersect(keep);
      }
    }
    const before = wanted.get(asset.name);
    const down = (before?.down ?? false) || root.downstream === true;
    wanted.set(asset.name, { subset: before ? before.subset.union(subset) : subset, reason: 'selected', down });
  }
  if (selection.downstream || selection.roots.some((r) => r.downstream === true)) {
    for (const [name, { subset, down }] of [...wanted]) {
      if (subset.isEmpty || !(selection.downstream || down)) continue;
      for (const { asset, partitions } of graph.impact(name, subset)) {
        const before = wanted.get(asset.name);
        if (before) {
          wanted.set(asset.name, { subset: before.subset.union(partitions), reason: before.reason });
        } else {
          wanted.set(asset.name, { subset: partitions, reason: 'downstream' });
        }
      }
    }
  }

  if (selection.withMissingUpstream && options.statuses) addMissingUpstream(graph, wanted, options.statuses);

  const ordered = graph.order.filter((a) => !(wanted.get(a.name)?.subset.isEmpty ?? true));
  if (ordered.length === 0) {
    const names = selection.roots.map((r) => r.asset).join(', ');
    const filter = selection.only ? ` with status ${[...selection.only].join(' or ')}` : '';
    throw new UserError(`nothing to backfill: no partitions of ${names || 'the selection'}${filter}`);
  }

  // Tasks per asset, and which task materializes each partition index.
  const tasks: PlannedTask[] = [];
  const taskOf = new Map<string, Int32Array>();
  let seq = 0;
  for (const asset of ordered) {
    const subset = wanted.get(asset.name)!.subset;
    const owner = new Int32Array(asset.partitions.size).fill(-1);
    taskOf.set(asset.name, owner);
    for (const chunk of chunks(asset, subset)) {
      const id = `t${++seq}`;
      const rendered = renderCommand(asset, chunk, options.runId);
      for (const i of chunk) owner[i] = tasks.length;
      tasks.push({
        id,
        asset: asset.name,
        indexes: chunk,
        partitions: keysOf(asset.partitions, chunk).filter((k) => k !== '' || asset.partitions.kind !== 'unpartitioned'),
        ...rendered,
        after: [],
      });
    }
  }

  // Edges, and required upstream partitions that do not exist.
  const missingByDep = new Map<string, string[]>();
  const notMaterialized = new Map<string, { subset: PartitionSubset; readers: Set<string> }>();
  for (const task of tasks) {
    const asset = graph.get(task.asset)!;
    const after = new Set<number>();
    for (const dep of asset.deps) {
      const { partitions: read, missing } = dep.mapping.upstreamFor(task.indexes);
      if (missing.length > 0) {
        const k = `${asset.name} ← ${dep.asset}`;
        missingByDep.set(k, [...(missingByDep.get(k) ?? []), ...missing]);
      }
      const owner = taskOf.get(dep.asset);
      let outside = read;
      if (owner) {
        const planned: number[] = [];
        for (const u of read) {
          const t = owner[u]!;
          if (t >= 0 && tasks[t] !== task) {
            after.add(t);
            planned.push(u);
          }
        }
        outside = read.minus(PartitionSubset.of(planned));
        if (dep.asset === asset.name) outside = outside.minus(task.indexes);
      }
      const st = options.statuses?.get(dep.asset);
      if (st && !outside.isEmpty) {
        const absent = outside.intersect(st.subset('missing').union(st.subset('failed')));
        if (!absent.isEmpty) {
          const before = notMaterialized.get(dep.asset) ?? { subset: PartitionSubset.EMPTY, readers: new Set<string>() };
          before.readers.add(asset.name);
          notMaterialized.set(dep.asset, { subset: before.subset.union(absent), readers: before.readers });
        }
      }
    }
    task.after = [...after].sort((a, b) => a - b).map((t) => tasks[t]!.id);
  }
  if (missingByDep.size > 0) {
    const lines = [...missingByDep].map(([dep, keys]) => `${dep}: ${formatKeyList([...new Set(keys)])}`);
    throw new UserError(
      `the selection reads upstream partitions that do not exist:\n  ${lines.join('\n  ')}\nnarrow the partitions, or set allow_nonexistent: true on the mapping if that is expected`,
    );
  }
  for (const [name, { subset, readers }] of notMaterialized) {
    const def = graph.get(name)!.partitions;
    const n = subset.size;
    warnings.push(
      `${[...readers].join(', ')} ${readers.size === 1 ? 'reads' : 'read'} ${n} partition${n === 1 ? '' : 's'} of ${name} that ${n === 1 ? 'is' : 'are'} missing or failed and not in this backfill (${formatKeyList(keysOf(def, subset))}): ` +
        `the tasks that read ${n === 1 ? 'it' : 'them'} will fail unless ${n === 1 ? 'it is' : 'they are'} built first — include missing upstream partitions (--with-missing-upstream) to build them in this backfill`,
    );
  }

  // A partition never runs in two backfills at once: the runner makes these tasks wait.
  for (const a of ordered) {
    const running = options.statuses?.get(a.name)?.subset('running').intersect(wanted.get(a.name)!.subset);
    if (!running || running.isEmpty) continue;
    const n = running.size;
    warnings.push(
      `${n} partition${n === 1 ? '' : 's'} of ${a.name} ${n === 1 ? 'is' : 'are'} being run now (${formatKeyList(keysOf(a.partitions, running))}): ${n === 1 ? 'its task waits' : 'their tasks wait'} until that run ends, then ${n === 1 ? 'runs' : 'run'}`,
    );
  }

  const partitions = tasks.reduce((n, t) => n + t.indexes.size, 0);
  if (partitions >= LARGE_PLAN) warnings.push(`large backfill: ${partitions} partitions — consider starting small with --sample N`);
  const estimate = estimateSeconds(tasks, ordered, options);
  const perAsset = new Map<string, { tasks: number; partitions: number }>();
  for (const t of tasks) {
    const c = perAsset.get(t.asset) ?? perAsset.set(t.asset, { tasks: 0, partitions: 0 }).get(t.asset)!;
    c.tasks++;
    c.partitions += t.indexes.size;
  }
  const cost = sumCosts(
    ordered.map((a) => {
      const c = perAsset.get(a.name) ?? { tasks: 0, partitions: 0 };
      return estimateCost(a, c.partitions, c.tasks, options.costSamples?.(a.name) ?? [], options.medianDurationMs?.(a.name) ?? null);
    }),
    options.costUnit,
  );
  return {
    runId: options.runId,
    tasks,
    assets: ordered.map((a) => ({ asset: a.name, partitions: wanted.get(a.name)!.subset, reason: wanted.get(a.name)!.reason })),
    summary: {
      tasks: tasks.length,
      partitions,
      assets: ordered.length,
      estimated_seconds: estimate.seconds,
      no_history: estimate.noHistory,
      cost,
    },
    warnings,
    missingUpstream: [...notMaterialized].map(([asset, { subset, readers }]) => ({ asset, partitions: subset, readers: [...readers] })),
  };
}

/** The task chunks of one asset: one partition each, or contiguous runs for single_run. */
function chunks(asset: AssetDefinition, subset: PartitionSubset): PartitionSubset[] {
  const out: PartitionSubset[] = [];
  const strategy = asset.backfill?.strategy ?? 'per_partition';
  if (strategy === 'per_partition' || asset.partitions.kind === 'unpartitioned') {
    for (const i of subset) out.push(PartitionSubset.range(i, i + 1));
    return out;
  }
  const max = asset.backfill?.max_partitions_per_run ?? Infinity;
  for (const [s, e] of subset.ranges()) {
    for (let a = s; a < e; a += max) out.push(PartitionSubset.range(a, Math.min(e, a + max)));
  }
  return out;
}

/**
 * The makespan of the plan with `concurrency` workers (list scheduling in plan order, each task
 * taking the median duration of its asset's past attempts), or null when no asset has a history.
 */
function estimateSeconds(
  tasks: PlannedTask[],
  assets: AssetDefinition[],
  options: PlanOptions,
): { seconds: number | null; noHistory: string[] } {
  const median = new Map<string, number | null>(assets.map((a) => [a.name, options.medianDurationMs?.(a.name) ?? null]));
  const noHistory = [...median].filter(([, m]) => m === null).map(([a]) => a);
  if (noHistory.length === assets.length) return { seconds: null, noHistory };
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const finish = new Float64Array(tasks.length);
  const workers = new Float64Array(Math.max(1, options.concurrency));
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    let ready = 0;
    for (const a of t.after) ready = Math.max(ready, finish[index.get(a)!]!);
    let w = 0;
    for (let k = 1; k < workers.length; k++) if (workers[k]! < workers[w]!) w = k;
    const start = Math.max(ready, workers[w]!);
    finish[i] = start + (median.get(t.asset) ?? 0);
    workers[w] = finish[i]!;
  }
  let end = 0;
  for (const f of finish) end = Math.max(end, f);
  return { seconds: Math.round(end / 1000), noHistory };
}

/**
 * Adds to `wanted` every missing or failed partition that a wanted partition reads, up the graph
 * (downstream assets first, so that what one adds is followed in turn; an asset reading its own
 * earlier partitions is looked at again until nothing more is added).
 */
function addMissingUpstream(
  graph: AssetGraph,
  wanted: Map<string, { subset: PartitionSubset; reason: PlannedAsset['reason']; down?: boolean }>,
  statuses: StatusEngine,
): void {
  const absentOf = (name: string): PartitionSubset => {
    const st = statuses.get(name);
    return st ? st.subset('missing').union(st.subset('failed')) : PartitionSubset.EMPTY;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const asset of [...graph.order].reverse()) {
      const w = wanted.get(asset.name);
      if (!w || w.subset.isEmpty) continue;
      for (const dep of asset.deps) {
        const read = dep.mapping.upstreamFor(w.subset).partitions;
        const have = wanted.get(dep.asset);
        const add = read.intersect(absentOf(dep.asset)).minus(have?.subset ?? PartitionSubset.EMPTY);
        if (add.isEmpty) continue;
        wanted.set(dep.asset, { subset: have ? have.subset.union(add) : add, reason: have?.reason ?? 'upstream' });
        changed = true;
      }
    }
  }
}
