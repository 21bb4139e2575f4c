import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { findDefinitionFiles } from '../../src/core/workspace.ts';
import { chooseFolder, type FolderInfo } from '../../src/extension/folders.ts';
import { removeTempDirs, tempDir } from './fixtures.ts';

after(removeTempDirs);

/** Folders on disk, some with a definitions file (deep inside, as in a real project). */
function folders(spec: Record<string, boolean>): FolderInfo[] {
  const root = tempDir('backfill-folders-');
  return Object.entries(spec).map(([name, defs]) => {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'pipelines', 'daily'), { recursive: true });
    writeFileSync(path.join(dir, 'README.md'), '# notes\n');
    if (defs) writeFileSync(path.join(dir, 'pipelines', 'daily', 'events.assets.yaml'), 'assets:\n  a: { run: "true" }\n');
    return { path: dir, name };
  });
}
const onDisk = async (f: FolderInfo): Promise<boolean> => (await findDefinitionFiles(f.path)).length > 0;

describe('the workspace folder Backfill shows', () => {
  it('is the first folder with asset definitions, not merely the first folder', async () => {
    const fs = folders({ notes: false, pipelines: true, other: true });
    assert.equal((await chooseFolder(fs, undefined, onDisk))?.name, 'pipelines');
  });

  it('is the one chosen before while it is still open, even without definitions', async () => {
    const fs = folders({ notes: false, pipelines: true });
    assert.equal((await chooseFolder(fs, fs[0]!.path, onDisk))?.name, 'notes');
    // Closed since: back to the first with definitions.
    assert.equal((await chooseFolder(fs, '/somewhere/closed', onDisk))?.name, 'pipelines');
  });

  it('is the first folder when none has definitions, and none without folders', async () => {
    const fs = folders({ a: false, b: false });
    assert.equal((await chooseFolder(fs, undefined, onDisk))?.name, 'a');
    assert.equal(await chooseFolder([], undefined, onDisk), undefined);
  });

  it('does not look into the only folder of a workspace', async () => {
    const [one] = folders({ a: false });
    const asked: string[] = [];
    assert.equal(await chooseFolder([one!], undefined, async (f) => (asked.push(f.name), onDisk(f))), one);
    assert.deepEqual(asked, []);
  });

  it('looks into folders only until it finds definitions', async () => {
    const fs = folders({ a: false, b: true, c: true });
    const asked: string[] = [];
    await chooseFolder(fs, undefined, async (f) => (asked.push(f.name), onDisk(f)));
    assert.deepEqual(asked, ['a', 'b']);
  });
});
