// Reliability of runs that go wrong (#16), through the real CLI: a runner killed right after it
// started its commands, and a resume after the command was fixed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StateStore } from '../../src/core/state/store.ts';
import { backfill, buildCli, CLI, json, removeTempDirs, tempWorkspace } from './cli-harness.ts';

const NOW = ['--now', '2024-01-10T00:00:00Z'];

before(buildCli);
after(removeTempDirs);

/** Waits (polling) until `done` holds, failing with `what` after `ms`. */
async function until(done: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!done()) {
    assert.ok(Date.now() - t0 < ms, what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A workspace whose asset `days` has daily partitions from 2024-01-01 to `end` (excluded), each run by `sh job.sh KEY`. */
function daysWorkspace(prefix: string, job: string, end = '2024-01-02'): string {
  return tempWorkspace(
    {
      'a.assets.yaml': `assets:\n  days:\n    partitions: { daily: { start: 2024-01-01, end: ${end} } }\n    run: sh job.sh {partition}\n`,
      'job.sh': job,
    },
    prefix,
  );
}

/** `backfill run days …` started in the background in `dir`, its output collected. */
function startRun(dir: string, ...args: string[]) {
  const child = spawn(process.execPath, [CLI, 'run', 'days', ...args, ...NOW], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  const output = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (output.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output.err += d.toString()));
  return { child, output, closed: new Promise<number | null>((r) => child.on('close', r)) };
}

/** The lines of a file the jobs write, split at spaces (none before it exists). */
function fileLines(file: string): string[][] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '))
    : [];
}

/** The pid the first job wrote to pids.log, once it did. */
async function firstPid(dir: string): Promise<number> {
  const file = path.join(dir, 'pids.log');
  await until(() => fileLines(file).length > 0, 'the command did not start');
  return Number(fileLines(file)[0]![0]);
}

/** Whether a process runs (a zombie waiting to be reaped does not: in a container nobody may reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('runs that go wrong', { timeout: 60_000 }, () => {
  it('a runner killed within a second of starting its commands: the resume stops them first, so nothing runs twice at once', async () => {
    const dir = daysWorkspace('backfill-kill9-', 'echo "start $1 $$" >> runs.log\nsleep 3\necho "end $1 $$" >> runs.log\n', '2024-01-04');
    const lines = () => fileLines(path.join(dir, 'runs.log'));
    const { child: runner, output, closed } = startRun(dir, '--concurrency', '3');
    const t0 = Date.now();
    await until(() => lines().filter((l) => l[0] === 'start').length >= 3, 'the commands did not start');
    runner.kill('SIGKILL');
    const startedToKilled = Date.now() - t0;
    await closed;
    const first = lines().map((l) => Number(l[2]));
    assert.ok(first.every(alive), 'the commands outlive their runner');
    const id = /^backfill (bf-\S+):/m.exec(output.out)![1]!;
    const resumed = backfill(['resume', id, ...NOW], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    // The first run's commands were stopped by the resume, before it ran its own: none of them ended.
    const all = lines();
    assert.deepEqual(
      all.filter((l) => l[0] === 'end' && first.includes(Number(l[2]))),
      [],
      `a command the dead runner left ran on (killed ${startedToKilled} ms after the first start)`,
    );
    assert.ok(first.every((pid) => !alive(pid)));
    assert.deepEqual(
      all
        .filter((l) => l[0] === 'end')
        .map((l) => l[1])
        .sort(),
      ['2024-01-01', '2024-01-02', '2024-01-03'],
    );
  });

  it('a resume after run: was fixed runs the fixed command, and the partitions are fresh with the code that ran', () => {
    const yaml = (script: string) =>
      `assets:\n  days:\n    partitions: { daily: { start: 2024-01-01, end: 2024-01-03 } }\n    run: sh ${script} {partition}\n`;
    const dir = tempWorkspace(
      {
        'a.assets.yaml': yaml('old.sh'),
        'old.sh': 'echo "old $1" >> runs.log; exit 1\n',
        'new.sh': 'echo "new $1" >> runs.log\n',
      },
      'backfill-fixed-',
    );
    const failed = backfill(['run', 'days', ...NOW], { cwd: dir });
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    const id = /^backfill (bf-\S+):/m.exec(failed.stdout)![1]!;
    writeFileSync(path.join(dir, 'a.assets.yaml'), yaml('new.sh'));
    const resumed = backfill(['resume', id, ...NOW], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stderr, /2 tasks run the current run: of days \(changed since the backfill was planned\)/);
    assert.deepEqual(readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n').sort(), [
      'new 2024-01-01',
      'new 2024-01-02',
      'old 2024-01-01',
      'old 2024-01-02',
    ]);
    const st = json<{ assets: Array<{ asset: string; counts: Record<string, number> }> }>(['status', ...NOW], { cwd: dir });
    assert.equal(st.assets[0]!.counts['fresh'], 2, JSON.stringify(st));
  });
});

describe('a run whose terminal or reader goes away', { timeout: 60_000 }, () => {
  const start = (dir: string) => startRun(dir, '--concurrency', '3');
  const workspace = (prefix: string) =>
    daysWorkspace(prefix, 'echo "start $1 $$" >> runs.log\necho "running $1"\nsleep 30\n', '2024-01-04');
  const pids = (dir: string) => fileLines(path.join(dir, 'runs.log')).map((l) => Number(l[2]));
  async function jobsStarted(dir: string): Promise<number[]> {
    await until(() => pids(dir).length >= 3, 'the commands did not start');
    return pids(dir);
  }
  /** The run ended as a cancel does: exit status 1, its commands stopped, the backfill canceled. */
  async function canceled(dir: string, runner: ReturnType<typeof start>, jobs: number[]): Promise<void> {
    const code = await runner.closed;
    assert.equal(code, 1);
    assert.ok(
      jobs.every((pid) => !alive(pid)),
      'commands left running',
    );
    assert.equal(json<{ backfills: Array<{ status: string }> }>(['backfills', ...NOW], { cwd: dir }).backfills[0]!.status, 'canceled');
  }

  it('SIGHUP (the terminal closed) cancels: the commands are stopped, the exit status is not 0', async () => {
    const dir = workspace('backfill-hup-');
    const runner = start(dir);
    const jobs = await jobsStarted(dir);
    runner.child.kill('SIGHUP');
    await canceled(dir, runner, jobs);
  });

  it('`backfill run … | head -1`: the reader going away cancels, the commands are stopped, the exit status is not 0', async () => {
    const dir = workspace('backfill-epipe-');
    const runner = start(dir);
    await new Promise((r) => runner.child.stdout.once('data', r));
    runner.child.stdout.destroy(); // as head does after its line
    const jobs = await jobsStarted(dir);
    await canceled(dir, runner, jobs);
  });
});

describe('a state database that goes away', { timeout: 60_000 }, () => {
  const workspace = (prefix: string) => daysWorkspace(prefix, 'echo "start $1" >> runs.log\nsleep 1\n', '2024-01-05');

  for (const [what, files] of [
    ['the database file', ['state.db', 'state.db-wal', 'state.db-shm']],
    ['its write-ahead log', ['state.db-wal']],
  ] as const)
    it(`${what} deleted during a run: the run stops and says what was lost, instead of recording into nothing`, async () => {
      const dir = workspace('backfill-deleted-');
      const { output, closed } = startRun(dir, '--concurrency', '1');
      await until(() => existsSync(path.join(dir, 'runs.log')), 'the first command did not start');
      for (const f of files) rmSync(path.join(dir, '.backfill', f), { force: true });
      const code = await closed;
      assert.equal(code, 2, output.err);
      assert.match(
        output.err,
        what === 'the database file'
          ? /the state database \S+state\.db was deleted while in use: what was recorded since it was opened is lost with it\nbackfill bf-\S+ stopped and its commands with it/
          : /the state database's write-ahead log \S+state\.db-wal was deleted while in use: what was recorded since it was opened is lost with it/,
      );
      // It stopped at the first result it could not record: the other partitions did not run.
      assert.equal(readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n').length, 1);
    });

  it('an empty (0-byte) state.db is not taken for an empty history: one message, the file left as it is', () => {
    const dir = workspace('backfill-empty-db-');
    const file = path.join(dir, '.backfill', 'state.db');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const r = backfill(['status', ...NOW], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /the state database \S+state\.db is an empty file \(0 bytes\): its history is gone, or it never was a database\. .*mv /,
    );
    assert.equal(statSync(file).size, 0);
  });
});

describe('a command that traps SIGTERM', { timeout: 60_000 }, () => {
  it('a second Ctrl-C kills its process group before the CLI exits: nothing outlives the run', async () => {
    // Ignored signals are inherited: the sleep ignores SIGTERM too.
    const dir = daysWorkspace('backfill-trap-', 'trap \'\' TERM\necho "$$" >> pids.log\nsleep 60\n');
    const { child: runner, output, closed } = startRun(dir);
    const pid = await firstPid(dir);
    runner.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    runner.kill('SIGINT'); // before the 2 s grace after SIGTERM
    const code = await closed;
    assert.equal(code, 130, output.err);
    assert.match(
      output.err,
      /interrupted again: killed 1 running command \(SIGKILL\) and exiting now; backfill resume bf-\S+ runs what is left/,
    );
    await until(() => !alive(pid), 'the command outlived the CLI', 5000);
  });
});

describe('pids saved in the state database', { timeout: 60_000 }, () => {
  const workspace = (prefix: string) => daysWorkspace(prefix, 'echo "$$" >> pids.log\nsleep 30\n');
  async function started(dir: string) {
    const { child: runner, closed } = startRun(dir);
    // The command's group leader is the shell the runner started (the job's parent).
    const job = await firstPid(dir);
    const stat = readFileSync(`/proc/${job}/stat`, 'utf8');
    const leader = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    return { runner, closed, job, leader };
  }
  const sql = (dir: string, text: string, ...params: Array<string | number>) => {
    const store = StateStore.open(path.join(dir, '.backfill', 'state.db'));
    try {
      store.db.sql(text).run(...params);
    } finally {
      store.close();
    }
  };

  it('a pid the system gave to another process since is not killed when the dead runner’s backfill is recovered', async () => {
    const dir = workspace('backfill-pid-reuse-');
    const { runner, closed, leader } = await started(dir);
    runner.kill('SIGKILL');
    await closed;
    process.kill(-leader, 'SIGKILL'); // the machine's processes gone: the runner and its command
    // An unrelated process that got the pid (as the system may hand it out again).
    const other = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    sql(dir, `UPDATE backfill_tasks SET pid = ? WHERE status = 'running'`, other.pid!);
    const list = json<{ backfills: Array<{ status: string }> }>(['backfills', ...NOW], { cwd: dir });
    assert.equal(list.backfills[0]!.status, 'interrupted');
    await new Promise((r) => setTimeout(r, 200));
    try {
      assert.ok(alive(other.pid!), 'an unrelated process with a reused pid was killed');
    } finally {
      process.kill(-other.pid!, 'SIGKILL');
    }
  });

  it('a runner that is stopped (SIGSTOP), not dead, is not taken for dead: its backfill stays running and its commands alive', async () => {
    const dir = workspace('backfill-paused-');
    const { runner, job, leader } = await started(dir);
    try {
      runner.kill('SIGSTOP');
      sql(dir, `UPDATE backfills SET heartbeat_at = 0`); // it has not beaten for a long time
      const list = json<{ backfills: Array<{ status: string }> }>(['backfills', ...NOW], { cwd: dir });
      assert.equal(list.backfills[0]!.status, 'running');
      assert.ok(alive(job), 'the stopped runner’s command was killed');
    } finally {
      runner.kill('SIGKILL');
      try {
        process.kill(-leader, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
});

describe('Slurm jobs a runner that died left running', { timeout: 60_000 }, () => {
  it('hold their partitions against other backfills until a resume follows them or a cancel stops them', async () => {
    const dir = daysWorkspace('backfill-slurm-orphan-', 'echo "$$" >> pids.log\nsleep 30\n');
    const file = path.join(dir, 'pids.log');
    const first = startRun(dir);
    const pid = await firstPid(dir);
    first.child.kill('SIGKILL');
    await first.closed;
    const id = /^backfill (bf-\S+):/m.exec(first.output.out)![1]!;
    process.kill(pid, 'SIGKILL');
    // As if its task had been submitted to Slurm: the job outlives the dead runner.
    const store = StateStore.open(path.join(dir, '.backfill', 'state.db'));
    store.db.sql(`UPDATE backfill_tasks SET job = '999_0' WHERE status = 'running'`).run();
    store.close();

    const plan = backfill(['plan', 'days', ...NOW], { cwd: dir });
    assert.match(plan.stderr, new RegExp(`1 partition of days is being run now by \\(Slurm job 999_0, backfill ${id}\\)`));
    const skipping = backfill(['plan', 'days', '--skip-running', ...NOW], { cwd: dir });
    assert.equal(skipping.code, 2);
    assert.match(skipping.stderr, /nothing to backfill: no partitions of days that no other backfill is running \(--skip-running\)/);
    const second = startRun(dir);
    try {
      await until(
        () => /waiting: partition 2024-01-01 is being run by backfill bf-\S+ \(Slurm job 999_0\)/.test(second.output.out),
        `no wait said:\n${second.output.out}`,
      );
      assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1, 'the partition ran again');
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
