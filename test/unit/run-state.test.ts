// The backfill records the runner works on, the same on both kinds of state database: a
// workspace's SQLite file (LocalRunState) and a team's PostgreSQL (TeamRunState, against a
// throw-away server from test/pg/local-pg.sh). Two stores on one database stand for two
// processes (two machines on the team database).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NewBackfill } from '../../src/core/state/backfills.ts';
import { PostgresStore } from '../../src/core/state/postgres.ts';
import { LocalRunState, type RunState, type TaskStart } from '../../src/core/state/runState.ts';
import { StateStore } from '../../src/core/state/store.ts';
import { TeamRunState } from '../../src/core/state/teamRunState.ts';
import { startPostgres, type TestPostgres } from '../pg/harness.ts';
import { removeTempDirs, tempDir } from './fixtures.ts';

let server: TestPostgres;
const closers: Array<() => Promise<void>> = [];

before(() => {
  server = startPostgres();
  process.env['PGPASSWORD'] = server.password;
});
after(async () => {
  for (const c of closers) await c().catch(() => {});
  server?.stop();
  removeTempDirs();
});

/** Two stores on one new database of each kind. */
const KINDS: Record<string, () => Promise<[RunState, RunState]>> = {
  sqlite: async () => {
    const file = path.join(tempDir('backfill-runstate-'), 'state.db');
    const pair: [RunState, RunState] = [new LocalRunState(StateStore.open(file)), new LocalRunState(StateStore.open(file))];
    for (const s of pair) closers.push(() => s.close());
    return pair;
  },
  postgres: async () => {
    const url = await server.database(`runstate_${Date.now() % 1e6}`);
    const root = tempDir('backfill-runstate-pg-');
    const pair: [RunState, RunState] = [
      new TeamRunState(await PostgresStore.open(url, { project: 'p' }), root),
      new TeamRunState(await PostgresStore.open(url, { project: 'p' }), root),
    ];
    for (const s of pair) closers.push(() => s.close());
    return pair;
  },
};

function backfill(id: string, keys: string[]): NewBackfill {
  return {
    id,
    createdAt: Date.now(),
    description: `days ${keys.join(' ')}`,
    workspace: '/ws',
    options: { concurrency: 2 },
    pid: process.pid,
    tasks: keys.map((k, i) => ({ id: `t${i + 1}`, asset: 'days', partitions: [k], command: `echo ${k}`, cwd: '/ws', env: {}, after: [] })),
  };
}
function start(backfillId: string, taskId: string, key: string, tryNo = 1, builtSince?: TaskStart['builtSince']): TaskStart {
  return {
    taskId,
    tryNo,
    at: Date.now(),
    asset: 'days',
    keys: [key],
    attempts: [{ asset: 'days', partition: key, runId: backfillId, startedAt: Date.now(), codeVersion: tryNo === 2 ? 'c2' : 'c1' }],
    ...(builtSince ? { builtSince } : {}),
  };
}

for (const [kind, open] of Object.entries(KINDS)) {
  describe(`backfill records on ${kind}`, { timeout: 60_000 }, () => {
    it('stores backfills and tasks, finds them by prefix, and keeps options and counts', async () => {
      const [s] = await open();
      await s.create(backfill('bf-20240101-000000-aaaa', ['2024-01-01', '2024-01-02']));
      await s.create(backfill('bf-20240101-000000-aabb', ['2024-01-03']));
      assert.equal(await s.resolve('bf-20240101-000000-aaaa'), 'bf-20240101-000000-aaaa');
      assert.equal(await s.resolve('bf-20240101-000000-aab'), 'bf-20240101-000000-aabb');
      assert.equal(await s.resolve('bf-20240101-000000-aa'), null, 'an ambiguous prefix');
      assert.equal(await s.resolve('bf-2024%'), null, 'LIKE wildcards are not wildcards');
      const tasks = await s.tasks('bf-20240101-000000-aaaa');
      assert.deepEqual(
        tasks.map((t) => [t.id, t.partitions, t.status, t.command, t.tries]),
        [
          ['t1', ['2024-01-01'], 'pending', 'echo 2024-01-01', 0],
          ['t2', ['2024-01-02'], 'pending', 'echo 2024-01-02', 0],
        ],
      );
      await s.setOption('bf-20240101-000000-aaaa', 'maxCost', 12.5);
      const b = (await s.get('bf-20240101-000000-aaaa'))!;
      assert.deepEqual(b.options, { concurrency: 2, maxCost: 12.5 });
      assert.equal(b.counts.pending, 2);
      assert.equal(b.partitionCounts.pending, 2);
      assert.equal(b.status, 'running');
      assert.ok(s.alive(b), 'this process, beating');
      assert.deepEqual(
        (await s.list()).map((x) => x.id),
        ['bf-20240101-000000-aabb', 'bf-20240101-000000-aaaa'],
      );
      assert.equal(await s.delete('bf-20240101-000000-aabb'), true);
      assert.equal(await s.get('bf-20240101-000000-aabb'), null);
    });

    it('gives a partition to one backfill at a time, frees it when the task ends, and knows what another run built since', async () => {
      const [a, b] = await open();
      await a.create(backfill('bf-a', ['2024-01-01', '2024-01-02']));
      await b.create(backfill('bf-b', ['2024-01-02', '2024-01-03']));
      const since = await a.sequence();
      const started = await a.startTasks('bf-a', [start('bf-a', 't1', '2024-01-01'), start('bf-a', 't2', '2024-01-02')]);
      const ids = started.get('t2');
      assert.ok(ids && 'ids' in ids && ids.ids.length === 1);
      // The other backfill: 2024-01-02 is taken (and by whom), 2024-01-03 is free.
      const other = await b.startTasks('bf-b', [
        start('bf-b', 't1', '2024-01-02', 1, { since, code: 'c1' }),
        start('bf-b', 't2', '2024-01-03'),
      ]);
      const busy = other.get('t1');
      assert.ok(busy && 'busy' in busy, JSON.stringify([...other]));
      assert.equal(busy.busy.get('2024-01-02')!.backfill, 'bf-a');
      assert.match(busy.busy.get('2024-01-02')!.by, /^(process \d+|\S+@\S+)$/);
      assert.ok('ids' in other.get('t2')!);
      assert.deepEqual([...(await b.runningElsewhere('days', ['2024-01-01', '2024-01-02', '2024-01-03'], 'bf-b')).keys()].sort(), [
        '2024-01-01',
        '2024-01-02',
      ]);
      // bf-a's task ends (succeeded): the partition is free, and built since bf-b was planned.
      await a.finishTask('bf-a', 't2', {
        status: 'succeeded',
        at: Date.now(),
        attempts: [{ id: ids.ids[0]!, result: { status: 'success', endedAt: Date.now(), dataVersion: 'v1' } }],
      });
      const again = await b.startTasks('bf-b', [start('bf-b', 't1', '2024-01-02', 1, { since, code: 'c1' })]);
      assert.deepEqual(again.get('t1'), { builtBy: 'bf-a' });
      const t1 = (await b.tasks('bf-b'))[0]!;
      assert.equal(t1.status, 'succeeded');
      assert.equal(t1.message, 'materialized meanwhile by backfill bf-a');
      // Built with other code: not taken; it starts.
      const other2 = await a.startTasks('bf-a', [start('bf-a', 't2', '2024-01-02', 2, { since, code: 'c2' })]);
      assert.ok('ids' in other2.get('t2')!);
    });

    it('a Slurm job whose runner died holds its partition against another backfill', async () => {
      const [a, b] = await open();
      await a.create({ ...backfill('bf-slurm', ['2024-01-01']), pid: 999_999_999 });
      await b.create(backfill('bf-other', ['2024-01-01']));
      await a.startTasks('bf-slurm', [start('bf-slurm', 't1', '2024-01-01')]);
      await a.setTaskJobs('bf-slurm', new Map([['t1', '999_0']]));
      await a.setStatus('bf-slurm', 'running', { pid: 999_999_999 });
      await b.recoverInterrupted(); // its runner is gone: interrupted, the Slurm task still running
      assert.equal((await b.get('bf-slurm'))!.status, 'interrupted');
      const r = await b.startTasks('bf-other', [start('bf-other', 't1', '2024-01-01')]);
      assert.deepEqual(r.get('t1'), { busy: new Map([['2024-01-01', { backfill: 'bf-slurm', by: 'Slurm job 999_0' }]]) });
      assert.deepEqual(
        [...(await b.runningElsewhere('days', ['2024-01-01'], 'bf-other'))],
        [['2024-01-01', { backfill: 'bf-slurm', by: 'Slurm job 999_0' }]],
      );
    });

    it('a backfill whose runner is gone becomes interrupted: its running tasks pending, their attempts canceled', async () => {
      const [s] = await open();
      await s.create({ ...backfill('bf-dead', ['2024-01-01']), pid: 999_999_999 });
      const r = await s.startTasks('bf-dead', [start('bf-dead', 't1', '2024-01-01')]);
      const id = (r.get('t1') as { ids: number[] }).ids[0]!;
      await s.setStatus('bf-dead', 'running', { pid: 999_999_999 });
      assert.deepEqual(await s.recoverInterrupted(), ['bf-dead']);
      assert.equal((await s.get('bf-dead'))!.status, 'interrupted');
      assert.equal((await s.tasks('bf-dead'))[0]!.status, 'pending');
      assert.equal((await s.attempt(id))!.status, 'canceled');
      assert.equal(await s.reset('bf-dead', ['pending', 'failed']), 1);
    });
  });
}

describe('backfill records on postgres: a runner cut off from the server', { timeout: 60_000 }, () => {
  it('taken for dead by another machine meanwhile, still records what its task did when it is back', async () => {
    const [mine, theirs] = await KINDS['postgres']!();
    await mine.create(backfill('bf-cut', ['2024-01-01']));
    const r = await mine.startTasks('bf-cut', [start('bf-cut', 't1', '2024-01-01')]);
    const id = (r.get('t1') as { ids: number[] }).ids[0]!;
    // Another machine's recovery: the runner stopped beating, so its attempt is canceled and its task pending.
    await theirs.interrupt('bf-cut');
    assert.equal((await theirs.attempt(id))!.status, 'canceled');
    // The runner is back: its command had succeeded.
    await mine.finishTask('bf-cut', 't1', {
      status: 'succeeded',
      at: Date.now(),
      attempts: [{ id, result: { status: 'success', endedAt: Date.now(), dataVersion: 'v1' } }],
    });
    assert.equal((await theirs.attempt(id))!.status, 'success');
    assert.equal((await theirs.tasks('bf-cut'))[0]!.status, 'succeeded');
    // Written twice (its answer lost the first time): still one success, unchanged.
    const before = await theirs.attempt(id);
    await mine.finishTask('bf-cut', 't1', {
      status: 'succeeded',
      at: Date.now() + 5,
      attempts: [{ id, result: { status: 'success', endedAt: Date.now() + 5, dataVersion: 'v2' } }],
    });
    assert.deepEqual(await theirs.attempt(id), before);
  });
});
