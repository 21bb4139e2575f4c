import { promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';

/** `orders.assets.yaml`, `orders.assets.yml`. */
export function isDefinitionFile(name: string): boolean {
  return name.endsWith('.assets.yaml') || name.endsWith('.assets.yml');
}

/** Folders never searched: dependencies, and dot-folders (.git, the .backfill state folder...). */
export function isSkippedFolder(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/**
 * The definition files under `root` (absolute paths, sorted). Symbolic links to files are
 * followed; symbolic links to folders are not (no loops). Unreadable folders are skipped.
 */
export async function findDefinitionFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const sub: Array<Promise<void>> = [];
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!isSkippedFolder(e.name)) sub.push(walk(full));
      } else if (isDefinitionFile(e.name)) {
        if (e.isFile()) out.push(full);
        else if (e.isSymbolicLink()) sub.push(fs.stat(full).then((s) => void (s.isFile() && out.push(full)), () => undefined));
      }
    }
    await Promise.all(sub);
  }
  await walk(path.resolve(root));
  return out.sort();
}
