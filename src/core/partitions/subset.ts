/**
 * A set of partition indexes of one definition, kept as sorted, disjoint, non-adjacent
 * half-open ranges `[start, end)`. Time partitions are contiguous runs, so a year of daily
 * partitions is one range, not 365 strings.
 */
export class PartitionSubset {
  /** Flat list: start0, end0, start1, end1, ... */
  private constructor(private readonly r: readonly number[]) {}

  static readonly EMPTY = new PartitionSubset([]);

  static range(start: number, end: number): PartitionSubset {
    return end > start ? new PartitionSubset([start, end]) : PartitionSubset.EMPTY;
  }

  static all(size: number): PartitionSubset {
    return PartitionSubset.range(0, size);
  }

  static of(indexes: Iterable<number>): PartitionSubset {
    const sorted = [...indexes].sort((a, b) => a - b);
    const r: number[] = [];
    for (const i of sorted) {
      const last = r.length - 1;
      if (last >= 0 && i <= r[last]!) {
        if (i === r[last]) r[last] = i + 1;
      } else {
        r.push(i, i + 1);
      }
    }
    return new PartitionSubset(r);
  }

  /** From possibly overlapping, unsorted ranges. */
  static fromRanges(ranges: Iterable<readonly [number, number]>): PartitionSubset {
    const list = [...ranges].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
    const r: number[] = [];
    for (const [s, e] of list) {
      const last = r.length - 1;
      if (last >= 0 && s <= r[last]!) {
        if (e > r[last]!) r[last] = e;
      } else {
        r.push(s, e);
      }
    }
    return new PartitionSubset(r);
  }

  get isEmpty(): boolean {
    return this.r.length === 0;
  }

  get size(): number {
    let n = 0;
    for (let i = 0; i < this.r.length; i += 2) n += this.r[i + 1]! - this.r[i]!;
    return n;
  }

  /** Smallest index, or -1 when empty. */
  get first(): number {
    return this.r.length ? this.r[0]! : -1;
  }

  /** Largest index, or -1 when empty. */
  get last(): number {
    return this.r.length ? this.r[this.r.length - 1]! - 1 : -1;
  }

  *ranges(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.r.length; i += 2) yield [this.r[i]!, this.r[i + 1]!];
  }

  get rangeCount(): number {
    return this.r.length / 2;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.r.length; i += 2) {
      for (let j = this.r[i]!; j < this.r[i + 1]!; j++) yield j;
    }
  }

  has(index: number): boolean {
    // Binary search over range starts.
    let lo = 0;
    let hi = this.r.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.r[mid * 2]!;
      const e = this.r[mid * 2 + 1]!;
      if (index < s) hi = mid - 1;
      else if (index >= e) lo = mid + 1;
      else return true;
    }
    return false;
  }

  union(other: PartitionSubset): PartitionSubset {
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return PartitionSubset.fromRanges([...this.ranges(), ...other.ranges()]);
  }

  intersect(other: PartitionSubset): PartitionSubset {
    const out: number[] = [];
    let i = 0;
    let j = 0;
    const a = this.r;
    const b = other.r;
    while (i < a.length && j < b.length) {
      const s = Math.max(a[i]!, b[j]!);
      const e = Math.min(a[i + 1]!, b[j + 1]!);
      if (e > s) {
        const last = out.length - 1;
        if (last >= 0 && out[last] === s) out[last] = e;
        else out.push(s, e);
      }
      if (a[i + 1]! < b[j + 1]!) i += 2;
      else j += 2;
    }
    return new PartitionSubset(out);
  }

  minus(other: PartitionSubset): PartitionSubset {
    if (other.isEmpty || this.isEmpty) return this;
    const out: number[] = [];
    let j = 0;
    const b = other.r;
    for (let i = 0; i < this.r.length; i += 2) {
      let s = this.r[i]!;
      const e = this.r[i + 1]!;
      while (j < b.length && b[j + 1]! <= s) j += 2;
      let k = j;
      while (k < b.length && b[k]! < e) {
        if (b[k]! > s) out.push(s, b[k]!);
        s = Math.max(s, b[k + 1]!);
        k += 2;
      }
      if (s < e) out.push(s, e);
    }
    return new PartitionSubset(out);
  }

  equals(other: PartitionSubset): boolean {
    return this.r.length === other.r.length && this.r.every((v, i) => v === other.r[i]);
  }

  /** Keeps indexes in [0, size). */
  clamp(size: number): PartitionSubset {
    return this.intersect(PartitionSubset.range(0, size));
  }

  /** Every index moved by `delta`. */
  shift(delta: number): PartitionSubset {
    return new PartitionSubset(this.r.map((v) => v + delta));
  }
}
