import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { PartitionSubset } from '../../src/core/partitions/subset.ts';
import { shellQuote } from '../../src/core/plan/command.ts';
import { planBackfill, type BackfillPlan, type Selection } from '../../src/core/plan/planner.ts';
import { newBackfillId, prepareResume, requestCancel, saveBackfill } from '../../src/core/run/backfill.ts';
import { BackfillRunner, type BackfillReport, type RunnerEvent } from '../../src/core/run/runner.ts';
import { BackfillStore } from '../../src/core/state/backfills.ts';
import { indexStoreFor, statePath } from '../../src/core/state/record.ts';
import { StatusEngine } from '../../src/core/state/staleness.ts';
import { StateStore } from '../../src/core/state/store.ts';
import { codeVersions } from '../../src/core/state/versions.ts';
import { loadWorkspace, type Workspace } from '../../src/core/workspace.ts';
import { removeTempDirs, tempWorkspace } from './fixtures.ts';

const NOW = '2024-01-15T00:00:00Z';
after(removeTempDirs);

interface Fixture {
  root: string;
  ws: Workspace;
  store: StateStore;
  /** Plans `selection` (every partition of the roots when only names are given), stores and runs it. */
  run(
    roots: string[] | Selection,
    options?: Partial<{ concurrency: number; sample: number; signal: AbortSignal; onEvent: (e: RunnerEvent) => void }>,
  ): Promise<BackfillReport>;
  /** Lines a job appended to the workspace's `runs.log` (each job logs `asset partition`). */
  runs(): string[];
}

/** A workspace with the given definitions and a `job.sh` that logs its arguments to runs.log. */
async function fixture(yaml: string): Promise<Fixture> {
  const root = tempWorkspace({ 'pipeline.assets.yaml': yaml, 'job.sh': 'echo "$BACKFILL_ASSET $*" >> runs.log\n' }, 'backfill-run-');
  const ws = await loadWorkspace(root, { now: new Date(NOW) });
  assert.deepEqual(
    ws.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
    [],
  );
  const store = StateStore.open(statePath(root));
  indexStoreFor(ws, store);
  return {
    root,
    ws,
    store,
    async run(roots, options = {}) {
      const selection: Selection = Array.isArray(roots)
        ? { roots: roots.map((a) => ({ asset: a, partitions: PartitionSubset.all(ws.assets.get(a)!.partitions.size) })), downstream: false }
        : roots;
      const plan = planBackfill(ws.graph, selection, { runId: newBackfillId(), concurrency: options.concurrency ?? 4 });
      const id = await saveBackfill(store, plan, { description: 'test', workspace: root, options: {} });
      return new BackfillRunner(ws, store, id, {
        concurrency: options.concurrency ?? 4,
        retryDelayMs: 10,
        killGraceMs: 200,
        ...options,
      }).run();
    },
    runs() {
      const file = path.join(root, 'runs.log');
      return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
    },
  };
}

describe('runner', () => {
  it('runs upstream before downstream across granularities (daily → weekly single_run)', async () => {
    const f = await fixture(`
assets:
  days:
    partitions: { daily: { start: 2024-01-01 } }
    run: sh job.sh {partition}
  weeks:
    partitions: { weekly: { start: 2024-01-01 } }
    deps: [days]
    run: sh job.sh {first} {last}
    backfill: { strategy: single_run, max_partitions_per_run: 5 }
`);
    const report = await f.run({ roots: [{ asset: 'days', partitions: PartitionSubset.all(14) }], downstream: true });
    assert.equal(report.status, 'succeeded');
    const runs = f.runs();
    // 14 days, then one single-run command for both weeks (2024-01-07 and 2024-01-14 has not ended: one week).
    assert.equal(runs.length, 15);
    // The week runs after each day it reads (2024-01-07…13); 2024-01-14 is no input of it and may
    // finish later (seen on a busy machine).
    const week = runs.indexOf('weeks 2024-01-07 2024-01-07');
    assert.ok(week >= 0, runs.join(', '));
    for (let d = 7; d <= 13; d++) assert.ok(runs.indexOf(`days 2024-01-${String(d).padStart(2, '0')}`) < week, runs.join(', '));
    // Every partition is recorded fresh.
    const engine = new StatusEngine({ graph: f.ws.graph, store: f.store, codeVersions: await codeVersions(f.ws.assets.values()) });
    const st = engine.computeAll();
    assert.equal(st.get('days')!.counts().fresh, 14);
    assert.equal(st.get('weeks')!.counts().fresh, 1);
  });

  it('retries with backoff, then succeeds', async () => {
    const f = await fixture(`
assets:
  flaky:
    run: 'n=$(cat tries 2>/dev/null || echo 0); echo $((n+1)) > tries; [ $n -ge 2 ]'
    retries: 3
`);
    const events: RunnerEvent[] = [];
    const report = await f.run(['flaky'], { onEvent: (e) => events.push(e) });
    assert.equal(report.status, 'succeeded');
    assert.equal(readFileSync(path.join(f.root, 'tries'), 'utf8').trim(), '3');
    const retries = events.filter((e) => e.type === 'task' && e.retryInMs !== undefined).map((e) => (e as { retryInMs: number }).retryInMs);
    assert.deepEqual(retries, [10, 20]);
    assert.deepEqual(
      f.store.history({ asset: 'flaky' }).map((a) => a.status),
      ['success', 'failed', 'failed'],
    );
  });

  it('a timeout kills the command and fails the task', async () => {
    const f = await fixture(`
assets:
  slow:
    run: sleep 30
    timeout: 0.3
`);
    const t0 = Date.now();
    const report = await f.run(['slow']);
    assert.equal(report.status, 'failed');
    assert.match(report.failed[0]!.message!, /timed out after 0.3 s/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('a failure skips only what is downstream of it; independent tasks go on', async () => {
    const f = await fixture(`
assets:
  a:
    partitions: { static: [ok, bad, ok2] }
    run: 'sh job.sh {partition}; [ {partition} != bad ]'
  b:
    partitions: { static: [ok, bad, ok2] }
    deps: [a]
    run: sh job.sh {partition}
`);
    const report = await f.run({ roots: [{ asset: 'a', partitions: PartitionSubset.all(3) }], downstream: true });
    assert.equal(report.status, 'failed');
    assert.deepEqual(report.counts, { pending: 0, running: 0, succeeded: 4, failed: 1, skipped: 1, canceled: 0 });
    assert.deepEqual(f.runs().sort(), ['a bad', 'a ok', 'a ok2', 'b ok', 'b ok2']);
    const skipped = new BackfillStore(f.store).tasks(report.id).find((t) => t.status === 'skipped')!;
    assert.deepEqual([skipped.asset, skipped.partitions], ['b', ['bad']]);
  });

  it('honours a named pool and the global limit (measured)', async () => {
    const f = await fixture(`
pools: { api: 2 }
assets:
  calls:
    partitions: { daily: { start: 2024-01-01 } }
    pool: api
    run: 'echo start >> conc.log; sleep 0.2; echo end >> conc.log'
`);
    await f.run(['calls'], { concurrency: 8 });
    let now = 0;
    let max = 0;
    for (const line of readFileSync(path.join(f.root, 'conc.log'), 'utf8').trim().split('\n')) {
      now += line === 'start' ? 1 : -1;
      max = Math.max(max, now);
    }
    assert.equal(max, 2);
  });

  it('hostile partition keys run as literal arguments, never as shell code', async () => {
    const f = await fixture(`
assets:
  evil:
    partitions: { static: ["x; touch pwned", "$(touch pwned2)", "it's \`touch pwned3\`"] }
    run: sh job.sh {partition}
`);
    const report = await f.run(['evil']);
    assert.equal(report.status, 'succeeded');
    assert.deepEqual(f.runs().sort(), ['evil $(touch pwned2)', "evil it's `touch pwned3`", 'evil x; touch pwned'].sort());
    assert.deepEqual(
      readdirSync(f.root).filter((n) => n.startsWith('pwned')),
      [],
    );
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });

  it('checks: a failing blocking check fails the partition; a non-blocking one is a warning', async () => {
    const f = await fixture(`
assets:
  checked:
    partitions: { static: [good, bad] }
    run: 'true'
    checks:
      - { name: rows, run: '[ {partition} = good ]' }
      - { name: soft, run: 'false', blocking: false }
`);
    const events: RunnerEvent[] = [];
    const report = await f.run(['checked'], { onEvent: (e) => events.push(e) });
    assert.equal(report.counts.failed, 1);
    assert.match(report.failed[0]!.message!, /check rows failed/);
    assert.deepEqual(report.failed[0]!.partitions, ['bad']);
    assert.ok(events.some((e) => e.type === 'warning' && /check soft failed/.test(e.message)));
    const good = f.store.history({ asset: 'checked', partition: 'good' })[0]!;
    assert.equal(good.status, 'success');
    assert.deepEqual(good.metadata, { check_warnings: ['check soft failed'] });
  });

  it('reads ::backfill data_version and metadata lines into the store', async () => {
    const f = await fixture(`
assets:
  reporting:
    run: 'echo hello; echo "::backfill data_version=v42"; echo "::backfill metadata rows=1234"; echo "::backfill metadata note=\\"ok\\""'
`);
    await f.run(['reporting']);
    const [a] = f.store.history({ asset: 'reporting' });
    assert.equal(a!.dataVersion, 'v42');
    assert.deepEqual(a!.metadata, { rows: 1234, note: 'ok' });
  });

  it('cancel kills the whole process group', async () => {
    const f = await fixture(`
assets:
  long:
    partitions: { static: [a, b] }
    run: 'sh -c "sleep 30; touch survived-{partition}" & wait'
`);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const t0 = Date.now();
    const report = await f.run(['long'], { signal: controller.signal });
    assert.equal(report.status, 'canceled');
    assert.equal(report.counts.canceled, 2);
    assert.ok(Date.now() - t0 < 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      readdirSync(f.root).filter((n) => n.startsWith('survived')),
      [],
    );
  });

  it('start small: --sample runs the first, last and spread-between partitions, then pauses; resume runs the rest', async () => {
    const f = await fixture(`
assets:
  days:
    partitions: { daily: { start: 2024-01-01 } }
    run: sh job.sh {partition}
`);
    const report = await f.run(['days'], { sample: 3 });
    assert.equal(report.status, 'paused');
    // 14 days, 3 samples: indexes 0, 7 (6.5 rounded) and 13 (run in parallel: in any order).
    assert.deepEqual(f.runs().sort(), ['days 2024-01-01', 'days 2024-01-08', 'days 2024-01-14']);
    await prepareResume(f.store, report.id);
    const rest = await new BackfillRunner(f.ws, f.store, report.id, { concurrency: 4 }).run();
    assert.equal(rest.status, 'succeeded');
    assert.equal(f.runs().length, 14);
    assert.equal(new Set(f.runs()).size, 14, 'no partition ran twice');
  });

  it('the output of a command that prints 100 MB does not grow the runner', async () => {
    const f = await fixture(`
assets:
  chatty:
    run: 'yes "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu" | head -c 100000000'
`);
    const before = process.memoryUsage().rss;
    let lines = 0;
    let peak = 0;
    const report = await f.run(['chatty'], {
      onEvent: (e) => {
        if (e.type === 'output' && ++lines % 100_000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    assert.equal(report.status, 'succeeded');
    const line = '0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu\n';
    assert.equal(lines, Math.ceil(100_000_000 / line.length));
    assert.ok(peak - before < 150 * 1024 * 1024, `rss grew by ${((peak - before) / 1048576).toFixed(0)} MB`);
  });

  it('resumes after the runner is killed with SIGKILL: succeeded partitions never run twice', async () => {
    const f = await fixture(`
assets:
  days:
    partitions: { daily: { start: 2024-01-01 } }
    run: 'sh job.sh {partition}; sleep 0.3'
  totals:
    partitions: { daily: { start: 2024-01-01 } }
    deps: [days]
    run: 'sh job.sh {partition}'
`);
    const script = path.join(__dirname, '..', 'fixtures', 'run-backfill.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, f.root, NOW, '2', 'days'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Kill it once a few partitions are done.
    for (let i = 0; i < 200 && f.runs().length < 6; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const id = out.split('\n')[0]!;
    assert.match(id, /^bf-/);
    const before = f.runs();
    assert.ok(before.length >= 6 && before.length < 28, `ran ${before.length} before the kill`);
    const tasks = new BackfillStore(f.store).tasks(id);
    const succeededBefore = new Set(tasks.filter((t) => t.status === 'succeeded').map((t) => `${t.asset} ${t.partitions[0]}`));

    const resumed = spawn(process.execPath, ['--import', 'tsx', script, '--resume', f.root, NOW, '2', id], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out2 = '';
    resumed.stdout.on('data', (d: Buffer) => (out2 += d.toString()));
    await new Promise((r) => resumed.on('exit', r));
    assert.equal(out2.trim().split('\n')[1], 'succeeded');
    const runs = f.runs();
    const count = new Map<string, number>();
    for (const r of runs) count.set(r, (count.get(r) ?? 0) + 1);
    assert.equal(count.size, 28, 'every partition of both assets ran');
    for (const key of succeededBefore) assert.equal(count.get(key), 1, `${key} ran again`);
    // Only partitions that were running at the kill may have run twice.
    assert.ok([...count.values()].every((n) => n <= 2));
    assert.ok(runs.length - 28 <= 2, 'at most the two tasks running at the kill ran again');
  });

  it('cancel from another process stops a running backfill', async () => {
    const f = await fixture(`
assets:
  long:
    partitions: { static: [a] }
    run: sleep 30
`);
    const plan = planBackfill(
      f.ws.graph,
      { roots: [{ asset: 'long', partitions: PartitionSubset.all(1) }], downstream: false },
      { runId: newBackfillId(), concurrency: 1 },
    );
    const id = await saveBackfill(f.store, plan, { description: 't', workspace: f.root, options: {} });
    const running = new BackfillRunner(f.ws, f.store, id, { concurrency: 1, killGraceMs: 200 }).run();
    await new Promise((r) => setTimeout(r, 300));
    const other = StateStore.open(statePath(f.root));
    await requestCancel(other, id.slice(0, 12));
    other.close();
    const report = await running;
    assert.equal(report.status, 'canceled');
  });
});

describe('backfill records', () => {
  it('an interrupted backfill (dead process) is recovered as resumable and its attempts canceled', async () => {
    const f = await fixture(`
assets:
  x:
    partitions: { static: [a, b] }
    run: 'true'
`);
    const plan = planBackfill(
      f.ws.graph,
      { roots: [{ asset: 'x', partitions: PartitionSubset.all(2) }], downstream: false },
      { runId: newBackfillId(), concurrency: 1 },
    );
    const id = await saveBackfill(f.store, plan, { description: 't', workspace: f.root, options: {} });
    const backfills = new BackfillStore(f.store);
    backfills.startTask(id, 't1', 1, () => [f.store.startAttempt({ asset: 'x', partition: 'a', startedAt: 1, runId: id })]);
    backfills.setStatus(id, 'running', { pid: 999_999_999 });
    f.store.db.sql(`UPDATE backfills SET heartbeat_at = 0 WHERE id = ?`).run(id);
    assert.deepEqual(backfills.recoverInterrupted(), [id]);
    assert.equal(backfills.get(id)!.status, 'interrupted');
    assert.deepEqual(
      backfills.tasks(id).map((t) => t.status),
      ['pending', 'pending'],
    );
    assert.equal(f.store.history({ asset: 'x', partition: 'a' })[0]!.status, 'canceled');
  });
});

describe('runner: bad commands', () => {
  it('a command that cannot start (missing working folder) fails with a message instead of hanging', async () => {
    const f = await fixture(`
assets:
  lost:
    run: 'true'
    cwd: does/not/exist
`);
    const report = await f.run(['lost']);
    assert.equal(report.status, 'failed');
    assert.match(report.failed[0]!.message!, /could not start: its working folder .*does\/not\/exist does not exist/);
  });
});

describe('runner: the editor closing mid-backfill', () => {
  it('interrupt() kills the commands and leaves the backfill interrupted; resume finishes it', async () => {
    const f = await fixture(`
assets:
  slow:
    partitions: { static: [a, b] }
    run: 'sleep 0.2; [ -f go ] || sleep 30; sh job.sh {partition}'
`);
    const plan = planBackfill(
      f.ws.graph,
      { roots: [{ asset: 'slow', partitions: PartitionSubset.all(2) }], downstream: false },
      { runId: newBackfillId(), concurrency: 2 },
    );
    const id = await saveBackfill(f.store, plan, { description: 't', workspace: f.root, options: {} });
    const runner = new BackfillRunner(f.ws, f.store, id, { concurrency: 2, killGraceMs: 200 });
    const running = runner.run();
    await new Promise((r) => setTimeout(r, 500));
    runner.interrupt();
    const report = await running;
    assert.equal(report.status, 'interrupted');
    assert.equal(new BackfillStore(f.store).get(id)!.status, 'interrupted');
    writeFileSync(path.join(f.root, 'go'), '');
    await prepareResume(f.store, id);
    const done = await new BackfillRunner(f.ws, f.store, id, { concurrency: 2 }).run();
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(f.runs().sort(), ['slow a', 'slow b']);
  });
});

/** Whether a process whose command line contains `marker` is running on this machine. */
function processWith(marker: string): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

describe('runner: processes and other backfills', () => {
  it('a partition is built once when two backfills overlap: the second waits for the first, then takes its result', async () => {
    const f = await fixture(`
assets:
  days:
    partitions: { daily: { start: 2024-01-01, end: 2024-01-07 } }
    run: sh span.sh {partition}
`);
    writeFileSync(
      path.join(f.root, 'span.sh'),
      'echo "start $1 $(date +%s%N)" >> spans.log; sleep 0.3; echo "end $1 $(date +%s%N)" >> spans.log\n',
    );
    // Two runners, each on its own connection, as two processes would be.
    const other = StateStore.open(f.store.path);
    const all = PartitionSubset.all(6);
    const start = async (store: StateStore, events: RunnerEvent[]): Promise<BackfillReport> => {
      const plan = planBackfill(
        f.ws.graph,
        { roots: [{ asset: 'days', partitions: all }], downstream: false },
        { runId: newBackfillId(), concurrency: 3 },
      );
      const id = await saveBackfill(store, plan, { description: 'test', workspace: f.root, options: {} });
      return new BackfillRunner(f.ws, store, id, { concurrency: 3, onEvent: (e) => events.push(e) }).run();
    };
    const events: [RunnerEvent[], RunnerEvent[]] = [[], []];
    const reports = await Promise.all([start(f.store, events[0]), start(other, events[1])]);
    other.close();
    assert.deepEqual(
      reports.map((r) => r.status),
      ['succeeded', 'succeeded'],
    );
    // Both backfills asked for every partition; each ran once (never at the same time), and the
    // backfill that waited took the other's result instead of building it again.
    const spans = new Map<string, Array<{ start: bigint; end?: bigint }>>();
    for (const line of readFileSync(path.join(f.root, 'spans.log'), 'utf8').trim().split('\n')) {
      const [what, key, t] = line.split(' ') as [string, string, string];
      const list = spans.get(key) ?? spans.set(key, []).get(key)!;
      if (what === 'start') list.push({ start: BigInt(t) });
      else list.find((s) => s.end === undefined)!.end = BigInt(t);
    }
    assert.equal(spans.size, 6);
    for (const [key, list] of spans) assert.equal(list.length, 1, `${key} ran ${list.length} times`);
    const waits = [...events[0], ...events[1]].filter(
      (e) => e.type === 'warning' && /^waiting: partition 2024-01-0\d is being run by backfill bf-\S+ \(process \d+\)$/.test(e.message),
    );
    const taken = [...events[0], ...events[1]].filter(
      (e) => e.type === 'task' && e.status === 'succeeded' && /^materialized meanwhile by backfill bf-\S+$/.test(e.message ?? ''),
    );
    assert.ok(taken.length >= waits.length, "every task that waited took the other backfill's result");
    // Each partition has one success in the history: built once.
    assert.deepEqual(
      f.store
        .history({ asset: 'days', limit: 100 })
        .filter((a) => a.status === 'success')
        .map((a) => a.partition)
        .sort(),
      ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06'],
    );
    assert.ok(waits.length > 0, 'no task said that it waits for the other backfill');
  });

  it('the plan says which partitions are being run now and that their tasks will wait', async () => {
    const f = await fixture(`
assets:
  days:
    partitions: { daily: { start: 2024-01-01, end: 2024-01-05 } }
    run: sh job.sh {partition}
`);
    f.store.startAttempt({ asset: 'days', partition: '2024-01-02', startedAt: Date.now() });
    const statuses = new StatusEngine({ graph: f.ws.graph, store: f.store, codeVersions: await codeVersions(f.ws.assets.values()) });
    statuses.computeAll();
    const plan = planBackfill(
      f.ws.graph,
      { roots: [{ asset: 'days', partitions: PartitionSubset.all(4) }], downstream: false },
      { runId: newBackfillId(), concurrency: 2, statuses },
    );
    assert.ok(
      plan.warnings.includes(
        '1 partition of days is being run now (2024-01-02): its task waits until that run ends, then takes its result (or runs, if it failed)',
      ),
      plan.warnings.join('\n'),
    );
  });

  it('missing upstream input: the warning says who reads what; withMissingUpstream builds it first, up the graph', async () => {
    const f = await fixture(`
assets:
  raw:
    partitions: { daily: { start: 2024-01-01, end: 2024-01-15 } }
    run: sh job.sh {partition}
  days:
    partitions: { daily: { start: 2024-01-01, end: 2024-01-15 } }
    deps: [raw]
    run: sh job.sh {partition}
  weeks:
    partitions: { weekly: { start: 2024-01-01, end: 2024-01-15 } }
    deps: [days]
    run: sh job.sh {partition}
`);
    const day = (d: number): string => `2024-01-${String(d).padStart(2, '0')}`;
    const done = (asset: string, from: number, to: number): void => {
      f.store.record(
        Array.from({ length: to - from + 1 }, (_, i) => ({
          asset,
          partition: day(from + i),
          startedAt: 1,
          endedAt: 2,
          status: 'success' as const,
        })),
      );
    };
    done('raw', 1, 10);
    done('days', 1, 7);
    const statuses = new StatusEngine({ graph: f.ws.graph, store: f.store, codeVersions: await codeVersions(f.ws.assets.values()) });
    statuses.computeAll();
    const days = f.ws.assets.get('days')!.partitions;
    const selection: Selection = {
      roots: [{ asset: 'days', partitions: PartitionSubset.range(days.indexOf(day(8)), days.indexOf(day(10)) + 1) }],
      downstream: true,
    };
    const plain = planBackfill(f.ws.graph, selection, { runId: newBackfillId(), concurrency: 2, statuses });
    assert.deepEqual(plain.warnings, [
      'weeks reads 3 partitions of days that are missing or failed and not in this backfill (2024-01-11, 2024-01-12, 2024-01-13): the tasks that read them will fail unless they are built first — include missing upstream partitions (--with-missing-upstream) to build them in this backfill',
    ]);
    assert.deepEqual(
      plain.missingUpstream.map((m) => [m.asset, m.partitions.size, m.readers]),
      [['days', 3, ['weeks']]],
    );

    const full = planBackfill(
      f.ws.graph,
      { ...selection, withMissingUpstream: true },
      { runId: newBackfillId(), concurrency: 2, statuses },
    );
    assert.deepEqual(full.warnings, []);
    const extent = (p: BackfillPlan, a: string): string[] => p.tasks.filter((t) => t.asset === a).flatMap((t) => t.partitions);
    // raw 11-13 are missing too: days 11-13 read them, so they are built first.
    assert.deepEqual(extent(full, 'raw'), [day(11), day(12), day(13)]);
    assert.deepEqual(extent(full, 'days'), [day(8), day(9), day(10), day(11), day(12), day(13)]);
    assert.deepEqual(extent(full, 'weeks'), ['2024-01-07']);
    assert.deepEqual(
      full.assets.map((a) => [a.asset, a.reason]),
      [
        ['raw', 'upstream'],
        ['days', 'selected'],
        ['weeks', 'downstream'],
      ],
    );
    const week = full.tasks.find((t) => t.asset === 'weeks')!;
    assert.equal(week.after.length, 6, 'the weekly task waits for the six day tasks it reads');
  });

  it('a timed-out command that ignores SIGTERM, and its grandchild, are killed with SIGKILL; the task fails and says so', async () => {
    const marker = `backfill-test-${process.pid}-${Date.now()}`;
    const f = await fixture(`
assets:
  stubborn:
    run: sh stubborn.sh
    timeout: 0.5
`);
    writeFileSync(
      path.join(f.root, 'stubborn.sh'),
      `trap '' TERM\nsh -c 'trap "" TERM; exec sleep 30 ${marker}' &\ntrap '' TERM; sleep 30; exit 0\n`,
    );
    const report = await f.run(['stubborn']);
    assert.equal(report.status, 'failed');
    assert.equal(report.counts.failed, 1);
    assert.match(
      report.failed[0]!.message!,
      /^timed out after 0.5 s; its processes ignored SIGTERM and were killed with SIGKILL after 200 ms$/,
    );
    assert.deepEqual(
      report.killed.map((k) => k.asset),
      ['stubborn'],
    );
    assert.equal(processWith(marker), false, 'the grandchild is still running');
  });

  it('a command that exits leaving a background process: the process is killed, the task succeeds with a warning, the report lists it', async () => {
    const marker = `backfill-test-bg-${process.pid}-${Date.now()}`;
    const f = await fixture(`
assets:
  leaky:
    run: sh leaky.sh
`);
    writeFileSync(path.join(f.root, 'leaky.sh'), `sh -c 'exec sleep 30 ${marker}' > /dev/null 2>&1 &\necho done\n`);
    const events: RunnerEvent[] = [];
    const report = await f.run(['leaky'], { onEvent: (e) => events.push(e) });
    assert.equal(report.status, 'succeeded');
    assert.deepEqual(
      report.killed.map((k) => [k.asset, k.message]),
      [['leaky', 'killed a background process it left running']],
    );
    assert.ok(events.some((e) => e.type === 'warning' && e.message === 'killed a background process it left running'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(processWith(marker), false, 'the background process is still running');
  });

  it('a command whose background process keeps its output open does not hang the task', async () => {
    const f = await fixture(`
assets:
  holder:
    run: sh holder.sh
`);
    writeFileSync(path.join(f.root, 'holder.sh'), 'sleep 30 &\necho started\n');
    const t0 = Date.now();
    const report = await f.run(['holder']);
    assert.equal(report.status, 'succeeded');
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.match(report.killed[0]!.message, /killed a background process it left running/);
  });
});
