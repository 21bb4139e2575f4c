import type { PartitionsDefinition, PartitionsSummary } from './definition.ts';
import { PartitionSubset } from './subset.ts';

export interface Dimension {
  name: string;
  def: PartitionsDefinition;
}

/**
 * The cartesian product of two or more dimensions, as Dagster's MultiPartitionsDefinition:
 * dimensions ordered by name, keys joined with `|`, indexes row-major (the first dimension
 * varies slowest).
 */
export class MultiPartitionsDefinition implements PartitionsDefinition {
  readonly kind = 'multi' as const;
  readonly dimensions: readonly Dimension[];
  readonly size: number;
  /** strides[d] = product of the sizes of the dimensions after d. */
  private readonly strides: number[];

  constructor(dimensions: Dimension[]) {
    this.dimensions = [...dimensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.strides = new Array<number>(this.dimensions.length);
    let stride = 1;
    for (let d = this.dimensions.length - 1; d >= 0; d--) {
      this.strides[d] = stride;
      stride *= this.dimensions[d]!.def.size;
    }
    this.size = stride;
  }

  dimension(name: string): number {
    return this.dimensions.findIndex((d) => d.name === name);
  }

  /** The index of each dimension's key for a flat index. */
  split(index: number): number[] {
    return this.dimensions.map((d, i) => Math.floor(index / this.strides[i]!) % d.def.size);
  }

  join(parts: readonly number[]): number {
    let index = 0;
    parts.forEach((p, i) => (index += p * this.strides[i]!));
    return index;
  }

  keyAt(index: number): string {
    if (index < 0 || index >= this.size) throw new RangeError(`partition index ${index} out of range`);
    return this.split(index)
      .map((p, i) => this.dimensions[i]!.def.keyAt(p))
      .join('|');
  }

  indexOf(key: string): number {
    const parts = key.split('|');
    if (parts.length !== this.dimensions.length) return -1;
    const idx: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const j = this.dimensions[i]!.def.indexOf(parts[i]!);
      if (j < 0) return -1;
      idx.push(j);
    }
    return this.join(idx);
  }

  /** The flat subset of the product of one subset per dimension. */
  product(perDimension: readonly PartitionSubset[]): PartitionSubset {
    if (perDimension.some((s) => s.isEmpty)) return PartitionSubset.EMPTY;
    // Build ranges from the last dimension outwards: the last dimension's ranges are contiguous.
    let ranges: Array<[number, number]> = [...perDimension[perDimension.length - 1]!.ranges()];
    for (let d = perDimension.length - 2; d >= 0; d--) {
      const stride = this.strides[d]!;
      const inner = ranges;
      const fullInner = inner.length === 1 && inner[0]![0] === 0 && inner[0]![1] === stride;
      const next: Array<[number, number]> = [];
      for (const [s, e] of perDimension[d]!.ranges()) {
        if (fullInner) {
          next.push([s * stride, e * stride]);
          continue;
        }
        for (let k = s; k < e; k++) for (const [a, b] of inner) next.push([k * stride + a, k * stride + b]);
      }
      ranges = next;
    }
    return PartitionSubset.fromRanges(ranges);
  }

  /** Per dimension, the set of its keys used by the subset. */
  project(subset: PartitionSubset): PartitionSubset[] {
    const seen = this.dimensions.map(() => new Set<number>());
    const full = this.dimensions.map(() => false);
    for (const [s, e] of subset.ranges()) {
      for (let i = s; i < e; i++) {
        this.split(i).forEach((p, d) => seen[d]!.add(p));
        if (full.every((f, d) => f || seen[d]!.size === this.dimensions[d]!.def.size)) {
          return this.dimensions.map((d) => PartitionSubset.all(d.def.size));
        }
      }
    }
    return seen.map((s) => PartitionSubset.of(s));
  }

  summary(): PartitionsSummary {
    return {
      kind: 'multi',
      count: this.size,
      dimensions: this.dimensions.map((d) => ({ name: d.name, ...(d.def.summary() as Exclude<PartitionsSummary, null>) })),
    };
  }

  /** Flat indexes depend on every dimension's size too (they grow as time passes). */
  fingerprint(): string {
    return `multi(${this.dimensions.map((d) => `${d.name}=${d.def.fingerprint()}#${d.def.size}`).join(';')})`;
  }

  equals(other: PartitionsDefinition): boolean {
    return (
      other instanceof MultiPartitionsDefinition &&
      other.dimensions.length === this.dimensions.length &&
      other.dimensions.every((d, i) => d.name === this.dimensions[i]!.name && d.def.equals(this.dimensions[i]!.def))
    );
  }
}
