import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect } from '../../src/core/state/sqlite.ts';
import { UserError } from '../../src/core/diagnostics.ts';
import { StateStore } from '../../src/core/state/store.ts';
import { removeTempDirs, tempDir } from './fixtures.ts';

after(removeTempDirs);
function tempDb(): string {
  return path.join(tempDir('backfill-store-'), '.backfill', 'state.db');
}
/** Runs test/fixtures/record-worker.ts in its own process: it records `count` partitions of `asset` into `file`. Resolves to its exit code. */
function recordWorker(file: string, asset: string, count: number): Promise<number> {
  const worker = path.join(__dirname, '..', 'fixtures', 'record-worker.ts');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, file, asset, String(count)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}
function openError(file: string): UserError {
  try {
    StateStore.open(file, { busyTimeoutMs: 200 }).close();
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    return e;
  }
  assert.fail('expected the store to refuse the file');
}

describe('StateStore', () => {
  it('creates the folder with its own .gitignore and keeps history with latest state', () => {
    const file = tempDb();
    const s = StateStore.open(file);
    assert.match(readFileSync(path.join(path.dirname(file), '.gitignore'), 'utf8'), /^\*$/m);
    const id = s.startAttempt({ asset: 'a', partition: 'x', startedAt: 1000, runId: 'r1', codeVersion: 'c1' });
    assert.equal(s.partitionStates('a')[0]!.lastStatus, 'running');
    s.finishAttempt(id, { status: 'failed', endedAt: 1500, exitCode: 3 });
    s.record([
      { asset: 'a', partition: 'x', startedAt: 2000, endedAt: 2600, status: 'success', dataVersion: 'v2', metadata: { rows: 12 } },
    ]);
    const [state] = s.partitionStates('a');
    assert.equal(state!.lastStatus, 'success');
    assert.equal(state!.successDataVersion, 'v2');
    const history = s.history({ asset: 'a' });
    assert.deepEqual(
      history.map((h) => [h.status, h.durationMs, h.exitCode]),
      [
        ['success', 600, null],
        ['failed', 500, 3],
      ],
    );
    assert.deepEqual(history[0]!.metadata, { rows: 12 });
    assert.equal(s.medianDurationMs('a'), 550);
    s.close();
  });

  it('a database put in an existing folder (the project itself) writes no .gitignore there', () => {
    const project = tempDir('backfill-store-project-');
    StateStore.open(path.join(project, 'state.db')).close();
    assert.equal(existsSync(path.join(project, '.gitignore')), false);
    assert.ok(existsSync(path.join(project, 'state.db')));
  });

  it('an older attempt finishing after a newer one keeps the newer one as latest', () => {
    const s = StateStore.open(tempDb());
    const older = s.startAttempt({ asset: 'a', partition: 'x', startedAt: 1 });
    const newer = s.startAttempt({ asset: 'a', partition: 'x', startedAt: 2 });
    s.finishAttempt(newer, { status: 'failed', endedAt: 3 });
    s.finishAttempt(older, { status: 'success', endedAt: 4, dataVersion: 'old' });
    const [state] = s.partitionStates('a');
    assert.equal(state!.lastStatus, 'failed');
    assert.equal(state!.successDataVersion, 'old');
    s.close();
  });

  it('two processes writing at once lose nothing and never fail on SQLITE_BUSY', async () => {
    const file = tempDb();
    StateStore.open(file).close();
    assert.deepEqual(await Promise.all([recordWorker(file, 'left', 300), recordWorker(file, 'right', 300)]), [0, 0]);
    const s = StateStore.open(file);
    assert.equal(s.partitionStates('left').length, 300);
    assert.equal(s.partitionStates('right').length, 300);
    assert.equal(s.history({ limit: 10_000 }).length, 600);
    s.close();
  });

  it('a corrupt database is refused with the file and the fix, and left untouched', () => {
    const file = tempDb();
    StateStore.open(file).close();
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(file, garbage);
    const e = openError(file);
    assert.match(e.message, /state\.db/);
    assert.match(e.message, /corrupt|not a database/i);
    assert.match(e.message, /mv /);
    assert.deepEqual(readFileSync(file), garbage);
  });

  it('a database from a newer Backfill is refused', () => {
    const file = tempDb();
    StateStore.open(file).close();
    const db = connect(file, { timeoutMs: 0 });
    db.exec('PRAGMA user_version = 99');
    db.close();
    assert.match(openError(file).message, /schema version 99, newer than this Backfill understands/);
  });

  it('another SQLite file is not taken for a state database', () => {
    const file = tempDb();
    StateStore.open(file).close();
    const other = path.join(path.dirname(file), 'other.db');
    const db = connect(other, { timeoutMs: 0 });
    db.exec('CREATE TABLE t (x)');
    db.close();
    assert.match(openError(other).message, /not a Backfill state database/);
  });

  it('a database locked by another writer for longer than the timeout gives a clear error', () => {
    const file = tempDb();
    const s = StateStore.open(file);
    const locker = connect(file, { timeoutMs: 0 });
    locker.exec('BEGIN EXCLUSIVE');
    try {
      const waiting = StateStore.open(file, { busyTimeoutMs: 100 });
      assert.throws(
        () => waiting.record([{ asset: 'a', partition: 'x', startedAt: 1, endedAt: 2, status: 'success' }]),
        (e: Error) => /locked by another process/.test(e.message) && e.message.includes(file),
      );
      waiting.close();
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
      s.close();
    }
  });
});

describe('StateStore creation', () => {
  it('two processes creating the same new database at once both succeed', async () => {
    for (let round = 0; round < 3; round++) {
      const file = tempDb();
      assert.deepEqual(await Promise.all([recordWorker(file, 'a', 5), recordWorker(file, 'b', 5)]), [0, 0]);
      const s = StateStore.open(file);
      assert.deepEqual(s.recordedAssets(), ['a', 'b']);
      s.close();
    }
  });

  it('opening a new database while another process is creating it waits instead of failing', async () => {
    // The other process holds the write lock of the new file, as a second Backfill does for a
    // moment while it creates the tables. Switching to WAL then fails at once with SQLITE_BUSY
    // (SQLite does not call the busy handler when a read transaction upgrades): open must wait.
    const file = tempDb();
    StateStore.open(file).close();
    // Back to a new, empty database in rollback-journal mode.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    const holdMs = 400;
    const locker = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const db = require('./src/core/state/sqlite.ts').connect(process.argv[1], { timeoutMs: 0 }); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${holdMs});`,
        file,
      ],
      { cwd: path.join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => locker.stdout!.once('data', () => resolve()));
    const started = Date.now();
    const s = StateStore.open(file);
    const waited = Date.now() - started;
    s.record([{ asset: 'a', partition: 'p', startedAt: 1, endedAt: 2, status: 'success' }]);
    assert.deepEqual(s.recordedAssets(), ['a']);
    s.close();
    assert.ok(waited >= holdMs / 2, `open returned after ${waited} ms, before the other process let go`);
    await new Promise((resolve) => locker.once('exit', resolve));
  });
});
