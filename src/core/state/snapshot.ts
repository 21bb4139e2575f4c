/**
 * The latest state of every recorded partition of one asset, stored as one row per asset:
 * the keys joined by newlines, a Float64Array of fixed-size records, and a small table of
 * the strings the records refer to (code versions, dependency sets, data versions).
 * Partition keys never contain newlines (control characters are rejected in keys).
 */

export type AttemptStatusCode = 0 | 1 | 2 | 3;
export const STATUS_CODES = ['running', 'success', 'failed', 'canceled'] as const;

/** Field offsets within a record. */
export const F = {
  lastAttemptId: 0,
  lastStatus: 1,
  lastStartedAt: 2,
  lastEndedAt: 3,
  successId: 4,
  successStartSeq: 5,
  successEndSeq: 6,
  successEndedAt: 7,
  successCodeVersion: 8, // index into strings, or NaN
  successDeps: 9, // index into strings ('\n'-joined sorted names), or NaN
  successDataVersion: 10, // index into strings, or NaN
} as const;
export const FIELDS = 11;

export class AssetSnapshot {
  private keyIndex: Map<string, number> | null = null;
  private constructor(
    readonly keys: string[],
    public records: Float64Array,
    readonly strings: string[],
    private readonly stringIndex: Map<string, number>,
  ) {}

  /** Row of each key (built on first use: readers that scan rows never need it). */
  get index(): Map<string, number> {
    return (this.keyIndex ??= new Map(this.keys.map((k, i) => [k, i])));
  }

  static empty(): AssetSnapshot {
    return new AssetSnapshot([], new Float64Array(0), [], new Map());
  }

  static decode(partitions: string, records: Buffer, strings: string): AssetSnapshot {
    const keys = partitions.length === 0 && records.length === 0 ? [] : partitions.split('\n');
    // Copy: SQLite's buffer need not be 8-byte aligned.
    const copy = new Float64Array(records.length / 8);
    new Uint8Array(copy.buffer).set(records);
    const table = JSON.parse(strings) as string[];
    return new AssetSnapshot(keys, copy, table, new Map(table.map((s, i) => [s, i])));
  }

  encode(): { partitions: string; records: Buffer; strings: string } {
    return {
      partitions: this.keys.join('\n'),
      records: Buffer.from(this.records.buffer, this.records.byteOffset, this.keys.length * FIELDS * 8),
      strings: JSON.stringify(this.strings),
    };
  }

  get size(): number {
    return this.keys.length;
  }

  get(row: number, field: number): number {
    return this.records[row * FIELDS + field]!;
  }

  string(row: number, field: number): string | null {
    const v = this.records[row * FIELDS + field]!;
    return Number.isNaN(v) ? null : this.strings[v]!;
  }

  /** The row of a partition, added (empty) when missing. */
  row(key: string): number {
    let r = this.index.get(key);
    if (r === undefined) {
      r = this.keys.length;
      this.keys.push(key);
      this.index.set(key, r);
      if ((r + 1) * FIELDS > this.records.length) {
        const grown = new Float64Array(Math.max(FIELDS * 16, this.records.length * 2));
        grown.set(this.records);
        this.records = grown;
      }
      this.records.fill(NaN, r * FIELDS, (r + 1) * FIELDS);
    }
    return r;
  }

  set(row: number, field: number, value: number | null): void {
    this.records[row * FIELDS + field] = value === null ? NaN : value;
  }

  setString(row: number, field: number, value: string | null): void {
    if (value === null) return this.set(row, field, null);
    let i = this.stringIndex.get(value);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(value);
      this.stringIndex.set(value, i);
    }
    this.set(row, field, i);
  }
}
