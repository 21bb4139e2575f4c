import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { AssetDefinition } from '../model.ts';
import { MultiPartitionsDefinition } from '../partitions/multi.ts';
import { PartitionSubset } from '../partitions/subset.ts';

/**
 * Which partitions' `output:` files (or folders) exist. Paths are grouped by folder and each
 * folder is listed once, so checking 10^5 partitions costs a few directory reads, not 10^5 stats.
 */
export class ObservedOutputs {
  private readonly listings = new Map<string, Set<string> | null>();

  /** The partitions whose output exists; undefined when the asset declares no output. */
  forAsset(asset: AssetDefinition): PartitionSubset | undefined {
    if (!asset.output) return undefined;
    const base = path.dirname(asset.location.file);
    const found: number[] = [];
    for (let i = 0; i < asset.partitions.size; i++) {
      const file = path.resolve(base, outputPath(asset, i));
      const names = this.list(path.dirname(file));
      if (names?.has(path.basename(file))) found.push(i);
    }
    return PartitionSubset.of(found);
  }

  private list(dir: string): Set<string> | null {
    let names = this.listings.get(dir);
    if (names === undefined) {
      try {
        names = new Set(readdirSync(dir));
      } catch {
        names = null;
      }
      this.listings.set(dir, names);
    }
    return names;
  }
}

/** The output path of one partition: `{partition}`, `{asset}` and `{dim:NAME}` substituted. */
export function outputPath(asset: AssetDefinition, index: number): string {
  const def = asset.partitions;
  const key = def.keyAt(index);
  return asset.output!.replace(/\{(partition|asset|dim:([^}]+))\}/g, (_m, what: string, dim?: string) => {
    if (what === 'partition') return key;
    if (what === 'asset') return asset.name;
    if (def instanceof MultiPartitionsDefinition) {
      const d = def.dimension(dim!);
      if (d >= 0) return def.dimensions[d]!.def.keyAt(def.split(index)[d]!);
    }
    return _m;
  });
}
