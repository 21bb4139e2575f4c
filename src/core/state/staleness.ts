import {
  countsByName,
  STATUS_CODE,
  STATUS_NAMES,
  type StatusCountsByName,
  type StatusName,
  type StatusTuple,
} from '../../shared/statuses.ts';
import type { AssetGraph } from '../graph.ts';
import { TimeWindowMapping } from '../mappings/mappings.ts';
import type { AssetDefinition, AssetDependency } from '../model.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import type { ObservedOutputs } from './observed.ts';
import { AssetSnapshot, F, FIELDS } from './snapshot.ts';

export const STATUSES = STATUS_NAMES;
export type PartitionStatus = StatusName;
const FRESH: number = STATUS_CODE.fresh;
const STALE: number = STATUS_CODE.stale;
const MISSING: number = STATUS_CODE.missing;
const FAILED: number = STATUS_CODE.failed;
const RUNNING: number = STATUS_CODE.running;

/** Why a partition is what it is. `observed`: counted as materialized because its output exists. */
export type StaleCause = 'code' | 'upstream' | 'dependencies' | 'observed';
const CAUSE_BITS: Record<StaleCause, number> = { code: 1, upstream: 2, dependencies: 4, observed: 8 };
export const CAUSES = Object.keys(CAUSE_BITS) as StaleCause[];

export type StatusCounts = StatusCountsByName;

/** Statuses of every partition of one asset, by partition index. */
export class AssetStatus {
  readonly status: Uint8Array;
  readonly causes: Uint8Array;
  /** Row of each partition in the snapshot, or -1. */
  rowOf: Int32Array;
  /** End sequence of each partition's latest success (NaN: none). */
  endSeq: Float64Array;
  /** Partitions whose `output:` exists, when the asset declares one. */
  observedOutputs?: PartitionSubset;

  constructor(
    readonly asset: AssetDefinition,
    public snapshot: AssetSnapshot,
  ) {
    const n = asset.partitions.size;
    this.status = new Uint8Array(n);
    this.causes = new Uint8Array(n);
    this.rowOf = new Int32Array(n).fill(-1);
    this.endSeq = new Float64Array(n).fill(NaN);
  }

  statusAt(i: number): PartitionStatus {
    return STATUSES[this.status[i]!]!;
  }

  causesAt(i: number): StaleCause[] {
    const bits = this.causes[i]!;
    return CAUSES.filter((c) => bits & CAUSE_BITS[c]);
  }

  counts(): StatusCounts {
    const c: StatusTuple = [0, 0, 0, 0, 0];
    for (let i = 0; i < this.status.length; i++) c[this.status[i] as 0 | 1 | 2 | 3 | 4]++;
    return countsByName(c);
  }

  /** Indexes with the given status. */
  subset(status: PartitionStatus): PartitionSubset {
    const code = STATUSES.indexOf(status);
    const ranges: Array<[number, number]> = [];
    let start = -1;
    for (let i = 0; i <= this.status.length; i++) {
      const on = i < this.status.length && this.status[i] === code;
      if (on && start < 0) start = i;
      if (!on && start >= 0) {
        ranges.push([start, i]);
        start = -1;
      }
    }
    return PartitionSubset.fromRanges(ranges);
  }

  /** The worst status present: failed > stale > missing > running > fresh. */
  worst(): PartitionStatus {
    const c = this.counts();
    if (c.failed) return 'failed';
    if (c.stale) return 'stale';
    if (c.missing) return 'missing';
    if (c.running) return 'running';
    return 'fresh';
  }
}

/** Where statuses read the latest states from: the SQLite store, or snapshots read beforehand (snapshotsOf). */
export interface SnapshotSource {
  snapshot(asset: string): AssetSnapshot;
}

export interface StatusInputs {
  graph: AssetGraph;
  store: SnapshotSource;
  /** Current code version per asset. */
  codeVersions: Map<string, string>;
  observed?: ObservedOutputs;
}

/**
 * Staleness per partition, by Dagster's rules over direct parents: missing, failed, running,
 * or stale because of code, upstream or dependency changes. Holds the statuses of every asset
 * and updates only what a new materialization can change.
 */
export class StatusEngine {
  readonly assets = new Map<string, AssetStatus>();

  constructor(private readonly inputs: StatusInputs) {}

  /** Computes every asset, upstream first. */
  computeAll(): Map<string, AssetStatus> {
    for (const asset of this.inputs.graph.order) this.load(asset);
    for (const asset of this.inputs.graph.order) this.evaluate(asset, null);
    return this.assets;
  }

  get(name: string): AssetStatus | undefined {
    return this.assets.get(name);
  }

  /**
   * After materializations of `asset` (re-read from the store), recomputes its partitions and
   * the downstream partitions that read them. Returns what was recomputed.
   */
  refresh(assetName: string, partitions?: PartitionSubset): Map<string, PartitionSubset> {
    const asset = this.inputs.graph.get(assetName);
    const changed = new Map<string, PartitionSubset>();
    if (!asset) return changed;
    this.load(asset);
    const own = partitions ?? PartitionSubset.all(asset.partitions.size);
    this.evaluate(asset, own);
    changed.set(asset.name, own);
    for (const { asset: down, dep } of this.inputs.graph.downstreamOf(asset.name)) {
      if (!this.assets.has(down.name)) continue;
      const reached = dep.mapping.downstreamFor(own);
      if (reached.isEmpty) continue;
      this.evaluate(down, reached);
      changed.set(down.name, (changed.get(down.name) ?? PartitionSubset.EMPTY).union(reached));
    }
    return changed;
  }

  /** Reads the asset's snapshot and maps its rows to partition indexes. */
  private load(asset: AssetDefinition): void {
    const snap = this.inputs.store.snapshot(asset.name);
    const st = new AssetStatus(asset, snap);
    const def = asset.partitions;
    if (snap.fingerprint === def.fingerprint()) {
      // Indexes stored by a writer with the same definition: no key parsing, except for rows
      // stored without one (-1): added by a writer without the indexer, or a key that did not
      // exist yet as of the writer's clock. Those may well exist now.
      const idx = snap.indexes;
      for (let r = 0; r < snap.size; r++) {
        const stored = idx[r]!;
        const i = stored === -1 ? def.indexOf(snap.keys[r]!) : stored;
        if (i < 0 || i >= def.size) continue;
        st.rowOf[i] = r;
        st.endSeq[i] = snap.records[r * FIELDS + F.successEndSeq]!;
      }
    } else {
      const keys = snap.keys;
      let guess = 0;
      for (let r = 0; r < snap.size; r++) {
        const key = keys[r]!;
        // Rows are mostly recorded in partition order: try the next index before parsing the key.
        const i = guess < def.size && def.keyAt(guess) === key ? guess : def.indexOf(key);
        guess = i + 1;
        if (i < 0) continue; // a partition that no longer exists
        st.rowOf[i] = r;
        st.endSeq[i] = snap.records[r * FIELDS + F.successEndSeq]!;
      }
    }
    const observed = this.inputs.observed?.forAsset(asset);
    if (observed) {
      // Outputs that exist count as materialized; a recorded success whose output is gone does not.
      for (let i = 0; i < def.size; i++) {
        if (!observed.has(i)) st.endSeq[i] = NaN;
      }
      st.observedOutputs = observed;
    }
    this.assets.set(asset.name, st);
  }

  /** Recomputes the statuses of `which` partitions (all when null). */
  private evaluate(asset: AssetDefinition, which: PartitionSubset | null): void {
    const st = this.assets.get(asset.name)!;
    const snap = st.snapshot;
    const code = this.inputs.codeVersions.get(asset.name) ?? null;
    const depsNow = [...new Set(asset.deps.map((d) => d.asset))].sort().join('\n');
    const upstream = asset.deps.map((d) => this.upstreamReader(asset, d));
    const observed = st.observedOutputs;

    const rec = snap.records;
    const strings = snap.strings;
    const codeIndex = code === null ? -2 : strings.indexOf(code);
    const depsIndex = strings.indexOf(depsNow);
    const visit = (i: number): void => {
      const r = st.rowOf[i]!;
      const seesOutput = observed ? observed.has(i) : true;
      let status = MISSING;
      let causes = 0;
      const base = r * FIELDS;
      const lastStatus = r >= 0 ? rec[base + F.lastStatus]! : -1;
      if (lastStatus === 0) {
        status = RUNNING;
      } else if (r >= 0 && !Number.isNaN(rec[base + F.successId]!) && seesOutput) {
        status = lastStatus === 2 ? FAILED : FRESH;
        if (status === FRESH) {
          const startSeq = rec[base + F.successStartSeq]!;
          // Versions are compared as indexes into the snapshot's string table.
          if (codeIndex !== -2 && rec[base + F.successCodeVersion] !== codeIndex) causes |= CAUSE_BITS.code;
          const recordedDeps = rec[base + F.successDeps]!;
          if (!Number.isNaN(recordedDeps) && recordedDeps !== depsIndex) causes |= CAUSE_BITS.dependencies;
          for (const read of upstream) {
            if (read && read(i) > startSeq) {
              causes |= CAUSE_BITS.upstream;
              break;
            }
          }
          if (causes) status = STALE;
        }
      } else if (lastStatus === 2) {
        status = FAILED;
      } else if (observed && observed.has(i)) {
        // Materialized outside Backfill: fresh unless its upstream changed since the file was written.
        status = FRESH;
        causes = CAUSE_BITS.observed;
      }
      st.status[i] = status;
      st.causes[i] = causes;
    };

    if (which === null) {
      for (let i = 0; i < asset.partitions.size; i++) visit(i);
    } else {
      for (const [s, e] of which.ranges()) for (let i = s; i < e; i++) visit(i);
    }
  }

  /**
   * For one dependency, a function giving, per downstream partition, the latest end sequence of
   * the upstream partitions it reads (-Infinity when none). Fast paths avoid building a subset
   * per partition for the common mappings.
   */
  private upstreamReader(asset: AssetDefinition, dep: AssetDependency): ((i: number) => number) | null {
    const up = this.assets.get(dep.asset);
    if (!up) return null;
    const ends = up.endSeq;
    const maxOver = (s: PartitionSubset): number => {
      let m = -Infinity;
      for (const [a, b] of s.ranges()) for (let j = a; j < b; j++) if (ends[j]! > m) m = ends[j]!;
      return m;
    };
    const m = dep.mapping;
    if (m instanceof TimeWindowMapping) {
      const shift = m.indexShift();
      if (shift !== null) {
        const lo = m.startOffset + shift;
        const hi = m.endOffset + shift;
        const n = ends.length;
        return (i) => {
          let best = -Infinity;
          for (let j = Math.max(0, i + lo); j <= Math.min(n - 1, i + hi); j++) if (ends[j]! > best) best = ends[j]!;
          return best;
        };
      }
    }
    // Mappings whose upstream is the same for every partition (all, last, specific): compute once.
    const first = asset.partitions.size > 0 ? m.upstreamFor(PartitionSubset.range(0, 1)).partitions : PartitionSubset.EMPTY;
    if (m.summary().kind === 'all' || m.summary().kind === 'last' || m.summary().kind === 'specific') {
      const v = maxOver(first);
      return () => v;
    }
    return (i) => maxOver(m.upstreamFor(PartitionSubset.range(i, i + 1)).partitions);
  }
}
