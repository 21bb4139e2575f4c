// The two SQLite drivers (src/core/state/sqlite.ts): which one a runtime uses, what a runtime
// with neither says, and one database shared by both at once — the CLI on Node 20
// (better-sqlite3) while an editor on Node 24 (node:sqlite) has it open, and the other way round.
// This file runs in both unit suites (npm run test:unit on Node 20, test:unit:node24 on Node 24).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, sqliteErrorCode, type SqliteDriverName } from '../../src/core/state/sqlite.ts';
import { StateStore } from '../../src/core/state/store.ts';
import { backfill, buildCli, CLI, expectExit, json, ok, REPO, removeTempDirs, tempWorkspace, userError } from './cli-harness.ts';
import { tempDir } from './fixtures.ts';

before(buildCli);
after(removeTempDirs);

/** Whether a Node binary can load a driver (asked of that binary, in its own process). */
function loads(node: string, driver: SqliteDriverName): boolean {
  const probe =
    driver === 'node:sqlite'
      ? `new (require('node:sqlite').DatabaseSync)(':memory:').close()`
      : `new (require('better-sqlite3'))(':memory:').close()`;
  return spawnSync(node, ['-e', probe], { cwd: REPO, stdio: 'ignore' }).status === 0;
}

/**
 * A Node binary whose runtime uses `driver`: the one running the tests, another `node` on PATH,
 * or (for node:sqlite) the Node 24 of scripts/node24.sh. Throws when there is none: the
 * cross-driver tests never pass by skipping.
 */
function runtimeFor(driver: SqliteDriverName): string {
  const candidates = [process.execPath, ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'node'))];
  for (const node of new Set(candidates)) {
    if (!existsSync(node)) continue;
    // node:sqlite is tried first, so a runtime uses better-sqlite3 only when it lacks node:sqlite.
    if (driver === 'node:sqlite' ? loads(node, driver) : !loads(node, 'node:sqlite') && loads(node, driver)) return node;
  }
  if (driver === 'node:sqlite') {
    const bin = execFileSync('bash', [path.join(REPO, 'scripts', 'node24.sh')], { encoding: 'utf8' }).trim();
    return path.join(bin, 'node');
  }
  throw new Error(
    'no Node on PATH loads better-sqlite3 without having node:sqlite (a Node 20 with npm ci run in this repo): the cross-driver tests need both runtimes',
  );
}

const builtIn = loads(process.execPath, 'node:sqlite');

describe('driver choice', () => {
  it('the store opens with node:sqlite where the runtime has it, else with better-sqlite3', () => {
    const store = StateStore.open(path.join(tempDir('backfill-driver-'), 'state.db'));
    assert.equal(store.db.driver, builtIn ? 'node:sqlite' : 'better-sqlite3');
    assert.match(store.driverDescription, /^(node:sqlite|better-sqlite3) \(SQLite 3\.\d+\.\d+\)$/);
    store.close();
  });

  it('a driver forced with BACKFILL_SQLITE_DRIVER is used, or refused in one line naming it', () => {
    const dir = tempWorkspace({ 'a.assets.yaml': 'assets:\n  a:\n    run: "true"\n' }, 'backfill-driver-');
    for (const driver of ['node:sqlite', 'better-sqlite3'] as const) {
      const env = { BACKFILL_SQLITE_DRIVER: driver };
      if (loads(process.execPath, driver)) {
        assert.match(ok(['--version'], { env }), new RegExp(`through ${driver} \\(SQLite`));
      } else {
        const line = userError(['status'], { cwd: dir, env });
        assert.match(
          line,
          new RegExp(
            `the SQLite driver ${driver} \\(forced by BACKFILL_SQLITE_DRIVER\\) cannot be loaded by Node ${process.versions.node}`,
          ),
        );
        assert.doesNotMatch(line, /\n\s+at /);
      }
    }
    assert.match(
      userError(['status'], { cwd: dir, env: { BACKFILL_SQLITE_DRIVER: 'sqlite3' } }),
      /BACKFILL_SQLITE_DRIVER must be one of node:sqlite, better-sqlite3/,
    );
  });

  it('a CLI without better-sqlite3 (npm ci on a machine without a C++ toolchain) works where Node has SQLite built in, and says what to install where not', () => {
    // The bundle copied where no node_modules can be found: better-sqlite3 cannot be required.
    const alone = path.join(mkdtempSync(path.join(tmpdir(), 'backfill-cli-alone-')), 'cli.js');
    copyFileSync(CLI, alone);
    const dir = tempWorkspace(
      { 'a.assets.yaml': 'assets:\n  a:\n    partitions: {daily: {start: 2024-01-01}}\n    run: "true"\n' },
      'backfill-driver-',
    );
    const r = spawnSync(process.execPath, [alone, 'status', 'a', '--now', '2024-01-03', '--json'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    if (builtIn) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { assets: Array<{ counts: { missing: number } }> }).assets[0]!.counts.missing, 2);
    } else {
      assert.equal(r.status, 2, r.stdout + r.stderr);
      const line = r.stderr.trim();
      assert.equal(line.split('\n').length, 1, line);
      assert.match(line, /^backfill: no SQLite driver can be loaded by Node \S+: it has no built-in node:sqlite/);
      assert.match(
        line,
        /Use Node 22\.13 or newer, which has SQLite built in, or install better-sqlite3 for this Node: npm install better-sqlite3@12\.11\.1 \(it compiles with python3, make and g\+\+: sudo apt-get install -y python3 make g\+\+\)$/,
      );
    }
  });

  it('errors of both drivers carry SQLite result codes the store explains', () => {
    const file = path.join(tempDir('backfill-driver-'), 'x.db');
    const db = connect(file, { timeoutMs: 0 });
    db.exec('CREATE TABLE t (x UNIQUE)');
    db.exec('INSERT INTO t VALUES (1)');
    assert.throws(
      () => db.exec('INSERT INTO t VALUES (1)'),
      (e) => sqliteErrorCode(e) === 'SQLITE_CONSTRAINT',
    );
    assert.throws(
      () => db.exec('SELEKT 1'),
      (e) => sqliteErrorCode(e) === 'SQLITE_ERROR',
    );
    assert.equal(sqliteErrorCode(new Error('not sqlite')), undefined);
    db.close();
  });
});

describe('one database, both drivers', () => {
  let betterNode: string;
  let builtinNode: string;
  before(() => {
    betterNode = runtimeFor('better-sqlite3');
    builtinNode = runtimeFor('node:sqlite');
  });

  /** Runs test/fixtures/record-worker.ts under `node`: `count` partitions of `asset`, one transaction each. */
  function recordWorker(node: string, file: string, asset: string, count: number): Promise<number> {
    const worker = path.join(REPO, 'test', 'fixtures', 'record-worker.ts');
    return new Promise((resolve) => {
      const child = spawn(node, ['--import', 'tsx', worker, file, asset, String(count)], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('exit', (code) => resolve(code ?? -1));
    });
  }

  it('a writer on each driver at once, creating the file together: every record lands once, and both read the same state', async () => {
    for (let round = 0; round < 2; round++) {
      const file = path.join(tempDir('backfill-two-drivers-'), '.backfill', 'state.db');
      const codes = await Promise.all([
        recordWorker(betterNode, file, 'from_better', 150),
        recordWorker(builtinNode, file, 'from_builtin', 150),
      ]);
      assert.deepEqual(codes, [0, 0]);
      const read = (node: string): string =>
        execFileSync(
          node,
          [
            '--import',
            'tsx',
            '-e',
            `const { StateStore } = require('./src/core/state/store.ts');
             const s = StateStore.open(process.argv[1]);
             const out = { driver: s.db.driver, assets: s.recordedAssets(), states: s.recordedAssets().map((a) => s.partitionStates(a).map((p) => [p.partition, p.lastStatus, p.successDataVersion])), attempts: s.history({ limit: 1000 }).length };
             s.close();
             console.log(JSON.stringify(out));`,
            file,
          ],
          { cwd: REPO, encoding: 'utf8' },
        );
      const viaBetter = JSON.parse(read(betterNode)) as { driver: string; assets: string[]; states: unknown[][]; attempts: number };
      const viaBuiltin = JSON.parse(read(builtinNode)) as typeof viaBetter;
      assert.equal(viaBetter.driver, 'better-sqlite3');
      assert.equal(viaBuiltin.driver, 'node:sqlite');
      assert.deepEqual(viaBetter.assets, ['from_better', 'from_builtin']);
      assert.equal(viaBetter.attempts, 300);
      assert.equal(viaBetter.states[1]!.length, 150);
      assert.deepEqual(viaBuiltin.assets, viaBetter.assets);
      assert.deepEqual(viaBuiltin.states, viaBetter.states);
    }
  });

  for (const creator of ['better-sqlite3', 'node:sqlite'] as const) {
    const other = creator === 'node:sqlite' ? 'better-sqlite3' : 'node:sqlite';
    it(`the CLI through ${other} resumes, runs and reports backfills in a database the CLI through ${creator} created`, () => {
      const dir = tempWorkspace(
        {
          'p.assets.yaml': `assets:
  days:
    partitions: {daily: {start: 2024-01-01}}
    run: sh job.sh {partition}
  weeks:
    partitions: {weekly: {start: 2024-01-01}}
    deps: [days]
    run: sh job.sh {partition}
`,
          'job.sh': 'echo "$BACKFILL_ASSET $1" >> runs.log\n',
        },
        'backfill-two-drivers-cli-',
      );
      const NOW = ['--now', '2024-01-22'];
      const nodeFor = (d: SqliteDriverName): string => (d === 'node:sqlite' ? builtinNode : betterNode);
      const first = { cwd: dir, append: NOW, node: nodeFor(creator) };
      const second = { cwd: dir, append: NOW, node: nodeFor(other) };
      assert.match(ok(['--version'], first), new RegExp(`through ${creator} `));
      assert.match(ok(['--version'], second), new RegExp(`through ${other} `));

      // The first creates the database and pauses after a sample; the second resumes it.
      const paused = expectExit(3, ['run', 'days', '--sample', '2'], first);
      const id = /^backfill (\S+) paused after the sample/m.exec(paused)![1]!;
      ok(['resume', id], second);
      type Status = { assets: Array<{ asset: string; counts: Record<string, number> }> };
      const counts = (asset: string, o: typeof first): Record<string, number> => json<Status>(['status', asset], o).assets[0]!.counts;
      assert.equal(counts('days', second)['fresh'], 21);
      assert.deepEqual(counts('days', first), counts('days', second));

      // The second runs the downstream asset; the first sees the result and both backfills.
      ok(['run', 'weeks'], second);
      assert.equal(counts('weeks', first)['fresh'], 2);
      type Backfills = { backfills: Array<{ id: string; status: string }> };
      const listed = json<Backfills>(['backfills'], first).backfills;
      assert.deepEqual(
        listed.map((b) => b.status),
        ['succeeded', 'succeeded'],
      );
      assert.ok(listed.some((b) => b.id === id));
      // Each partition ran once: nothing was run again by the other runtime.
      const lines = readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 23);
      assert.equal(new Set(lines).size, 23);
      assert.equal(backfill(['status'], first).code, 0);
    });
  }
});
