import { readdirSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import type { AssetDefinition } from '../model.ts';
import { MultiPartitionsDefinition } from '../partitions/multi.ts';
import { PartitionSubset } from '../partitions/subset.ts';

/** An output folder that was not listed because it leads outside the workspace. */
export interface RefusedOutput {
  asset: string;
  /** The folder as the template names it. */
  dir: string;
  /** Where it really is (through symbolic links). */
  real: string;
}

/**
 * Which partitions' `output:` files (or folders) exist. Paths are grouped by folder and each
 * folder is listed once, so checking 10^5 partitions costs a few directory reads, not 10^5 stats.
 *
 * Nothing outside the workspace is listed unless the asset says `output_outside_workspace: true`:
 * a partition whose path leads out (a key with `../`) or whose folder is a symbolic link to
 * somewhere outside counts as not existing (the folders are in `refused`).
 */
export class ObservedOutputs {
  private readonly listings = new Map<string, Set<string> | null>();
  private readonly realRoots = new Map<string, string>();
  /** Output folders not listed because they lead outside the workspace, one per asset. */
  readonly refused: RefusedOutput[] = [];

  /** The partitions whose output exists; undefined when the asset declares no output. */
  forAsset(asset: AssetDefinition): PartitionSubset | undefined {
    if (!asset.output) return undefined;
    const base = path.dirname(asset.location.file);
    const root = asset.output_outside_workspace ? null : (asset.outputRoot ?? base);
    const found: number[] = [];
    let refused = false;
    for (let i = 0; i < asset.partitions.size; i++) {
      const file = path.resolve(base, outputPath(asset, i));
      if (root !== null && !isInside(root, file)) continue;
      const dir = path.dirname(file);
      if (root !== null) {
        const real = this.realFolder(dir);
        if (real !== null && !isInside(this.realRoot(root), real)) {
          if (!refused) this.refused.push({ asset: asset.name, dir, real });
          refused = true;
          continue;
        }
      }
      const names = this.list(dir);
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

  private readonly realFolders = new Map<string, string | null>();

  /** The folder with symbolic links resolved; null when it does not exist. */
  private realFolder(dir: string): string | null {
    let real = this.realFolders.get(dir);
    if (real === undefined) {
      try {
        real = realpathSync(dir);
      } catch {
        real = null;
      }
      this.realFolders.set(dir, real);
    }
    return real;
  }

  private realRoot(root: string): string {
    let real = this.realRoots.get(root);
    if (real === undefined) this.realRoots.set(root, (real = this.realFolder(root) ?? root));
    return real;
  }
}

/** True when `file` is `root` or lies under it (both absolute). */
export function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
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
