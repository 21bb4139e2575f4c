/**
 * The latest state of every recorded partition of one asset, stored as one row per asset:
 * the keys joined by newlines, a Float64Array of fixed-size records, a small table of the
 * strings the records refer to (code versions, dependency sets, data versions), and each row's
 * partition index under the asset's partitions definition (named by a fingerprint), so that
 * readers with the same definition never parse a key.
 * Partition keys never contain newlines (control characters are rejected in keys).
 */

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

/** Maps a partition key to its index under a definition; the fingerprint names that index space. */
export interface PartitionIndexer {
  fingerprint: string;
  indexOf(key: string): number;
}

export interface EncodedSnapshot {
  partitions: string;
  records: Uint8Array;
  strings: string;
  fingerprint: string;
  indexes: Uint8Array;
}

export class AssetSnapshot {
  private keyList: string[] | null;
  private keyIndex: Map<string, number> | null = null;
  private rowCount: number;

  private constructor(
    private partitionsText: string,
    keys: string[] | null,
    public records: Float64Array,
    readonly strings: string[],
    private readonly stringIndex: Map<string, number>,
    public fingerprint: string,
    public indexes: Int32Array,
    rows: number,
  ) {
    this.keyList = keys;
    this.rowCount = rows;
  }

  static empty(): AssetSnapshot {
    return new AssetSnapshot('', [], new Float64Array(0), [], new Map(), '', new Int32Array(0), 0);
  }

  static decode(e: { partitions: string; records: Uint8Array; strings: string; fingerprint: string; indexes: Uint8Array }): AssetSnapshot {
    const rows = e.records.length / (8 * FIELDS);
    // Each driver gives each blob its own buffer: view it in place when aligned, else copy.
    const records = view(e.records, Float64Array, rows * FIELDS);
    const indexes = e.indexes.length === rows * 4 ? view(e.indexes, Int32Array, rows) : new Int32Array(rows).fill(-1);
    const table = JSON.parse(e.strings) as string[];
    return new AssetSnapshot(e.partitions, null, records, table, new Map(table.map((s, i) => [s, i])), e.fingerprint, indexes, rows);
  }

  encode(): EncodedSnapshot {
    return {
      partitions: this.keyList ? this.keyList.join('\n') : this.partitionsText,
      records: Buffer.from(this.records.buffer, this.records.byteOffset, this.rowCount * FIELDS * 8),
      strings: JSON.stringify(this.strings),
      fingerprint: this.fingerprint,
      indexes: Buffer.from(this.indexes.buffer, this.indexes.byteOffset, this.rowCount * 4),
    };
  }

  get size(): number {
    return this.rowCount;
  }

  /** The partition key of each row (split on first use: readers with a matching fingerprint never need them). */
  get keys(): readonly string[] {
    if (!this.keyList) this.keyList = this.rowCount === 0 ? [] : this.partitionsText.split('\n');
    return this.keyList;
  }

  /** Row of each key. */
  get index(): Map<string, number> {
    return (this.keyIndex ??= new Map(this.keys.map((k, i) => [k, i])));
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
      r = this.rowCount++;
      (this.keys as string[]).push(key);
      this.index.set(key, r);
      if (this.rowCount * FIELDS > this.records.length) {
        const grown = new Float64Array(Math.max(FIELDS * 16, this.records.length * 2));
        grown.set(this.records);
        this.records = grown;
        const idx = new Int32Array(grown.length / FIELDS).fill(-1);
        idx.set(this.indexes.subarray(0, r));
        this.indexes = idx;
      }
      this.records.fill(NaN, r * FIELDS, (r + 1) * FIELDS);
      this.indexes[r] = -1;
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

  /** Brings the stored partition indexes up to date for `indexer` (all rows when its fingerprint changed). */
  reindex(indexer: PartitionIndexer): void {
    const all = indexer.fingerprint !== this.fingerprint;
    this.fingerprint = indexer.fingerprint;
    const keys = this.keys;
    for (let r = 0; r < this.rowCount; r++) {
      if (all || this.indexes[r] === -1) this.indexes[r] = indexer.indexOf(keys[r]!);
    }
  }
}

function view<T extends Float64Array | Int32Array>(
  buf: Uint8Array,
  Type: { new (b: ArrayBufferLike, offset: number, length: number): T; new (length: number): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  if (buf.byteOffset % Type.BYTES_PER_ELEMENT === 0) return new Type(buf.buffer, buf.byteOffset, length);
  const copy = new Type(length);
  new Uint8Array(copy.buffer).set(buf.subarray(0, length * Type.BYTES_PER_ELEMENT));
  return copy;
}
