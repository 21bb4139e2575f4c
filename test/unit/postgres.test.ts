// The team state store against a real PostgreSQL (test/pg/local-pg.sh: a throw-away server
// started for this file, password authentication over TCP as on a team's server).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../src/core/diagnostics.ts';
import { copyAttempts } from '../../src/core/state/copy.ts';
import { PG_SCHEMA_VERSION, PostgresStore, redactUrl, type LeaseHolder } from '../../src/core/state/postgres.ts';
import { normalizeRemote, projectKey } from '../../src/core/state/project.ts';
import { F, STATUS_CODES, type AssetSnapshot } from '../../src/core/state/snapshot.ts';
import { StateStore, type AttemptInput } from '../../src/core/state/store.ts';
import { startPostgres, type TestPostgres } from '../pg/harness.ts';
import { backfill, buildCli, expectExit, json, ok, type CliOptions } from './cli-harness.ts';
import { removeTempDirs, tempDir, tempWorkspace } from './fixtures.ts';

let server: TestPostgres;
const opened: PostgresStore[] = [];
async function open(url: string, project = 'p'): Promise<PostgresStore> {
  const s = await PostgresStore.open(url, { project, connectTimeoutMs: 5000 });
  opened.push(s);
  return s;
}
async function openError(url: string, project = 'p'): Promise<UserError> {
  try {
    await (await PostgresStore.open(url, { project, connectTimeoutMs: 3000 })).close();
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    return e;
  }
  assert.fail('expected the store to refuse');
}
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });
}
/** A snapshot as comparable rows: partition → its latest status and latest success. */
function states(snap: AssetSnapshot): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  snap.keys.forEach((k, r) => {
    out[k] = {
      last: STATUS_CODES[snap.get(r, F.lastStatus)],
      lastStartedAt: snap.get(r, F.lastStartedAt),
      lastEndedAt: snap.get(r, F.lastEndedAt),
      successEndedAt: snap.get(r, F.successEndedAt),
      code: snap.string(r, F.successCodeVersion),
      deps: snap.string(r, F.successDeps),
      data: snap.string(r, F.successDataVersion),
    };
  });
  return out;
}

before(() => {
  server = startPostgres();
  process.env['PGPASSWORD'] = server.password;
});
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  server?.stop();
  delete process.env['PGPASSWORD'];
  removeTempDirs();
});

describe('PostgreSQL state store', { timeout: 120_000 }, () => {
  it('creates its tables once, also when several processes connect to a new database at once', async () => {
    const url = await server.database('fresh');
    const stores = await Promise.all([open(url), open(url), open(url)]);
    const v = await stores[0]!.query(`SELECT version FROM backfill_schema`);
    assert.deepEqual(v.rows, [{ version: PG_SCHEMA_VERSION }]);
    // Usable by all of them.
    await Promise.all(stores.map((s, i) => s.record([{ asset: 'a', partition: `k${i}`, startedAt: 1, endedAt: 2, status: 'success' }])));
    assert.equal((await stores[1]!.snapshot('a')).size, 3);
  });

  it('keeps the same latest state as the SQLite store for the same attempts (out of order, retries, failures after success)', async () => {
    const pgStore = await open(server.url, 'semantics');
    const sqlite = StateStore.open(path.join(tempDir('backfill-pg-sem-'), 'state.db'));
    const both = async <T>(fn: (s: StateStore | PostgresStore) => T | Promise<T>): Promise<[T, T]> => [await fn(sqlite), await fn(pgStore)];
    const finished = (
      partition: string,
      startedAt: number,
      status: AttemptInput['status'],
      extra: Partial<AttemptInput> = {},
    ): AttemptInput => ({
      asset: 'events',
      partition,
      startedAt,
      endedAt: startedAt + 10,
      status,
      codeVersion: `c${startedAt}`,
      dataVersion: `d${startedAt}`,
      deps: ['b', 'a'],
      ...extra,
    });
    await both((s) => s.record([finished('2024-01-01', 100, 'success'), finished('2024-01-02', 100, 'failed')]));
    // A running attempt, then one that finishes later: the latest attempt wins, the success stays.
    const [idA, idB] = await both((s) => s.startAttempt({ asset: 'events', partition: '2024-01-01', startedAt: 200, codeVersion: 'c200' }));
    await both((s) => s.record([finished('2024-01-02', 300, 'success', { metadata: { rows: 5 } })]));
    await sqlite.finishAttempt(idA, { status: 'failed', endedAt: 400, exitCode: 2 });
    await pgStore.finishAttempt(idB, { status: 'failed', endedAt: 400, exitCode: 2 });
    // Finishing it again does nothing.
    assert.equal(sqlite.finishAttempt(idA, { status: 'success', endedAt: 500 }), null);
    assert.equal(await pgStore.finishAttempt(idB, { status: 'success', endedAt: 500 }), null);
    await both((s) => s.record([finished('2024-01-03', 600, 'canceled')]));
    const [a, b] = await both((s) => s.snapshot('events'));
    assert.deepEqual(states(b), states(a));
    assert.equal((states(b)['2024-01-01'] as { last: string }).last, 'failed');
    assert.equal((states(b)['2024-01-01'] as { code: string }).code, 'c100');
    assert.equal((states(b)['2024-01-02'] as { deps: string }).deps, 'a\nb');
    // History, newest first, with the same fields (ids and sequences are each store's own).
    const strip = (x: object) => {
      const { id: _id, startSeq: _s, endSeq: _e, ...rest } = x as Record<string, unknown>;
      return rest;
    };
    const [ha, hb] = await both((s) => s.history({ asset: 'events', partition: '2024-01-02' }));
    assert.deepEqual(hb.map(strip), ha.map(strip));
    assert.deepEqual(hb[0]!.metadata, { rows: 5 });
    // Sequences order the attempts as they happened: the later success ended after the earlier one started.
    const [x, y] = [hb[0]!, hb[1]!];
    assert.ok(x.startSeq > y.endSeq!, `${x.startSeq} > ${y.endSeq}`);
    // Copied in batches (a failure after a success of one partition within one batch), the states are the same.
    const copy = await open(server.url, 'semantics-copy');
    assert.deepEqual(await copyAttempts(sqlite, copy), { attempts: (await sqlite.history({ limit: 1000 })).length, assets: 1 });
    assert.deepEqual(states(await copy.snapshot('events')), states(a));
    const back = StateStore.open(path.join(tempDir('backfill-pg-back-'), 'state.db'));
    await copyAttempts(copy, back);
    assert.deepEqual(states(back.snapshot('events')), states(a));
    back.close();
    sqlite.close();
  });

  it('packs each asset’s states for fast reads, and loses no write that commits while it packs', async () => {
    const url = await server.database('packing');
    const open2 = async () => {
      const s = await PostgresStore.open(url, { project: 'team', compactAfter: 3 });
      opened.push(s);
      return s;
    };
    const [writerA, writerB, reader] = [await open2(), await open2(), await open2()];
    // Two machines write disjoint partitions of one asset, an attempt at a time (start, then
    // finish), while a third reads (and packs) over and over.
    const write = async (s: PostgresStore, prefix: string) => {
      for (let i = 0; i < 40; i++) {
        const id = await s.startAttempt({ asset: 'events', partition: `${prefix}${i % 15}`, startedAt: i, codeVersion: `c${i}` });
        await s.finishAttempt(id, { status: i % 4 === 0 ? 'failed' : 'success', endedAt: i + 1, dataVersion: `${prefix}-v${i}` });
      }
    };
    let reads = 0;
    let writing = true;
    const readLoop = (async () => {
      while (writing) {
        await reader.snapshot('events');
        reads++;
      }
    })();
    await Promise.all([write(writerA, 'a'), write(writerB, 'b')]);
    writing = false;
    await readLoop;
    assert.ok(reads > 5, `only ${reads} reads`);
    const packed = await reader.query(`SELECT upto_seq FROM asset_snapshot WHERE project = 'team' AND asset = 'events'`);
    assert.equal(packed.rows.length, 1, 'the asset was never packed');
    // What the rows say, partition by partition, is what a read through the packed form says.
    const rows = await reader.query(
      `SELECT partition, last_status, success_data_version FROM partition_state WHERE project = 'team' AND asset = 'events' ORDER BY partition`,
    );
    const snap = await reader.snapshot('events');
    const fromSnapshot = Object.fromEntries(
      Object.entries(states(snap)).map(([k, v]) => [k, [(v as { last: string }).last, (v as { data: string | null }).data]]),
    );
    assert.deepEqual(fromSnapshot, Object.fromEntries(rows.rows.map((r) => [r.partition, [r.last_status, r.success_data_version]])));
    assert.equal(Object.keys(fromSnapshot).length, 30);
  });

  it('copies nothing from a store with attempts still running (their outcome would be lost)', async () => {
    const local = StateStore.open(path.join(tempDir('backfill-copy-running-'), 'state.db'));
    try {
      local.record([{ asset: 'a', partition: 'k1', startedAt: 1, endedAt: 2, status: 'success' }]);
      local.startAttempt({ asset: 'a', partition: 'k2', startedAt: 3 });
      const team = await open(await server.database('copyrunning'));
      await assert.rejects(copyAttempts(local, team), /has 1 attempt still running: let the backfill finish .* nothing was copied/);
      assert.deepEqual(await team.recordedAssets(), []);
    } finally {
      local.close();
    }
  });

  it('keeps the projects of one database apart', async () => {
    const one = await open(server.url, 'github.com/acme/pipelines');
    const two = await open(server.url, 'github.com/acme/other');
    await one.record([{ asset: 'shared_name', partition: 'x', startedAt: 1, endedAt: 2, status: 'success', runId: 'r' }]);
    assert.equal((await two.snapshot('shared_name')).size, 0);
    assert.deepEqual(await two.recordedAssets(), []);
    assert.deepEqual(await two.history({ asset: 'shared_name' }), []);
    assert.deepEqual(await one.recordedAssets(), ['shared_name']);
    // Another clone of the same project (another machine) sees it.
    const clone = await open(server.url, 'github.com/acme/pipelines');
    assert.equal((await clone.snapshot('shared_name')).size, 1);
  });

  it('takes the password from PGPASSWORD or ~/.pgpass and says which is missing or wrong, never showing it', async () => {
    const url = server.url;
    const missing = await withEnv({ PGPASSWORD: undefined, PGPASSFILE: '/nonexistent/pgpass' }, () => openError(url));
    assert.match(missing.message, /asks for a password: set PGPASSWORD, or add a line for it to ~\/\.pgpass/);
    assert.ok(missing.message.includes(url), missing.message);
    const wrong = await withEnv({ PGPASSWORD: 'not-the-password' }, () => openError(url));
    assert.match(wrong.message, /refused the password: check PGPASSWORD or the line for this server in ~\/\.pgpass/);
    assert.ok(!wrong.message.includes('not-the-password'));
    // A password in a URL given to us is never repeated.
    const withSecret = url.replace('backfill@', 'backfill:hunter2@');
    assert.equal(redactUrl(withSecret), url);
    const e = await withEnv({ PGPASSWORD: undefined }, () => openError(withSecret.replace(/:\d+\//, ':1/')));
    assert.ok(!e.message.includes('hunter2'), e.message);
    // ~/.pgpass (PGPASSFILE), mode 600, as libpq reads it.
    const file = path.join(tempDir('backfill-pgpass-'), 'pgpass');
    const u = new URL(url);
    writeFileSync(file, `${u.hostname}:${u.port}:*:backfill:${server.password}\n`);
    chmodSync(file, 0o600);
    const s = await withEnv({ PGPASSWORD: undefined, PGPASSFILE: file }, () => open(url));
    assert.deepEqual(await s.recordedAssets(), []);
  });

  it('names the server without its password when it cannot be reached, and refuses a schema from a newer Backfill', async () => {
    const port = new URL(server.url).port;
    const nowhere = server.url.replace(`:${port}/`, ':1/');
    const e = await openError(nowhere);
    assert.match(
      e.message,
      /^cannot reach the state database postgres:\/\/backfill@127\.0\.0\.1:1\/backfill \(.*\): is the server running/,
    );
    const url = await server.database('newer');
    const s = await open(url);
    await s.query(`UPDATE backfill_schema SET version = 99`);
    const newer = await openError(url);
    assert.match(
      newer.message,
      new RegExp(`was written by a newer Backfill \\(schema 99; this one knows ${PG_SCHEMA_VERSION}\\): update Backfill`),
    );
    // Nothing was changed by the refusal.
    assert.deepEqual((await s.query(`SELECT version FROM backfill_schema`)).rows, [{ version: 99 }]);
  });

  it('leases each partition to one backfill at a time across machines; a lease that expires comes free', async () => {
    const url = await server.database('leases');
    const alice = await open(url, 'team');
    const bob = await open(url, 'team');
    const days = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ asset: 'events', partition: `2024-01-${String(from + i).padStart(2, '0')}` }));
    // Both at once, overlapping: every partition goes to exactly one of them.
    const [heldFromAlice, heldFromBob] = await Promise.all([
      alice.claim('bf-alice', 'alice@laptop', days(1, 20), 60_000),
      bob.claim('bf-bob', 'bob@desktop', days(11, 30), 60_000),
    ]);
    const owners = await alice.query(`SELECT partition, backfill_id FROM partition_leases ORDER BY partition`);
    assert.equal(owners.rows.length, 30);
    const byPartition = new Map(owners.rows.map((r) => [r.partition as string, r.backfill_id as string]));
    const overlap = days(11, 20).map((d) => d.partition);
    // What each was told is held by the other is exactly what the other got.
    const told = (h: LeaseHolder[]) => h.map((x) => x.partition).sort();
    assert.deepEqual(
      told(heldFromAlice),
      overlap.filter((p) => byPartition.get(p) === 'bf-bob'),
    );
    assert.deepEqual(
      told(heldFromBob),
      overlap.filter((p) => byPartition.get(p) === 'bf-alice'),
    );
    for (const h of [...heldFromAlice, ...heldFromBob]) assert.match(h.holder, /^(alice@laptop|bob@desktop)$/);
    // Renewing is claiming again: nothing changes hands.
    assert.deepEqual(told(await alice.claim('bf-alice', 'alice@laptop', days(1, 20), 60_000)), told(heldFromAlice));
    // A crashed runner's lease expires: the partition comes free.
    await alice.release('bf-alice');
    await alice.claim('bf-crashed', 'carol@server', days(1, 1), 200);
    assert.equal((await bob.claim('bf-bob', 'bob@desktop', days(1, 1), 60_000)).length, 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(await bob.claim('bf-bob', 'bob@desktop', days(1, 1), 60_000), []);
  });

  it('tells a listener in another process which assets changed, as the writes commit, and again after the server restarts', async () => {
    const url = await server.database('notify');
    const watcher = await open(url, 'team');
    const changes: (string[] | null)[] = [];
    const errors: (string | null)[] = [];
    const stop = watcher.listen(
      (assets) => changes.push(assets),
      (e) => errors.push(e),
    );
    await new Promise((r) => setTimeout(r, 300));
    const writer = path.join(tempDir('backfill-pg-writer-'), 'write.mts');
    mkdirSync(path.dirname(writer), { recursive: true });
    writeFileSync(
      writer,
      `import { PostgresStore } from ${JSON.stringify(path.resolve(__dirname, '../../src/core/state/postgres.ts'))};
const [url, project, asset] = process.argv.slice(2);
const s = await PostgresStore.open(url, { project });
await s.record([{ asset, partition: 'x', startedAt: 1, endedAt: 2, status: 'success' }]);
await s.close();
`,
    );
    const write = (project: string, asset: string) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', writer, url, project, asset], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => {
          if (code !== 0)
            console.error(
              err
                .split('\n')
                .filter((l) => /error|Error/.test(l))
                .slice(0, 3)
                .join('\n')
                .slice(0, 500),
            );
          resolve(code ?? -1);
        });
      });
    const waitFor = async (what: () => boolean, label: string, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!what()) {
        if (Date.now() > end) assert.fail(`${label}; changes: ${JSON.stringify(changes)}, errors: ${JSON.stringify(errors)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    assert.equal(await write('team', 'clean_events'), 0);
    const t0 = Date.now();
    await waitFor(() => changes.some((c) => c?.includes('clean_events')), 'no notification for clean_events');
    assert.ok(Date.now() - t0 < 2000);
    // Another project's writes are not ours.
    assert.equal(await write('someone-else', 'other_asset'), 0);
    assert.equal(await write('team', 'marker'), 0);
    await waitFor(() => changes.some((c) => c?.includes('marker')), 'no notification for marker');
    assert.ok(!changes.some((c) => c?.includes('other_asset')));
    // The server goes away and comes back: the listener says so, reconnects, and reports that anything may have changed.
    changes.length = 0;
    server.down();
    await waitFor(() => errors.some((e) => e !== null), 'no error while the server was down', 15_000);
    server.up();
    await waitFor(() => changes.includes(null), 'no "anything changed" after the server came back', 40_000);
    assert.equal(await write('team', 'after_restart'), 0);
    await waitFor(() => changes.some((c) => c?.includes('after_restart')), 'no notification after the restart');
    stop();
  });
});

describe('project keys', () => {
  it('are the same for clones over https and ssh, and differ per folder within a repository', () => {
    assert.equal(normalizeRemote('git@github.com:Acme/Pipelines.git'), 'github.com/acme/pipelines');
    assert.equal(normalizeRemote('https://user:token@github.com/acme/pipelines'), 'github.com/acme/pipelines');
    assert.equal(normalizeRemote('ssh://git@github.com:22/acme/pipelines.git/'), 'github.com/acme/pipelines');
    const repo = tempDir('backfill-project-');
    mkdirSync(path.join(repo, '.git'), { recursive: true });
    writeFileSync(
      path.join(repo, '.git', 'config'),
      '[core]\n\tbare = false\n[remote "origin"]\n\turl = git@github.com:acme/pipelines.git\n',
    );
    mkdirSync(path.join(repo, 'assets', 'ml'), { recursive: true });
    assert.deepEqual(projectKey(path.join(repo, 'assets', 'ml')), {
      key: 'github.com/acme/pipelines/assets/ml',
      source: 'git remote origin',
    });
    assert.equal(projectKey(repo).key, 'github.com/acme/pipelines');
    assert.equal(projectKey(repo, ' team-x ').key, 'team-x');
    const plain = tempDir('backfill-noproject-');
    assert.equal(projectKey(plain).key, path.basename(plain));
  });
});

describe('backfill --state postgres://… and state copy (the CLI)', { timeout: 180_000 }, () => {
  before(buildCli);
  const NOW = ['--now', '2024-01-10T12:00:00Z'];
  const YAML = `partitions:
  days: { daily: { start: 2024-01-01, end: 2024-01-09 } }
assets:
  raw:
    partitions: days
    run: sh job.sh raw {partition}
  clean:
    partitions: days
    deps: [raw]
    run: sh job.sh clean {partition}
`;
  let dir: string;
  let team: string;
  let env: NodeJS.ProcessEnv;
  const at = (extra: Partial<CliOptions> = {}): CliOptions => ({ cwd: dir, append: NOW, env, ...extra });
  const statusOf = (...state: string[]) =>
    json<{ assets: Array<{ asset: string; counts: Record<string, number> }> }>(['status', '--partitions', ...state], at());

  before(async () => {
    team = await server.database('cli');
    env = { PGPASSWORD: server.password };
    dir = tempWorkspace(
      {
        'pipeline.assets.yaml': YAML,
        'job.sh': 'if [ -f "fail-$1-$2" ]; then echo "boom" >&2; exit 1; fi\necho "ran $1 $2"\n',
      },
      'backfill-pg-cli-',
    );
    // A real history: days 1–5 of both, then raw again for days 4–5 (clean is stale there), and a failure on day 6.
    writeFileSync(path.join(dir, 'fail-clean-2024-01-06'), '');
    ok(['run', 'raw', '--downstream', '--from', '2024-01-01', '--to', '2024-01-05', '--concurrency', '2'], at());
    ok(['run', 'raw', '--from', '2024-01-04', '--to', '2024-01-05'], at());
    expectExit(1, ['run', 'clean', '--partition', '2024-01-06', '--with-missing-upstream'], at());
  });

  it('copies the history to PostgreSQL and back with every status the same, and reads status and history from it', () => {
    const local = statusOf();
    const copied = json<{ copied: { attempts: number }; verified: { partitions: number; same: boolean; counts: Record<string, number> } }>(
      ['state', 'copy', '--from', '.backfill/state.db', '--to', team],
      at(),
    );
    assert.equal(copied.verified.same, true);
    const partitions = local.assets.reduce((n, a) => n + Object.values(a.counts).reduce((x, y) => x + y, 0), 0);
    assert.equal(copied.verified.partitions, partitions);
    assert.ok(copied.verified.counts['stale']! >= 2 && copied.verified.counts['failed']! >= 1, JSON.stringify(copied.verified.counts));
    const localHistory = json<{ attempts: object[] }>(['history', '--limit', '1000'], at()).attempts;
    assert.equal(copied.copied.attempts, localHistory.length);
    // The same statuses and the same history, read from the team database.
    assert.deepEqual(statusOf('--state', team), local);
    const strip = (list: object[]) => list.map((a) => ({ ...a, id: 0 }));
    assert.deepEqual(
      strip(json<{ attempts: object[] }>(['history', '--limit', '1000', '--state', team], at()).attempts),
      strip(localHistory),
    );
    // Nothing is recorded twice: a second copy into it is refused, and changes nothing.
    const again = backfill(['state', 'copy', '--from', '.backfill/state.db', '--to', team], at());
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /already has a history for this project \(2 assets, e\.g\. clean\): copy into an empty state database/);
    assert.deepEqual(statusOf('--state', team), local);
    // And back into a new file.
    const back = ok(['state', 'copy', '--from', team, '--to', 'copy.db'], at());
    assert.match(
      back,
      /^copied \d+ attempts of 2 assets from postgres:\/\/backfill@127\.0\.0\.1:\d+\/cli to .*copy\.db in [\d.]+ s\nstatuses checked: the same for all 16 partitions/,
    );
    assert.deepEqual(statusOf('--state', 'copy.db'), local);
    // Another project in the same database sees nothing of it.
    assert.ok(statusOf('--state', team, '--project', 'another').assets.every((a) => a.counts['missing'] === 8));
    // A materialization done elsewhere, recorded into the team database: everyone's status has it.
    assert.match(ok(['record', 'raw', '2024-01-08', '--state', team], at()), /^recorded 1 partition of raw \(success\)$/m);
    const raw = (st: ReturnType<typeof statusOf>) => st.assets.find((a) => a.asset === 'raw')!.counts;
    assert.equal(raw(statusOf('--state', team))['fresh'], raw(local)['fresh']! + 1);
    const recorded = json<{ attempts: Array<{ status: string; partition: string }> }>(
      ['history', 'raw', '2024-01-08', '--state', team],
      at(),
    );
    assert.deepEqual(
      recorded.attempts.map((a) => [a.partition, a.status]),
      [['2024-01-08', 'success']],
    );
  });

  it('runs a backfill on the team database, explains a partition from it, and says where the password goes', () => {
    const out = ok(['run', 'raw', '--partition', '2024-01-07', '--state', team], at());
    assert.match(out, /✓ raw 2024-01-07/);
    const run = json<{ attempts: Array<{ partition: string; status: string; run_id: string }> }>(
      ['history', 'raw', '2024-01-07', '--state', team],
      at(),
    );
    assert.deepEqual(
      run.attempts.map((a) => [a.partition, a.status]),
      [['2024-01-07', 'success']],
    );
    const why = json<{ status: string; last_attempt: { run_id: string } | null }>(['why', 'raw', '2024-01-07', '--state', team], at());
    assert.equal(why.status, 'fresh');
    assert.match(why.last_attempt?.run_id ?? '', /^bf-/);
    const noPassword = backfill(['status', '--state', team], at({ env: { PGPASSWORD: '', PGPASSFILE: '/nonexistent' } }));
    assert.equal(noPassword.code, 2);
    assert.match(noPassword.stderr, /asks for a password: set PGPASSWORD, or add a line for it to ~\/\.pgpass/);
  });
});
