// Backfills run against a team's PostgreSQL (a throw-away server, test/pg/local-pg.sh) by the
// real CLI: two clones of a workspace ("two machines") sharing one project's state.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../pg/harness.ts';
import { backfill, buildCli, CLI, json, type Result } from './cli-harness.ts';
import { removeTempDirs, tempDir, tempWorkspace } from './fixtures.ts';

const NOW = '2024-02-01T00:00:00Z';
const YAML = `partitions:
  days: { daily: { start: 2024-01-01, end: 2024-01-31 } }
assets:
  days:
    partitions: days
    run: sh job.sh {partition}
`;
// Each run of a partition appends "start <key> <clone> <pid>" and "end …" to a log both clones share;
// a clone with a file named slow sleeps 30 s in its jobs.
const JOB = `echo "start $1 $(basename "$PWD") $$" >> "$RUNS"
if [ -f slow ]; then sleep 30; else sleep 0.4; fi
echo "end $1 $(basename "$PWD") $$" >> "$RUNS"
`;

let server: TestPostgres;
let url: string;
let runs: string;
let clones: [string, string];

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', BACKFILL_DEBUG: '', PGPASSWORD: server.password, RUNS: runs, ...extra };
}
/** The global options of both clones: the team database, one project. */
function team(): string[] {
  return ['--state', url, '--project', 'team-demo', '--now', NOW];
}
/** The CLI started in the background in a clone. */
function start(clone: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args, ...team()], { cwd: clone, env: env(extra), detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}
function cli(clone: string, args: string[], extra: NodeJS.ProcessEnv = {}): Result {
  return backfill([...args, ...team()], { cwd: clone, env: { PGPASSWORD: server.password, RUNS: runs, ...extra } });
}
function runLines(): Array<{ what: string; key: string; clone: string; pid: number }> {
  if (!existsSync(runs)) return [];
  return readFileSync(runs, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, key, clone, pid] = l.split(' ') as [string, string, string, string];
      return { what, key, clone, pid: Number(pid) };
    });
}
async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
function successes(clone: string, from: string, to: string): Map<string, number> {
  const h = json<{ attempts: Array<{ partition: string; status: string }> }>(['history', 'days', '--limit', '1000', ...team()], {
    cwd: clone,
    env: { PGPASSWORD: server.password },
  });
  const out = new Map<string, number>();
  for (const a of h.attempts)
    if (a.status === 'success' && a.partition >= from && a.partition <= to) out.set(a.partition, (out.get(a.partition) ?? 0) + 1);
  return out;
}
function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
function days(from: number, to: number): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d++) out.push(`2024-01-${String(d).padStart(2, '0')}`);
  return out;
}

before(async () => {
  buildCli();
  server = startPostgres();
  process.env['PGPASSWORD'] = server.password;
  url = await server.database('runs');
  runs = path.join(tempDir('backfill-pg-runs-'), 'runs.log');
  clones = [
    tempWorkspace({ 'a.assets.yaml': YAML, 'job.sh': JOB }, 'backfill-clone-a-'),
    tempWorkspace({ 'a.assets.yaml': YAML, 'job.sh': JOB }, 'backfill-clone-b-'),
  ];
});
after(() => {
  server?.stop();
  removeTempDirs();
});

describe('backfills on a team database (PostgreSQL)', { timeout: 240_000 }, () => {
  it('two machines backfilling overlapping ranges at once: every partition runs exactly once', async () => {
    const [a, b] = clones;
    const first = start(a, ['run', 'days', '--from', '2024-01-01', '--to', '2024-01-10', '--concurrency', '3']);
    const second = start(b, ['run', 'days', '--from', '2024-01-05', '--to', '2024-01-14', '--concurrency', '3']);
    const [ra, rb] = await Promise.all([first.done, second.done]);
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    const starts = runLines().filter((l) => l.what === 'start');
    assert.deepEqual(starts.map((l) => l.key).sort(), days(1, 14), 'each partition of both ranges ran once');
    // The overlap was built by one of them; the other waited for it, said by whom, and took its result.
    const waited = ra.stdout + rb.stdout;
    assert.match(waited, /waiting: partition 2024-01-(0[5-9]|10) is being run by backfill bf-\S+ \(\S+@\S+\)/);
    assert.match(waited, /✓ days 2024-01-(0[5-9]|10): materialized meanwhile by backfill bf-\S+/);
    assert.deepEqual(
      [...successes(a, '2024-01-01', '2024-01-14').values()],
      days(1, 14).map(() => 1),
    );
    // Both clones list both backfills, with who ran them.
    const list = json<{ backfills: Array<{ id: string; status: string; owner: string }> }>(['backfills', ...team()], {
      cwd: b,
      env: { PGPASSWORD: server.password },
    }).backfills;
    assert.equal(list.length, 2);
    assert.ok(
      list.every((x) => x.status === 'succeeded' && /^\S+@\S+$/.test(x.owner)),
      JSON.stringify(list),
    );
  });

  it('a runner killed with -9: its partitions wait for its lease to expire, then run elsewhere; a resume takes its own back at once', async () => {
    const [a, b] = clones;
    writeFileSync(path.join(a, 'slow'), '');
    const lease = { BACKFILL_LEASE_MS: '8000' };
    const dead = start(a, ['run', 'days', '--from', '2024-01-20', '--to', '2024-01-22', '--concurrency', '3'], lease);
    await until(
      'the three slow jobs',
      () => runLines().filter((l) => l.what === 'start' && l.key >= '2024-01-20' && l.key <= '2024-01-22').length === 3,
    );
    const id = /backfill (bf-\S+):/.exec(dead.output())![1]!;
    // The machine goes away: the runner and its jobs die at once.
    const jobs = runLines().filter((l) => l.what === 'start' && l.key >= '2024-01-20' && l.key <= '2024-01-22');
    process.kill(-dead.child.pid!, 'SIGKILL');
    for (const j of jobs) kill(j.pid);
    await dead.done;
    const killedAt = Date.now();
    // Another machine plans the same partitions: the plan says who runs them.
    const plan = cli(b, ['plan', 'days', '--from', '2024-01-20', '--to', '2024-01-22'], lease);
    assert.match(plan.stderr, new RegExp(`3 partitions of days are being run now by \\(\\S+@\\S+, backfill ${id}\\)`));
    // Or leaves them out, by choice.
    const skipping = cli(b, ['plan', 'days', '--from', '2024-01-19', '--to', '2024-01-22', '--skip-running'], lease);
    assert.equal(skipping.code, 0, skipping.stdout + skipping.stderr);
    assert.match(skipping.stdout, /^plan: 1 task, 1 partition of 1 asset$/m);
    assert.match(
      skipping.stderr,
      new RegExp(
        `left out 3 partitions of days \\(2024-01-20, 2024-01-21, 2024-01-22\\): being run now by \\(\\S+@\\S+, backfill ${id}\\) \\(--skip-running\\)`,
      ),
    );
    // It runs them once the dead runner's lease has expired.
    const other = cli(b, ['run', 'days', '--from', '2024-01-20', '--to', '2024-01-22', '--concurrency', '3'], lease);
    assert.equal(other.code, 0, other.stdout + other.stderr);
    assert.match(other.stdout, new RegExp(`waiting: partition 2024-01-2\\d is being run by backfill ${id} \\(\\S+@\\S+\\)`));
    assert.ok(Date.now() - killedAt >= 6000, 'the partitions came free before the lease expired');
    assert.deepEqual([...successes(b, '2024-01-20', '2024-01-22').keys()].sort(), days(20, 22));

    // A runner killed, then resumed at once (its lease still valid for a minute): it takes its partitions back.
    const again = start(a, ['run', 'days', '--from', '2024-01-25', '--to', '2024-01-26', '--concurrency', '2']);
    await until('the two slow jobs', () => runLines().filter((l) => l.what === 'start' && l.key >= '2024-01-25').length === 2);
    const id2 = /backfill (bf-\S+):/.exec(again.output())![1]!;
    const jobs2 = runLines().filter((l) => l.what === 'start' && l.key >= '2024-01-25');
    process.kill(-again.child.pid!, 'SIGKILL');
    for (const j of jobs2) kill(j.pid);
    await again.done;
    rmSync(path.join(a, 'slow'));
    const t0 = Date.now();
    const resumed = cli(a, ['resume', id2]);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.ok(Date.now() - t0 < 30_000, 'the resume waited for its own lease');
    assert.doesNotMatch(resumed.stdout, /waiting:/);
    assert.deepEqual([...successes(a, '2024-01-25', '2024-01-26').keys()].sort(), days(25, 26));
  });

  it('the server stopped and started again mid-backfill: tasks run on, their results are written when it is back, none twice', async () => {
    const [a] = clones;
    const run = start(a, ['run', 'days', '--from', '2024-01-27', '--to', '2024-01-30', '--concurrency', '2']);
    await until('the first jobs', () => runLines().some((l) => l.what === 'start' && l.key >= '2024-01-27'));
    server.down();
    await new Promise((r) => setTimeout(r, 2500));
    server.up();
    const r = await run.done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /cannot reach the state database postgres:\/\/backfill@127\.0\.0\.1:\d+\/runs .* — running tasks go on; their results are kept and written when it is back/,
    );
    assert.match(r.stderr, /the state database postgres:\/\/backfill@127\.0\.0\.1:\d+\/runs is back after \d+ s: results written/);
    // Every partition ran once and has one success; no attempt was recorded twice.
    const ran = runLines().filter((l) => l.what === 'start' && l.key >= '2024-01-27');
    assert.deepEqual(ran.map((l) => l.key).sort(), days(27, 30));
    const h = json<{ attempts: Array<{ partition: string; status: string }> }>(['history', 'days', '--limit', '1000', ...team()], {
      cwd: a,
      env: { PGPASSWORD: server.password },
    }).attempts.filter((x) => x.partition >= '2024-01-27');
    assert.deepEqual(
      h.map((x) => `${x.partition} ${x.status}`).sort(),
      days(27, 30).map((d) => `${d} success`),
    );
  });
});
