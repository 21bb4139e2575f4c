// The Slurm executor against a real Slurm cluster: a one-node cluster on this machine started by
// test/slurm/local-slurm.sh (munge, slurmctld, slurmd; it installs Debian's slurm-wlm when
// missing and it may). The tests fail — they are never skipped — when the cluster cannot start.
// The CLI runs as a user runs it, with SLURM_CONF pointing at the cluster.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { slurmMinutes } from '../../src/core/definitions/asset.ts';
import { describeRunning, sbatchOptions, SlurmQueue } from '../../src/core/run/slurm.ts';
import { loadWorkspaceFromSources } from '../../src/core/workspace.ts';
import { CLI, REPO, backfill, buildCli, json, ok, removeTempDirs, tempWorkspace } from './cli-harness.ts';

const NOW = ['--now', '2024-02-01'];
let clusterDir = '';
const env: NodeJS.ProcessEnv = { BACKFILL_SLURM_POLL_MS: '200' };

/** The element ids of this user's jobs still in the Slurm queue. */
function queued(): string[] {
  return execFileSync('squeue', ['--me', '-h', '-r', '-o', '%i'], { env: { ...process.env, ...env }, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Lines `start|end KEY EPOCH_MS` the jobs append to a file, as intervals per key. */
function intervals(file: string): Array<{ key: string; start: number; end: number }> {
  const starts = new Map<string, number>();
  const out: Array<{ key: string; start: number; end: number }> = [];
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const [what, key, ms] = line.split(' ');
    if (what === 'start') starts.set(key!, Number(ms));
    else out.push({ key: key!, start: starts.get(key!)!, end: Number(ms) });
  }
  return out;
}

/** The most intervals open at one instant. */
function maxOverlap(spans: Array<{ start: number; end: number }>): number {
  const events = spans.flatMap((s) => [
    [s.start, 1],
    [s.end, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (open += d!));
  return max;
}

/** A command that logs its start and end (epoch ms) to $LOG around `body`. */
const timed = (key: string, body: string): string =>
  `echo "start ${key} $(date +%s%3N)" >> "$LOG"; ${body}; s=$?; echo "end ${key} $(date +%s%3N)" >> "$LOG"; exit $s`;

describe('Slurm settings in definitions', () => {
  const load = (text: string) => loadWorkspaceFromSources('/ws', [{ path: '/ws/a.assets.yaml', text }], { now: new Date('2024-02-01') });

  it('profiles are shared and extended; resources and timeout give --cpus-per-task, --mem and --time where slurm: does not', () => {
    const ws = load(
      [
        'slurm_profiles:',
        '  batch: { partition: batch, account: analytics, time: "1:30:00", extra_args: [--constraint=avx2] }',
        'assets:',
        '  scores:',
        '    run: python score.py',
        '    executor: slurm',
        '    slurm: { profile: batch, qos: high, gres: "gpu:1" }',
        '    resources: { cpus: 2.5, memory: 6GiB }',
        '    timeout: 600',
        '  quick:',
        '    run: "true"',
        '    slurm: { mem: 4000M, cpus: 1, time: 5 }',
        '    resources: { cpus: 8, memory: 1GiB }',
        '    timeout: 6000',
        '',
      ].join('\n'),
    );
    assert.deepEqual(ws.diagnostics, []);
    assert.deepEqual(sbatchOptions(ws.assets.get('scores')!), [
      '--partition=batch',
      '--account=analytics',
      '--qos=high',
      '--cpus-per-task=3',
      '--mem=6144M',
      '--time=90',
      '--gres=gpu:1',
      '--constraint=avx2',
    ]);
    // Its own slurm: settings win over resources: and timeout:.
    assert.deepEqual(sbatchOptions(ws.assets.get('quick')!), ['--cpus-per-task=1', '--mem=4000M', '--time=5']);
    assert.equal(ws.assets.get('quick')!.executor, undefined); // local unless a backfill says slurm
  });

  it('bad values are errors at their line and column, with a did-you-mean where one fits', () => {
    const ws = load(
      [
        'slurm_profiles:',
        '  small: { partition: debug }',
        '  small: { partition: other }',
        'assets:',
        '  a:',
        '    run: "true"',
        '    executor: slrum',
        '    slurm: { profile: smal, time: lots, qos: "a b; rm -rf /", cpus: 0, mem: much, extra_args: [rm] }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      ws.diagnostics.map((d) => `${d.line}:${d.column} ${d.severity}: ${d.message}`),
      [
        '3:3 error: Slurm profile "small" is already defined at a.assets.yaml:2',
        '7:15 error: "executor" in asset "a" must be one of local, slurm, got "slrum" — did you mean "slurm"?',
        '8:23 error: unknown Slurm profile "smal" — did you mean "small"?',
        '8:35 error: "slurm.time" in asset "a" must be minutes (90) or a Slurm time (1:30:00, 2-00:00:00), got "lots"',
        '8:46 error: "slurm.qos" in asset "a" must be a name (letters, digits, _ . : + -), got "a b; rm -rf /"',
        '8:69 error: "slurm.cpus" in asset "a" must be a whole number of cores ≥ 1, got 0',
        '8:77 error: "slurm.mem" in asset "a" must be a size such as 6GiB or 4000M, got "much"',
        '8:95 error: "slurm.extra_args" in asset "a" must be a list of sbatch options, each one argument such as --constraint=avx2, got a list',
      ],
    );
    assert.deepEqual(
      ['90', '1:30', '1:30:00', '2-00:00:00', '2-12', '0', 'soon'].map((t) => slurmMinutes(t)),
      [90, 2, 90, 2880, 3600, null, null],
    );
  });
});

describe('Slurm queue in progress lines', () => {
  it('counts the tasks waiting in the queue with Slurm’s reasons, most frequent first; a task that starts or ends leaves it', () => {
    const q = new SlurmQueue();
    q.update('a', 'PENDING', 'Priority');
    q.update('b', 'PENDING', 'Resources');
    q.update('c', 'PENDING', 'Resources');
    q.update('d', 'PENDING', 'None');
    assert.equal(q.describe(), '4 queued in Slurm (Resources, Priority)');
    q.update('b', 'RUNNING', 'None');
    q.delete('c');
    assert.equal(q.describe(), '2 queued in Slurm (Priority)');
    q.update('a', 'RUNNING', '');
    assert.equal(q.describe(), '1 queued in Slurm');
    assert.equal(describeRunning('12_3', 'node7'), 'running on node7 (Slurm job 12_3)');
  });
});

describe('the Slurm executor, on a real Slurm cluster', { timeout: 600_000 }, () => {
  before(() => {
    buildCli();
    clusterDir = mkdtempSync(path.join(tmpdir(), 'backfill-slurm-'));
    let out: string;
    try {
      out = execFileSync('bash', [path.join(REPO, 'test', 'slurm', 'local-slurm.sh'), 'start', clusterDir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        // A cluster whose arrays hold at most 8 elements, as clusters limit them (Slurm's default is 1001).
        env: { ...process.env, LOCAL_SLURM_MAX_ARRAY_SIZE: '8' },
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(
        `the local Slurm cluster did not start (test/slurm/local-slurm.sh start ${clusterDir}): ${err.stderr ?? err.message}`,
      );
    }
    const conf = /export SLURM_CONF=(\S+)/.exec(out)?.[1];
    assert.ok(conf, `local-slurm.sh printed no SLURM_CONF:\n${out}`);
    env['SLURM_CONF'] = conf;
    process.env['SLURM_CONF'] = conf; // for squeue here
  });

  after(() => {
    if (clusterDir) {
      try {
        execFileSync('scancel', ['--me'], { env: { ...process.env, ...env } });
      } catch {
        // nothing to cancel
      }
      const pids = ['slurmctld.pid', 'slurmd.pid']
        .map((f) => path.join(clusterDir, f))
        .filter((f) => existsSync(f))
        .map((f) => Number(readFileSync(f, 'utf8').trim()));
      execFileSync('bash', [path.join(REPO, 'test', 'slurm', 'local-slurm.sh'), 'stop', clusterDir]);
      // The daemons write their state as they stop: wait for them to be gone before removing it.
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && pids.some(alive); i++) execFileSync('sleep', ['0.1']);
      rmSync(clusterDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
    removeTempDirs();
  });

  it('runs the ready tasks of an asset as one job array, downstream after upstream, at most --concurrency at once, recording ::backfill lines', () => {
    const dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'slurm_profiles:',
          '  quick: { time: 5 }',
          'assets:',
          '  days:',
          '    partitions: { daily: { start: 2024-01-07, end: 2024-01-14 } }',
          `    run: ${JSON.stringify(timed('{partition}', 'sleep 1; echo "::backfill metadata node=\\"$SLURMD_NODENAME\\""; echo "::backfill data_version=v-{partition}"; echo "job $SLURM_ARRAY_JOB_ID"'))}`,
          '    executor: slurm',
          '    slurm: { profile: quick }',
          '  weeks:',
          '    partitions: { weekly: { start: 2024-01-07, end: 2024-01-14 } }',
          '    deps: [days]',
          `    run: ${JSON.stringify(timed('w{partition}', 'echo "week {partition}: $MODE"'))}`,
          '    env: { MODE: "it\'s here" }',
          '    executor: slurm',
          '',
        ].join('\n'),
      },
      'backfill-slurm-',
    );
    const log = path.join(dir, 'runs.log');
    const out = ok(['run', 'days+', '--concurrency', '1', ...NOW], { cwd: dir, env: { ...env, LOG: log } });
    // One submission for the seven days, one for the week.
    const submitted = out.split('\n').filter((l) => l.startsWith('⇢ submitted'));
    assert.deepEqual(
      submitted.map((l) => l.replace(/job \d+/, 'job N')),
      ['⇢ submitted 7 tasks of days as Slurm job N (at most 1 at once)', '⇢ submitted 1 task of weeks as Slurm job N'],
    );
    assert.match(out, /^weeks 2024-01-07 │ week 2024-01-07: it's here$/m);
    // Where each job ran, as squeue saw it start (a 1 s job is seen running at least sometimes).
    const running = out.split('\n').filter((l) => /^▸ days 2024-01-\d\d running on \S+ \(Slurm job \d+_\d\)$/.test(l));
    assert.ok(running.length >= 1, out);
    const spans = intervals(log);
    assert.equal(spans.length, 8, readFileSync(log, 'utf8'));
    // The throttle held, measured from the jobs' own timestamps (the node could run 2 at once).
    assert.equal(maxOverlap(spans), 1, JSON.stringify(spans));
    const week = spans.find((s) => s.key === 'w2024-01-07')!;
    assert.ok(
      spans.filter((s) => !s.key.startsWith('w')).every((d) => d.end <= week.start),
      'the week started before its days ended',
    );
    // What the jobs reported is recorded with each attempt.
    const attempts = json<{
      attempts: Array<{ partition: string; data_version: string; metadata: { node?: string } | null; duration_ms: number }>;
    }>(['history', 'days', ...NOW], { cwd: dir }).attempts;
    assert.equal(attempts.length, 7);
    for (const a of attempts) {
      assert.equal(a.data_version, `v-${a.partition}`);
      assert.ok(a.metadata?.node, JSON.stringify(a));
      // Its run time (a 1 s sleep), not its time in the queue behind the others (up to ~20 s here).
      assert.ok(a.duration_ms >= 1000 && a.duration_ms < 4000, JSON.stringify(a));
    }
    assert.deepEqual(queued(), []);
  });

  it('more tasks than the cluster’s MaxArraySize go as several arrays, whose throttles are raised as slots free up: all run once, never more than --concurrency at once', () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    const dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'assets:',
          '  many:',
          `    partitions: { static: [${keys.join(', ')}] }`,
          `    run: ${JSON.stringify(timed('{partition}', 'sleep 0.5'))}`,
          '    executor: slurm',
          '',
        ].join('\n'),
      },
      'backfill-slurm-',
    );
    const log = path.join(dir, 'runs.log');
    const out = ok(['run', 'many', '--concurrency', '2', ...NOW], { cwd: dir, env: { ...env, LOG: log } });
    const submitted = out.split('\n').filter((l) => l.startsWith('⇢ submitted'));
    // 20 tasks with at most 8 per array: at least three arrays (more when slots free up one by one).
    assert.ok(submitted.length >= 3 && submitted.every((l) => /⇢ submitted [1-8] tasks? of many/.test(l)), submitted.join('\n'));
    assert.match(out, /succeeded in .*: 20 succeeded/);
    const spans = intervals(log);
    assert.deepEqual(spans.map((s) => s.key).sort(), keys, 'a task ran twice, or not at all');
    assert.ok(maxOverlap(spans) <= 2, JSON.stringify(spans));
    assert.deepEqual(queued(), []);
  });

  it('a failed job is retried (resubmitted) and its output and exit code are in the log and the summary', () => {
    const dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'assets:',
          '  flaky:',
          '    partitions: { daily: { start: 2024-01-01, end: 2024-01-03 } }',
          // The first run of 2024-01-02 fails; the retry succeeds.
          `    run: 'if [ {partition} = 2024-01-02 ] && [ ! -e once ]; then touch once; echo "boom on {partition}" >&2; exit 7; fi; echo fine {partition}'`,
          '    retries: 1',
          '    executor: slurm',
          '  broken:',
          `    run: 'echo "no luck" >&2; exit 3'`,
          '    executor: slurm',
          '',
        ].join('\n'),
      },
      'backfill-slurm-',
    );
    const r = backfill(['run', 'flaky', 'broken', ...NOW], { cwd: dir, env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^↻ flaky 2024-01-02: exit code 7: boom on 2024-01-02; retry in /m);
    assert.match(r.stdout, /^✓ flaky 2024-01-02/m);
    assert.match(r.stdout, /^ {2}✗ broken: exit code 3: no luck$/m);
    const history = json<{ attempts: Array<{ partition: string; status: string; exit_code: number }> }>(
      ['history', 'flaky', '2024-01-02', ...NOW],
      {
        cwd: dir,
      },
    ).attempts;
    assert.deepEqual(
      history.map((a) => [a.status, a.exit_code]),
      [
        ['success', 0],
        ['failed', 7],
      ],
    );
  });

  it('a timeout cancels the job (scancel) and fails the task, leaving nothing in the queue', () => {
    const dir = tempWorkspace(
      { 'a.assets.yaml': ['assets:', '  slow:', '    run: sleep 120', '    timeout: 2', '    executor: slurm', ''].join('\n') },
      'backfill-slurm-',
    );
    const t0 = Date.now();
    const r = backfill(['run', 'slow', ...NOW], { cwd: dir, env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /✗ slow: timed out after 2 s; its Slurm job was canceled \(scancel\) at the timeout/);
    assert.ok(Date.now() - t0 < 30_000, 'the timeout did not stop it');
    assert.deepEqual(queued(), []);
  });

  it('Slurm refusing the settings (an unknown partition) is said before anything is submitted, naming the asset', () => {
    const dir = tempWorkspace(
      {
        'a.assets.yaml': ['assets:', '  misplaced:', '    run: "true"', '    executor: slurm', '    slurm: { partition: nosuch }', ''].join(
          '\n',
        ),
      },
      'backfill-slurm-',
    );
    const r = backfill(['run', 'misplaced', ...NOW], { cwd: dir, env });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^backfill: misplaced \(a\.assets\.yaml:2\): Slurm refuses its settings \(--partition=nosuch\): .*invalid partition/im,
    );
    assert.match(r.stderr, /nothing was submitted/);
    assert.deepEqual(json<{ backfills: unknown[] }>(['backfills'], { cwd: dir }).backfills, []);
    // No Slurm at all: the same, with what to do.
    const none = backfill(['run', 'misplaced', ...NOW], { cwd: dir, env: { ...env, SLURM_CONF: path.join(dir, 'missing.conf') } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^backfill: cannot run on Slurm: .*SLURM_CONF/m);
  });

  it('killing the runner leaves its jobs running; resume re-attaches to them and submits only what never ran: nothing runs twice', async () => {
    const dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'assets:',
          '  parts:',
          '    partitions: { static: [a, b, c, d, e, f] }',
          `    run: 'echo "{partition}" >> "$RUNS"; sleep 3; echo done {partition}'`,
          '    executor: slurm',
          '',
        ].join('\n'),
      },
      'backfill-slurm-',
    );
    const runs = path.join(dir, 'runs.txt');
    const child = spawn(process.execPath, [CLI, 'run', 'parts', '--concurrency', '2', ...NOW], {
      cwd: dir,
      env: { ...process.env, ...env, RUNS: runs, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    // Once the first jobs run, kill -9 the runner.
    for (let i = 0; i < 200 && !(existsSync(runs) && readFileSync(runs, 'utf8').trim().split('\n').length >= 1); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = queued();
    assert.ok(left.length > 0, 'the jobs died with the runner');
    const listed = json<{ backfills: Array<{ id: string }> }>(['backfills'], { cwd: dir }).backfills;
    const id = listed[0]!.id;
    const resumed = backfill(['resume', id, ...NOW], { cwd: dir, env: { ...env, RUNS: runs } });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match(
      resumed.stdout,
      /^resuming bf-\S+ \(parts\): \d+ tasks? to run, [1-6] still running on Slurm \(re-attached\), 0 of 6 already succeeded/m,
    );
    assert.match(resumed.stderr, /re-attached to Slurm job \d+_\d+ \(parts [a-f]\)/);
    assert.match(resumed.stdout, /succeeded in .*: 6 succeeded/);
    const ran = readFileSync(runs, 'utf8').trim().split('\n').sort();
    assert.deepEqual(ran, ['a', 'b', 'c', 'd', 'e', 'f'], 'a partition ran twice, or not at all');
    assert.deepEqual(queued(), []);
  });

  it('backfill cancel, from another process, cancels every job of the backfill (scancel)', async () => {
    const dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'assets:',
          '  long:',
          '    partitions: { static: [x, y, z] }',
          '    run: sleep 120',
          '    executor: slurm',
          '',
        ].join('\n'),
      },
      'backfill-slurm-',
    );
    const child = spawn(process.execPath, [CLI, 'run', 'long', '--concurrency', '3', ...NOW], {
      cwd: dir,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 200 && queued().length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(queued().length, 3, 'the jobs were not submitted');
    const id = /backfill (bf-\S+):/.exec(out)?.[1];
    assert.ok(id, out);
    ok(['cancel', id, ...NOW], { cwd: dir, env });
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 1);
    for (let i = 0; i < 50 && queued().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(queued(), []);
    const b = json<{ backfills: Array<{ id: string; status: string }> }>(['backfills'], { cwd: dir }).backfills.find((x) => x.id === id);
    assert.equal(b?.status, 'canceled');
  });
});
