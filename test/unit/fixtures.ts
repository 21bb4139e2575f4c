// Temporary folders for the unit tests. Not a test file itself (its name does not end in .test.ts).
// A test file calls `after(removeTempDirs)` once; every folder made here is then removed after its tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const dirs: string[] = [];

/** A new empty temporary folder whose name starts with `prefix`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A new temporary folder holding the given files (relative path → text), in that order. */
export function tempWorkspace(files: Record<string, string>, prefix: string): string {
  const dir = tempDir(prefix);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

/** Removes every folder made by tempDir and tempWorkspace: pass it to `after`. */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
