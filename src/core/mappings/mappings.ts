import type { PartitionsDefinition } from '../partitions/definition.ts';
import type { MultiPartitionsDefinition } from '../partitions/multi.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import type { TimeWindowPartitionsDefinition } from '../partitions/time.ts';
import type { MappingSummary, PartitionMapping, UpstreamPartitions } from './mapping.ts';

const NONE: UpstreamPartitions = { partitions: PartitionSubset.EMPTY, missing: [] };

abstract class BaseMapping implements PartitionMapping {
  constructor(readonly isDefault: boolean) {}
  abstract summary(): MappingSummary;
  abstract upstreamFor(downstream: PartitionSubset): UpstreamPartitions;
  abstract downstreamFor(upstream: PartitionSubset): PartitionSubset;
  readsOnlyEarlier(): boolean {
    return false;
  }
}

/** Every downstream partition reads every upstream partition (also: either side unpartitioned). */
export class AllMapping extends BaseMapping {
  constructor(
    private readonly up: PartitionsDefinition,
    private readonly down: PartitionsDefinition,
    isDefault: boolean,
  ) {
    super(isDefault);
  }
  summary(): MappingSummary {
    return { kind: 'all' };
  }
  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    return downstream.isEmpty ? NONE : { partitions: PartitionSubset.all(this.up.size), missing: [] };
  }
  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    return upstream.isEmpty ? PartitionSubset.EMPTY : PartitionSubset.all(this.down.size);
  }
}

/** Every downstream partition reads the upstream's last partition. */
export class LastMapping extends BaseMapping {
  constructor(
    private readonly up: PartitionsDefinition,
    private readonly down: PartitionsDefinition,
  ) {
    super(false);
  }
  summary(): MappingSummary {
    return { kind: 'last' };
  }
  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    if (downstream.isEmpty || this.up.size === 0) return NONE;
    return { partitions: PartitionSubset.range(this.up.size - 1, this.up.size), missing: [] };
  }
  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    return upstream.has(this.up.size - 1) ? PartitionSubset.all(this.down.size) : PartitionSubset.EMPTY;
  }
}

/** Partitions with the same key. */
export class IdentityMapping extends BaseMapping {
  private readonly same: boolean;
  constructor(
    private readonly up: PartitionsDefinition,
    private readonly down: PartitionsDefinition,
    isDefault: boolean,
  ) {
    super(isDefault);
    this.same = up.equals(down);
  }
  summary(): MappingSummary {
    return { kind: 'identity' };
  }
  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    if (this.same) return { partitions: downstream, missing: [] };
    const found: number[] = [];
    const missing: string[] = [];
    for (const d of downstream) {
      const key = this.down.keyAt(d);
      const u = this.up.indexOf(key);
      if (u >= 0) found.push(u);
      else missing.push(key);
    }
    return { partitions: PartitionSubset.of(found), missing };
  }
  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    if (this.same) return upstream;
    const found: number[] = [];
    for (const u of upstream) {
      const d = this.down.indexOf(this.up.keyAt(u));
      if (d >= 0) found.push(d);
    }
    return PartitionSubset.of(found);
  }
}

/**
 * Time windows: downstream partition d reads the upstream windows overlapping
 * [start of window d+startOffset, end of window d+endOffset) — offsets in downstream units.
 */
export class TimeWindowMapping extends BaseMapping {
  constructor(
    private readonly up: TimeWindowPartitionsDefinition,
    private readonly down: TimeWindowPartitionsDefinition,
    readonly startOffset: number,
    readonly endOffset: number,
    readonly allowNonexistent: boolean,
    isDefault: boolean,
    private readonly self: boolean,
  ) {
    super(isDefault);
  }

  summary(): MappingSummary {
    return { kind: 'time_window', start_offset: this.startOffset, end_offset: this.endOffset, allow_nonexistent: this.allowNonexistent };
  }

  override readsOnlyEarlier(): boolean {
    return this.self && this.endOffset < 0;
  }

  /**
   * When both sides have the same windows (same schedule and zone), the upstream index of
   * downstream window d is d + shift: mappings then reduce to index arithmetic.
   */
  indexShift(): number | null {
    if (this.up.schedule !== this.down.schedule || this.up.timezone !== this.down.timezone) return null;
    const start = this.down.window(0).start;
    const shift = this.up.indexAt(start);
    return this.up.window(shift).start === start ? shift : null;
  }

  /** Upstream window index range [lo, hi) required by downstream indexes [s, e) (possibly outside the upstream's range). */
  private required(s: number, e: number): [number, number] {
    const start = this.down.window(s + this.startOffset).start;
    const end = this.down.window(e - 1 + this.endOffset).end;
    return this.up.overlapping(start, end);
  }

  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    const ranges: Array<[number, number]> = [];
    const missing = new Set<number>();
    const upFirstStart = this.up.window(0).start;
    for (const [s, e] of downstream.ranges()) {
      const [lo, hi] = this.required(s, e);
      ranges.push([Math.max(lo, 0), Math.min(hi, this.up.size)]);
      if (this.allowNonexistent) continue;
      // Windows before the upstream's first partition are only missing for downstream partitions
      // that themselves start before it; for the others (an offset reaching back past the start,
      // e.g. the first partition of a cumulative asset) they are clamped away.
      if (lo < 0) {
        const clampFrom = Math.max(s, Math.min(e, this.firstStartingAtOrAfter(upFirstStart)));
        if (clampFrom > s) {
          const [blo, bhi] = this.required(s, clampFrom);
          for (let i = blo; i < Math.min(bhi, 0); i++) missing.add(i);
        }
      }
      for (let i = Math.max(lo, this.up.size); i < hi; i++) missing.add(i);
    }
    return {
      partitions: PartitionSubset.fromRanges(ranges),
      missing: [...missing].sort((a, b) => a - b).map((i) => this.up.keyAt(i)),
    };
  }

  /** The first downstream index whose window starts at or after t. */
  private firstStartingAtOrAfter(t: number): number {
    const i = this.down.indexAt(t);
    return this.down.window(i).start >= t ? i : i + 1;
  }

  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    const ranges: Array<[number, number]> = [];
    for (const [a, b] of upstream.ranges()) {
      const from = this.up.window(a).start;
      const to = this.up.window(b - 1).end;
      // d reads [a, b) iff window(d + endOffset) ends after `from` and window(d + startOffset) starts before `to`.
      const x = this.down.indexAt(from); // first window whose end > from
      const y = this.down.indexAt(to - 1); // last window whose start < to
      ranges.push([Math.max(0, x - this.endOffset), Math.min(this.down.size, y - this.startOffset + 1)]);
    }
    const result = PartitionSubset.fromRanges(ranges);
    // Windows clamped away at the upstream's start (see upstreamFor) are never read, and
    // `upstream` only holds existing partitions, so the range above is exact.
    return result;
  }
}

/** Explicit pairs: upstream key → downstream keys. */
export class StaticMapping extends BaseMapping {
  private readonly upToDown = new Map<number, number[]>();
  private readonly downToUp = new Map<number, number[]>();
  constructor(
    private readonly pairs: Record<string, string[]>,
    up: PartitionsDefinition,
    down: PartitionsDefinition,
  ) {
    super(false);
    for (const [u, ds] of Object.entries(pairs)) {
      const ui = up.indexOf(u);
      for (const d of ds) {
        const di = down.indexOf(d);
        if (ui < 0 || di < 0) continue;
        push(this.upToDown, ui, di);
        push(this.downToUp, di, ui);
      }
    }
  }
  summary(): MappingSummary {
    return { kind: 'static', pairs: this.pairs };
  }
  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    const out: number[] = [];
    for (const d of downstream) out.push(...(this.downToUp.get(d) ?? []));
    return { partitions: PartitionSubset.of(out), missing: [] };
  }
  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    const out: number[] = [];
    for (const u of upstream) out.push(...(this.upToDown.get(u) ?? []));
    return PartitionSubset.of(out);
  }
}

/** Every downstream partition reads the same given upstream keys. */
export class SpecificMapping extends BaseMapping {
  private readonly existing: PartitionSubset;
  private readonly missingKeys: string[];
  constructor(
    private readonly keys: string[],
    up: PartitionsDefinition,
    private readonly down: PartitionsDefinition,
  ) {
    super(false);
    const idx = keys.map((k) => up.indexOf(k));
    this.existing = PartitionSubset.of(idx.filter((i) => i >= 0));
    this.missingKeys = keys.filter((_, i) => idx[i]! < 0);
  }
  summary(): MappingSummary {
    return { kind: 'specific', keys: this.keys };
  }
  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    return downstream.isEmpty ? NONE : { partitions: this.existing, missing: this.missingKeys };
  }
  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    return upstream.intersect(this.existing).isEmpty ? PartitionSubset.EMPTY : PartitionSubset.all(this.down.size);
  }
}

/**
 * Multi ↔ single through one dimension: the dimension's keys map to the single side with
 * `inner` (built between the dimension's definition and the single definition); every key of
 * the other dimensions.
 */
export class DimensionMapping extends BaseMapping {
  constructor(
    private readonly dimension: string,
    private readonly multi: MultiPartitionsDefinition,
    private readonly multiIsUpstream: boolean,
    private readonly inner: PartitionMapping,
    isDefault: boolean,
  ) {
    super(isDefault);
  }

  private get dim(): number {
    return this.multi.dimension(this.dimension);
  }

  private expand(dimSubset: PartitionSubset): PartitionSubset {
    return this.multi.product(this.multi.dimensions.map((d, i) => (i === this.dim ? dimSubset : PartitionSubset.all(d.def.size))));
  }

  summary(): MappingSummary {
    return { kind: 'dimension', dimension: this.dimension, mapping: this.inner.summary() };
  }

  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    if (this.multiIsUpstream) {
      const r = this.inner.upstreamFor(downstream);
      return { partitions: this.expand(r.partitions), missing: r.missing.map((k) => `${this.dimension}=${k}`) };
    }
    return this.inner.upstreamFor(this.multi.project(downstream)[this.dim]!);
  }

  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    if (this.multiIsUpstream) return this.inner.downstreamFor(this.multi.project(upstream)[this.dim]!);
    return this.expand(this.inner.downstreamFor(upstream));
  }
}

/** Multi → multi, one mapping per upstream dimension (matched by name); unmatched upstream dimensions: all keys. */
export class MultiMapping extends BaseMapping {
  constructor(
    private readonly up: MultiPartitionsDefinition,
    private readonly down: MultiPartitionsDefinition,
    /** Per upstream dimension: the downstream dimension index and the mapping, or null for "all". */
    private readonly perDimension: Array<{ downDim: number; mapping: PartitionMapping; name: string } | null>,
    isDefault: boolean,
  ) {
    super(isDefault);
  }

  summary(): MappingSummary {
    const dimensions: Record<string, MappingSummary> = {};
    this.up.dimensions.forEach((d, i) => (dimensions[d.name] = this.perDimension[i]?.mapping.summary() ?? { kind: 'all' }));
    return { kind: 'dimensions', dimensions };
  }

  upstreamFor(downstream: PartitionSubset): UpstreamPartitions {
    const missing = new Set<string>();
    const one = (perDownDim: PartitionSubset[]): PartitionSubset =>
      this.up.product(
        this.up.dimensions.map((d, i) => {
          const m = this.perDimension[i];
          if (!m) return PartitionSubset.all(d.def.size);
          const r = m.mapping.upstreamFor(perDownDim[m.downDim]!);
          for (const k of r.missing) missing.add(`${m.name}=${k}`);
          return r.partitions;
        }),
      );
    const projection = this.down.project(downstream);
    let partitions: PartitionSubset;
    if (this.down.product(projection).equals(downstream)) {
      partitions = one(projection);
    } else {
      partitions = PartitionSubset.EMPTY;
      for (const d of downstream) partitions = partitions.union(one(this.down.split(d).map((p) => PartitionSubset.range(p, p + 1))));
    }
    return { partitions, missing: [...missing] };
  }

  downstreamFor(upstream: PartitionSubset): PartitionSubset {
    const one = (perUpDim: PartitionSubset[]): PartitionSubset => {
      const perDown = this.down.dimensions.map((d) => PartitionSubset.all(d.def.size));
      this.perDimension.forEach((m, i) => {
        if (m) perDown[m.downDim] = perDown[m.downDim]!.intersect(m.mapping.downstreamFor(perUpDim[i]!));
      });
      return this.down.product(perDown);
    };
    const projection = this.up.project(upstream);
    if (this.up.product(projection).equals(upstream)) return one(projection);
    let out = PartitionSubset.EMPTY;
    for (const u of upstream) out = out.union(one(this.up.split(u).map((p) => PartitionSubset.range(p, p + 1))));
    return out;
  }
}

function push(map: Map<number, number[]>, k: number, v: number): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}
