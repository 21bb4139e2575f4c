import { createHash } from 'node:crypto';
import { PartitionSubset } from './subset.ts';

export type PartitionKind = 'unpartitioned' | 'static' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'cron' | 'multi';

/** What `backfill assets --json` prints for an asset's partitions. */
export type PartitionsSummary =
  | { kind: 'static'; count: number; keys: string[] }
  | {
      kind: 'hourly' | 'daily' | 'weekly' | 'monthly' | 'cron';
      count: number;
      first: string | null;
      last: string | null;
      timezone: string;
      schedule: string;
      fmt: string;
      start: string;
      end: string | null;
      end_offset: number;
    }
  | { kind: 'multi'; count: number; dimensions: Array<{ name: string } & PartitionsSummary> };

/**
 * The partitions of an asset as of a fixed `now`. Partitions are addressed by index
 * (0 = the first); keys are computed on demand so that large sets are never materialized.
 */
export interface PartitionsDefinition {
  readonly kind: PartitionKind;
  /** Number of partitions that exist as of `now`. */
  readonly size: number;
  keyAt(index: number): string;
  /** Index of an existing key, or -1. */
  indexOf(key: string): number;
  /** JSON summary; null for an unpartitioned asset. */
  summary(): PartitionsSummary | null;
  /** Same partitions (same keys in the same order, same windows). */
  equals(other: PartitionsDefinition): boolean;
  /**
   * Names the index space: two definitions with the same fingerprint give every key the same
   * index (the state store keeps indexes under it so that readers need not parse keys).
   */
  fingerprint(): string;
}

export function allPartitions(def: PartitionsDefinition): PartitionSubset {
  return PartitionSubset.all(def.size);
}

export function keysOf(def: PartitionsDefinition, subset: PartitionSubset): string[] {
  const out: string[] = [];
  for (const i of subset) out.push(def.keyAt(i));
  return out;
}

/** An asset without partitions: one implicit partition, shown as no key at all. */
export class UnpartitionedDefinition implements PartitionsDefinition {
  readonly kind = 'unpartitioned' as const;
  readonly size = 1;
  static readonly KEY = '';
  static readonly INSTANCE = new UnpartitionedDefinition();
  keyAt(): string {
    return UnpartitionedDefinition.KEY;
  }
  indexOf(key: string): number {
    return key === UnpartitionedDefinition.KEY ? 0 : -1;
  }
  summary(): null {
    return null;
  }
  fingerprint(): string {
    return 'unpartitioned';
  }
  equals(other: PartitionsDefinition): boolean {
    return other.kind === 'unpartitioned';
  }
}

export class StaticPartitionsDefinition implements PartitionsDefinition {
  readonly kind = 'static' as const;
  private readonly index: Map<string, number>;
  private print?: string;
  fingerprint(): string {
    return (this.print ??= 'static:' + createHash('sha256').update(this.keys.join('\n')).digest('hex').slice(0, 16));
  }
  constructor(readonly keys: readonly string[]) {
    this.index = new Map(keys.map((k, i) => [k, i]));
  }
  get size(): number {
    return this.keys.length;
  }
  keyAt(index: number): string {
    const k = this.keys[index];
    if (k === undefined) throw new RangeError(`partition index ${index} out of range`);
    return k;
  }
  indexOf(key: string): number {
    return this.index.get(key) ?? -1;
  }
  summary(): PartitionsSummary {
    return { kind: 'static', count: this.keys.length, keys: [...this.keys] };
  }
  equals(other: PartitionsDefinition): boolean {
    return (
      other instanceof StaticPartitionsDefinition &&
      other.keys.length === this.keys.length &&
      other.keys.every((k, i) => k === this.keys[i])
    );
  }
}
