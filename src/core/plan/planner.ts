import { UserError } from '../diagnostics.ts';
import { costSampleUnit, estimateCost, quantile, sumCosts, type PlanCost } from '../cost/cost.ts';
import type { AssetGraph } from '../graph.ts';
import type { AssetDefinition, Capacity } from '../model.ts';
import { keysOf } from '../partitions/definition.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import type { PartitionStatus, StatusEngine } from '../state/staleness.ts';
import type { StateStore } from '../state/store.ts';
import { LocalRunState, runStateOf, type BusyHolder, type RunState } from '../state/runState.ts';
import type { Workspace } from '../workspace.ts';
import { formatKeyList } from '../mappings/format.ts';
import { renderCommand } from './command.ts';
import { simulateSchedule, type SimulatedTask } from './schedule.ts';

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
  /**
   * Leave out the partitions another backfill is running now (PlanOptions.runningBy), and what
   * in the plan depends on them, instead of waiting for them.
   */
  skipRunning?: boolean;
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
    /** The time estimate's expected value (time.expected_seconds). */
    estimated_seconds: number | null;
    /** Assets without a duration history (their tasks count as 0 s in the estimate). */
    no_history: string[];
    /** How long the plan will take, with its range and what it is based on. */
    time: TimeEstimate;
    /** What the plan will cost, per asset and in total (history, else declared rates, else unknown). */
    cost: PlanCost;
    /** The declared resources of the tasks running at once at the peak, and the capacity; null when no planned asset declares resources. */
    resources: { peak: { cpus: number; memory: number; tasks: number }; capacity: Capacity | null } | null;
  };
  warnings: string[];
  /** Missing or failed upstream partitions that planned tasks read and the plan does not build (see withMissingUpstream). */
  missingUpstream: Array<{ asset: string; partitions: PartitionSubset; readers: string[] }>;
}

/**
 * The plan's duration: the runner's schedule simulated with each task taking its asset's median
 * past duration, and its 10th and 90th percentile for the range. Assets without history count 0 s.
 */
export interface TimeEstimate {
  /** Null when no planned asset has a history. */
  expected_seconds: number | null;
  low_seconds: number | null;
  high_seconds: number | null;
  /** Assets without a duration history. */
  unknown: string[];
  assets: Array<{
    asset: string;
    source: 'history' | 'unknown';
    /** One task's past duration (median, 10th and 90th percentile), in seconds. */
    task_seconds: { median: number; low: number; high: number } | null;
    samples: number;
  }>;
}

export interface PlanOptions {
  runId: string;
  /** Used for the time estimate: how many tasks run at once. */
  concurrency: number;
  /** Past durations (ms) of the asset's finished tasks (StateStore.durationSamples). */
  durationSamples?: (asset: string) => number[];
  /** The capacity the runner admits tasks within, for the time estimate and the peak resource use. */
  capacity?: Capacity;
  /** Named pools' limits (Workspace.pools), for the time estimate. */
  pools?: ReadonlyMap<string, number>;
  /** Past costs of an asset, per partition or per task (StateStore.costSamples, costSampleUnit). */
  costSamples?: (asset: string, per: 'partition' | 'task') => number[];
  /** The workspace's cost unit, for the plan's cost. */
  costUnit?: string;
  /** Statuses, for `only` filters and warnings about upstream partitions that are not materialized. */
  statuses?: StatusEngine;
  /** Who runs the partitions that are running now, per asset (RunState.runningElsewhere), for the plan to say. */
  runningBy?: ReadonlyMap<string, ReadonlyMap<string, BusyHolder>>;
}

/**
 * Plans a selection with what the state database knows (past durations and costs) and what the
 * workspace declares (cost unit, pools): the CLI's and the editor's plans are this one.
 */
export async function planWithHistory(
  ws: Workspace,
  store: StateStore | RunState,
  selection: Selection,
  options: Pick<PlanOptions, 'runId' | 'concurrency' | 'capacity' | 'statuses'>,
): Promise<BackfillPlan> {
  const state = runStateOf(store);
  // Who runs the partitions that are running now (few): the plan names them.
  const runningBy = new Map<string, Map<string, BusyHolder>>();
  if (options.statuses)
    for (const asset of ws.assets.values()) {
      const running = options.statuses.get(asset.name)?.subset('running');
      if (!running || running.isEmpty) continue;
      const holders = await state.runningElsewhere(asset.name, keysOf(asset.partitions, running), options.runId);
      if (holders.size > 0) runningBy.set(asset.name, holders);
    }
  const common = { ...options, runningBy, ...(ws.costUnit ? { costUnit: ws.costUnit } : {}), pools: ws.pools };
  if (state instanceof LocalRunState) {
    const local = state.store;
    return planBackfill(ws.graph, selection, {
      ...common,
      durationSamples: (asset) => local.durationSamples(asset),
      costSamples: (asset, per) => local.costSamples(asset, per),
    });
  }
  // A team database is asked for the history of the planned assets only: plan, read, plan again.
  const first = planBackfill(ws.graph, selection, common);
  const durations = new Map<string, number[]>();
  const costs = new Map<string, number[]>();
  for (const { asset } of first.assets) {
    durations.set(asset, await state.durationSamples(asset));
    for (const per of ['partition', 'task'] as const) costs.set(`${per}:${asset}`, await state.costSamples(asset, per));
  }
  return planBackfill(ws.graph, selection, {
    ...common,
    durationSamples: (asset) => durations.get(asset) ?? [],
    costSamples: (asset, per) => costs.get(`${per}:${asset}`) ?? [],
  });
}

/**
 * Takes the partitions another backfill runs out of `wanted`, and the planned partitions
 * downstream of them (they would read what is being built), saying so per asset.
 */
function leaveOutRunning(
  graph: AssetGraph,
  wanted: Map<string, { subset: PartitionSubset; reason: PlannedAsset['reason']; down?: boolean }>,
  runningBy: ReadonlyMap<string, ReadonlyMap<string, BusyHolder>>,
  warnings: string[],
): void {
  const out = new Map<string, PartitionSubset>();
  for (const asset of graph.order) {
    const w = wanted.get(asset.name);
    const holders = runningBy.get(asset.name);
    if (!w || !holders) continue;
    const running = PartitionSubset.of(
      [...holders.keys()].map((k) => (asset.partitions.kind === 'unpartitioned' ? 0 : asset.partitions.indexOf(k))).filter((i) => i >= 0),
    ).intersect(w.subset);
    if (!running.isEmpty) out.set(asset.name, (out.get(asset.name) ?? PartitionSubset.EMPTY).union(running));
  }
  const direct = new Map(out);
  for (const [name, subset] of direct)
    for (const { asset, partitions } of graph.impact(name, subset)) {
      const w = wanted.get(asset.name);
      const hit = w?.subset.intersect(partitions);
      if (hit && !hit.isEmpty) out.set(asset.name, (out.get(asset.name) ?? PartitionSubset.EMPTY).union(hit));
    }
  for (const [name, subset] of out) {
    const w = wanted.get(name)!;
    wanted.set(name, { ...w, subset: w.subset.minus(subset) });
    const def = graph.get(name)!.partitions;
    const holders = direct.has(name) ? runningBy.get(name)! : null;
    const by = holders ? [...new Set([...holders.values()].map((h) => `${h.by}, backfill ${h.backfill}`))].join('; ') : null;
    warnings.push(
      `left out ${subset.size} partition${subset.size === 1 ? '' : 's'} of ${name} (${formatKeyList(keysOf(def, subset))}): ${by ? `being run now by (${by})` : 'downstream of partitions being run now'} (--skip-running)`,
    );
  }
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
  if (selection.skipRunning && options.runningBy) leaveOutRunning(graph, wanted, options.runningBy, warnings);

  const ordered = graph.order.filter((a) => !(wanted.get(a.name)?.subset.isEmpty ?? true));
  if (ordered.length === 0) {
    const names = selection.roots.map((r) => r.asset).join(', ');
    const filter =
      (selection.only ? ` with status ${[...selection.only].join(' or ')}` : '') +
      (selection.skipRunning && options.runningBy?.size ? ' that no other backfill is running (--skip-running)' : '');
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

  // A partition never runs in two backfills at once: the runner makes these tasks wait, then
  // takes the other run's result (or runs them, when that run failed them).
  for (const a of ordered) {
    const running = options.statuses?.get(a.name)?.subset('running').intersect(wanted.get(a.name)!.subset);
    if (!running || running.isEmpty) continue;
    const n = running.size;
    const holders = options.runningBy?.get(a.name);
    const by = holders?.size
      ? ` by ${[...new Set([...holders.values()].map((h) => `${h.by}, backfill ${h.backfill}`))].map((h) => `(${h})`).join(', ')}`
      : '';
    warnings.push(
      `${n} partition${n === 1 ? '' : 's'} of ${a.name} ${n === 1 ? 'is' : 'are'} being run now${by} (${formatKeyList(keysOf(a.partitions, running))}): ${n === 1 ? 'its task waits' : 'their tasks wait'} until that run ends, then ${n === 1 ? 'takes its result' : 'take its results'} (or ${n === 1 ? 'runs' : 'run'}, if it failed)`,
    );
  }

  const partitions = tasks.reduce((n, t) => n + t.indexes.size, 0);
  if (partitions >= LARGE_PLAN) warnings.push(`large backfill: ${partitions} partitions — consider starting small with --sample N`);
  const { time, peak } = estimateTime(tasks, ordered, options);
  const declaresResources = ordered.some((a) => a.resources && tasks.some((t) => t.asset === a.name));
  const perAsset = new Map<string, { tasks: number; partitions: number }>();
  for (const t of tasks) {
    const c = perAsset.get(t.asset) ?? perAsset.set(t.asset, { tasks: 0, partitions: 0 }).get(t.asset)!;
    c.tasks++;
    c.partitions += t.indexes.size;
  }
  const cost = sumCosts(
    ordered.map((a) => {
      const c = perAsset.get(a.name) ?? { tasks: 0, partitions: 0 };
      const median = time.assets.find((t) => t.asset === a.name)?.task_seconds?.median;
      return estimateCost(
        a,
        c.partitions,
        c.tasks,
        options.costSamples?.(a.name, costSampleUnit(a)) ?? [],
        median === undefined ? null : median * 1000,
      );
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
      estimated_seconds: time.expected_seconds,
      no_history: time.unknown,
      time,
      cost,
      resources: declaresResources ? { peak, capacity: options.capacity ?? null } : null,
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
 * The makespan of the plan under the runner's limits, with each task taking the median (10th,
 * 90th percentile) past duration of its asset, and the peak resource use of the median case.
 */
function estimateTime(
  tasks: PlannedTask[],
  assets: AssetDefinition[],
  options: PlanOptions,
): { time: TimeEstimate; peak: { cpus: number; memory: number; tasks: number } } {
  const perAsset = assets.map((a) => {
    const samples = [...(options.durationSamples?.(a.name) ?? [])].sort((x, y) => x - y);
    return {
      asset: a,
      samples: samples.length,
      ms: samples.length ? { median: quantile(samples, 0.5), low: quantile(samples, 0.1), high: quantile(samples, 0.9) } : null,
    };
  });
  const byName = new Map(perAsset.map((p) => [p.asset.name, p]));
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const simulate = (q: 'median' | 'low' | 'high') =>
    simulateSchedule(
      tasks.map((t): SimulatedTask => {
        const p = byName.get(t.asset)!;
        return {
          after: t.after.map((a) => index.get(a)!),
          durationMs: p.ms?.[q] ?? 0,
          cpus: p.asset.resources?.cpus ?? 0,
          memory: p.asset.resources?.memory ?? 0,
          pool: p.asset.pool ?? '',
        };
      }),
      {
        concurrency: Math.max(1, options.concurrency),
        ...(options.capacity ? { capacity: options.capacity } : {}),
        ...(options.pools ? { pools: options.pools } : {}),
      },
    );
  const unknown = perAsset.filter((p) => p.ms === null).map((p) => p.asset.name);
  const median = simulate('median');
  const known = unknown.length < assets.length;
  const seconds = (ms: number): number => Math.round(ms / 1000);
  return {
    time: {
      expected_seconds: known ? seconds(median.makespanMs) : null,
      low_seconds: known ? seconds(simulate('low').makespanMs) : null,
      high_seconds: known ? seconds(simulate('high').makespanMs) : null,
      unknown,
      assets: perAsset.map((p) => ({
        asset: p.asset.name,
        source: p.ms ? 'history' : 'unknown',
        task_seconds: p.ms ? { median: p.ms.median / 1000, low: p.ms.low / 1000, high: p.ms.high / 1000 } : null,
        samples: p.samples,
      })),
    },
    peak: median.peak,
  };
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
