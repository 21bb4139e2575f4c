import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { glob } from 'tinyglobby';
import type { AssetDefinition } from '../model.ts';
import { isInside } from './observed.ts';
import type { InputVersions } from './store.ts';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Content hashes of source files, reused while size and mtime are unchanged. */
export class SourceHashCache {
  private readonly entries = new Map<string, { size: number; mtimeMs: number; hash: string }>();

  async hash(file: string): Promise<string | null> {
    let st;
    try {
      st = await fs.stat(file);
    } catch {
      return null;
    }
    const e = this.entries.get(file);
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs) return e.hash;
    const hash = createHash('sha256')
      .update(await fs.readFile(file))
      .digest('hex');
    this.entries.set(file, { size: st.size, mtimeMs: st.mtimeMs, hash });
    return hash;
  }
}

/**
 * The files an asset's `source:` globs match, relative to its definition file's folder. With a
 * `sourceRoot` (the workspace), files reached through symbolic links to outside it are left out,
 * and a file reached twice (a link loop) is listed once.
 */
export async function sourceFiles(asset: AssetDefinition): Promise<string[]> {
  if (!asset.source || asset.source.length === 0) return [];
  const cwd = path.dirname(asset.location.file);
  const found = (
    await glob(asset.source, { cwd, absolute: true, onlyFiles: true, dot: false, ignore: ['**/node_modules/**', '**/.git/**'] })
  ).sort();
  if (!asset.sourceRoot) return found;
  const root = await fs.realpath(asset.sourceRoot).catch(() => asset.sourceRoot!);
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const file of found) {
    const real = await fs.realpath(file).catch(() => null);
    if (real === null || seen.has(real) || !isInside(root, real)) continue;
    seen.add(real);
    kept.push(file);
  }
  return kept;
}

/**
 * An asset's code version: its `code_version` when given; otherwise a hash of its `run`
 * command template and of the contents of the files its `source:` globs match.
 */
export async function codeVersion(asset: AssetDefinition, cache: SourceHashCache): Promise<string> {
  if (asset.code_version !== undefined) return asset.code_version;
  const base = path.dirname(asset.location.file);
  const files = await sourceFiles(asset);
  const hashes = await Promise.all(files.map(async (f) => [path.relative(base, f), await cache.hash(f)] as const));
  return sha256(JSON.stringify({ run: asset.run ?? null, sources: hashes })).slice(0, 16);
}

export async function codeVersions(assets: Iterable<AssetDefinition>, cache = new SourceHashCache()): Promise<Map<string, string>> {
  const list = [...assets];
  const versions = await Promise.all(list.map((a) => codeVersion(a, cache)));
  return new Map(list.map((a, i) => [a.name, versions[i]!]));
}

/** Dagster's default data version: a hash of the code version and the sorted input data versions. */
export function defaultDataVersion(codeVersionText: string, inputs: InputVersions): string {
  const flat: string[] = [];
  for (const asset of Object.keys(inputs).sort()) {
    const parts = inputs[asset]!;
    for (const p of Object.keys(parts).sort()) flat.push(`${asset}\u0000${p}\u0000${parts[p]}`);
  }
  return sha256(`${codeVersionText}\u0001${flat.join('\u0001')}`).slice(0, 16);
}

/** The dependency set as recorded: sorted upstream asset names. */
export function dependencySet(asset: AssetDefinition): string[] {
  return [...new Set(asset.deps.map((d) => d.asset))].sort();
}
