// The backfill commands of the `backfill` CLI end to end: plan, run, resume, cancel and
// backfills, as the real bundle (dist/cli.js) in temporary workspaces whose jobs are tiny
// shell scripts that log every run to a file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backfill, buildCli, CLI, type CliOptions, expectExit, json, ok, removeTempDirs, tempWorkspace, userError } from './cli-harness.ts';

/**
 * A workspace with the definitions and a `job.sh` that appends `asset key` to runs.log, prints
 * `hello asset key`, and fails (after logging) when a file `fail-<key>` exists.
 */
function workspace(yaml: string): string {
  return tempWorkspace(
    {
      'pipeline.assets.yaml': yaml,
      'job.sh': `echo "$BACKFILL_ASSET $1" >> runs.log
if [ -f "fail-$1" ]; then echo "boom $1" >&2; exit 1; fi
echo "hello $BACKFILL_ASSET $1"
`,
    },
    'backfill-cli-run-',
  );
}

/** Every command runs in the workspace `dir`, as of NOW (appended after all other arguments). */
function at(dir: string): CliOptions {
  return { cwd: dir, append: NOW };
}

/** The lines job.sh logged, in order. */
function runs(dir: string): string[] {
  const file = path.join(dir, 'runs.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** How many times each `asset key` ran. */
function runCounts(dir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of runs(dir)) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

before(buildCli);
after(removeTempDirs);

// As of 2024-01-22: days has 21 partitions, 2024-01-01…2024-01-21; weeks (windows starting on
// Sundays) has two, 2024-01-07 (reading days 01-07…01-13) and 2024-01-14 (days 01-14…01-20).
const NOW = ['--now', '2024-01-22'];
const DAYS = Array.from({ length: 21 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`);
const PIPELINE = `assets:
  days:
    partitions: {daily: {start: 2024-01-01}}
    run: sh job.sh {partition}
  weeks:
    group: reports
    partitions: {weekly: {start: 2024-01-01}}
    deps: [days]
    run: sh job.sh {partition}
  lookup:
    group: reports
    run: sh job.sh lookup
`;

interface PlanJson {
  backfill: {
    tasks: Array<{ id: string; asset: string; partitions: string[]; command: string; after: string[] }>;
    summary: {
      tasks: number;
      partitions: number;
      assets: number;
      estimated_seconds: number | null;
      time: { unknown: string[] };
      cost: { unknown: string[] };
      resources: unknown;
    };
    assets: Array<{ asset: string; partitions: string[] | null; reason: string }>;
    warnings: string[];
  };
}

interface ReportJson {
  backfill: {
    id: string;
    status: string;
    counts: Record<'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'canceled', number>;
    duration_ms: number;
    failed: Array<{ task: string; asset: string; partitions: string[]; message: string | null; log: string }>;
  };
}

interface BackfillsJson {
  backfills: Array<{
    id: string;
    status: string;
    created: string;
    description: string;
    counts: Record<string, number>;
    partitions: Record<string, number>;
  }>;
}

interface StatusJson {
  assets: Array<{ asset: string; counts: Record<'fresh' | 'stale' | 'missing' | 'failed' | 'running', number> }>;
}

/** The tasks' `asset partitions` → id. */
function idsOf(plan: PlanJson): Map<string, string> {
  return new Map(plan.backfill.tasks.map((t) => [`${t.asset} ${t.partitions.join(',')}`, t.id]));
}

describe('backfill plan', () => {
  it('plans NAME+ as the asset and its downstream, with after edges from each week to its days (JSON contract)', () => {
    const dir = workspace(PIPELINE);
    const plan = json<PlanJson>(['plan', 'days+'], at(dir));
    assert.deepEqual(Object.keys(plan), ['backfill']);
    const { cost, time, ...summary } = plan.backfill.summary;
    assert.deepEqual(summary, { tasks: 23, partitions: 23, assets: 2, estimated_seconds: null, resources: null });
    assert.deepEqual(time.unknown, ['days', 'weeks']);
    assert.deepEqual(cost.unknown, ['days', 'weeks']);
    const t = plan.backfill.tasks;
    assert.deepEqual(Object.keys(t[0]!), ['id', 'asset', 'partitions', 'command', 'after']);
    assert.deepEqual(
      t.filter((x) => x.asset === 'days').map((x) => x.partitions),
      DAYS.map((d) => [d]),
    );
    assert.ok(t.filter((x) => x.asset === 'days').every((x) => x.after.length === 0));
    const ids = idsOf(plan);
    const week1 = t.find((x) => x.asset === 'weeks' && x.partitions[0] === '2024-01-07')!;
    const week2 = t.find((x) => x.asset === 'weeks' && x.partitions[0] === '2024-01-14')!;
    assert.deepEqual(
      week1.after,
      DAYS.slice(6, 13).map((d) => ids.get(`days ${d}`)),
    );
    assert.deepEqual(
      week2.after,
      DAYS.slice(13, 20).map((d) => ids.get(`days ${d}`)),
    );
    assert.equal(week1.command, 'sh job.sh 2024-01-07');
    assert.deepEqual(
      plan.backfill.assets.map((a) => [a.asset, a.partitions?.length, a.reason]),
      [
        ['days', 21, 'selected'],
        ['weeks', 2, 'downstream'],
      ],
    );
    // Without the +, only days.
    assert.deepEqual(json<PlanJson>(['plan', 'days'], at(dir)).backfill.summary.assets, 1);
    // --downstream is the same as + for every named asset.
    assert.deepEqual(
      json<PlanJson>(['plan', 'days', '--downstream'], at(dir)).backfill.tasks.map((x) => [x.asset, x.partitions, x.after]),
      t.map((x) => [x.asset, x.partitions, x.after]),
    );
  });

  it('prints per asset its partitions and why, the totals and the estimate', () => {
    const dir = workspace(PIPELINE);
    const out = ok(['plan', 'days+', '--from', '2024-01-10', '--to', '2024-01-15'], at(dir));
    assert.deepEqual(out.trimEnd().split('\n'), [
      'plan: 8 tasks, 8 partitions of 2 assets',
      '  days   6 partitions  2024-01-10…2024-01-15  (selected)',
      '  weeks  2 partitions  2024-01-07…2024-01-14  (downstream)',
      'estimate: unknown (no history for days, weeks)',
    ]);
  });

  it('selects every asset of a group with group:NAME', () => {
    const dir = workspace(PIPELINE);
    const plan = json<PlanJson>(['plan', 'group:reports'], at(dir));
    assert.deepEqual(
      plan.backfill.assets.map((a) => [a.asset, a.partitions, a.reason]),
      [
        ['lookup', null, 'selected'],
        ['weeks', ['2024-01-07', '2024-01-14'], 'selected'],
      ],
    );
    // Upstream first (ties by name); the unpartitioned member has one task without partitions.
    assert.deepEqual(
      plan.backfill.tasks.map((t) => [t.asset, t.partitions]),
      [
        ['lookup', []],
        ['weeks', ['2024-01-07']],
        ['weeks', ['2024-01-14']],
      ],
    );
    // Reading days, which nothing materialized: a warning names them.
    assert.ok(
      plan.backfill.warnings.some((w) =>
        /^weeks reads 14 partitions of days that are missing or failed and not in this backfill .*--with-missing-upstream/.test(w),
      ),
      plan.backfill.warnings.join('\n'),
    );
    assert.match(userError(['plan', 'group:report'], at(dir)), /unknown group "report" — did you mean "reports"\?/);
    assert.match(userError(['plan', 'dayz+'], at(dir)), /unknown asset "dayz" — did you mean "days"\?/);
  });

  it('--from/--to: keys of each asset, else the time windows starting within the dates', () => {
    const dir = workspace(PIPELINE);
    const keysOf = (args: string[]) =>
      json<PlanJson>(['plan', ...args], at(dir)).backfill.tasks.map((t) => `${t.asset} ${t.partitions.join(',')}`);
    assert.deepEqual(keysOf(['days', '--from', '2024-01-05', '--to', '2024-01-07']), [
      'days 2024-01-05',
      'days 2024-01-06',
      'days 2024-01-07',
    ]);
    // Open ends: from the first, to the last.
    assert.equal(keysOf(['days', '--from', '2024-01-20']).length, 2);
    assert.equal(keysOf(['days', '--to', '2024-01-02']).length, 2);
    // 2024-01-02 and 2024-01-13 are no weekly keys: dates, and the weeks starting within them.
    assert.deepEqual(keysOf(['weeks', '--from', '2024-01-02', '--to', '2024-01-13']), ['weeks 2024-01-07']);
    assert.deepEqual(keysOf(['weeks', '--from', '2024-01-02', '--to', '2024-01-14']), ['weeks 2024-01-07', 'weeks 2024-01-14']);
    assert.deepEqual(keysOf(['weeks', '--from', '2024-01-08T00:00:00Z']), ['weeks 2024-01-14']);
    // The same range on both assets of the selection.
    assert.deepEqual(keysOf(['days', 'weeks', '--from', '2024-01-13', '--to', '2024-01-14']), [
      'days 2024-01-13',
      'days 2024-01-14',
      'weeks 2024-01-14',
    ]);
    // --partition: keys and ranges.
    assert.deepEqual(keysOf(['days', '--partition', '2024-01-02', '--partition', '2024-01-09...2024-01-10']), [
      'days 2024-01-02',
      'days 2024-01-09',
      'days 2024-01-10',
    ]);
    assert.match(
      userError(['plan', 'days', '--partition', '2024-01-30'], at(dir)),
      /partition "2024-01-30" of asset "days" does not exist as of 2024-01-22T00:00:00Z \(after the last partition\); nearest: 2024-01-20, 2024-01-21/,
    );
    assert.match(userError(['plan', 'days', '--from', 'yesterday'], at(dir)), /partition "yesterday" of asset "days" does not exist/);
    assert.match(userError(['plan', 'days', '--from', '2024-01-09', '--to', '2024-01-02'], at(dir)), /empty range for asset "days"/);
    assert.match(
      userError(['plan', 'weeks', '--from', '2024-01-08', '--to', '2024-01-09'], at(dir)),
      /no partitions between 2024-01-08 and 2024-01-09: weeks \(2024-01-07…2024-01-14\)/,
    );
    assert.match(
      userError(['plan', 'days', '--from', '2024-01-02', '--partition', '2024-01-03'], at(dir)),
      /either --partition or --from\/--to/,
    );
    assert.match(userError(['plan', 'lookup', '--from', '2024-01-02'], at(dir)), /asset "lookup" is not partitioned/);
  });

  it('--only missing plans only the partitions not recorded; --only failed only the failed ones', () => {
    const dir = workspace(PIPELINE);
    ok(['record', 'days', '2024-01-01...2024-01-10'], at(dir));
    ok(['record', 'days', '2024-01-12', '--status', 'failed'], at(dir));
    const missing = json<PlanJson>(['plan', 'days', '--only', 'missing'], at(dir));
    assert.deepEqual(
      missing.backfill.tasks.map((t) => t.partitions[0]),
      ['2024-01-11', ...DAYS.slice(12)],
    );
    const failed = json<PlanJson>(['plan', 'days', '--only', 'failed'], at(dir));
    assert.deepEqual(
      failed.backfill.tasks.map((t) => t.partitions[0]),
      ['2024-01-12'],
    );
    assert.equal(json<PlanJson>(['plan', 'days', '--only', 'missing,failed'], at(dir)).backfill.summary.partitions, 11);
    assert.match(userError(['plan', 'days', '--only', 'stale'], at(dir)), /nothing to backfill: no partitions of days with status stale/);
    assert.match(
      userError(['plan', 'days', '--only', 'missing,broken'], at(dir)),
      /invalid --only status "broken": expected missing, failed, stale/,
    );
  });
});

describe('backfill run', () => {
  it('--dry-run prints the plan and runs nothing', () => {
    const dir = workspace(PIPELINE);
    const plan = json<PlanJson>(['run', 'days+', '--dry-run'], at(dir));
    assert.equal(plan.backfill.summary.tasks, 23);
    assert.match(ok(['run', 'days+', '--dry-run'], at(dir)), /^plan: 23 tasks, 23 partitions of 2 assets$/m);
    assert.deepEqual(runs(dir), []);
    assert.deepEqual(json<BackfillsJson>(['backfills'], at(dir)).backfills, []);
  });

  it('runs every task, upstream first, with output prefixed by the task; then status shows all fresh', () => {
    const dir = workspace(PIPELINE);
    const out = ok(['run', 'days+', '--concurrency', '4'], at(dir));
    const counts = runCounts(dir);
    assert.equal(counts.size, 23);
    assert.ok([...counts.values()].every((n) => n === 1));
    const log = runs(dir);
    assert.ok(log.indexOf('weeks 2024-01-07') > log.indexOf('days 2024-01-13'), 'the week ran after its last day');
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0]!, /^backfill bf-\d{8}-\d{6}-[0-9a-f]{4}: 23 tasks, 23 partitions of 2 assets, concurrency 4$/);
    for (const d of DAYS) {
      assert.ok(lines.includes(`days ${d} │ hello days ${d}`), `output of days ${d}`);
      assert.ok(
        lines.some((l) => new RegExp(`^✓ days ${d} \\(\\d+(ms|\\.\\ds)\\)$`).test(l)),
        `state line of days ${d}`,
      );
    }
    assert.ok(lines.includes('weeks 2024-01-14 │ hello weeks 2024-01-14'));
    assert.match(lines.at(-1)!, /^backfill bf-\S+ succeeded in \S+: 23 succeeded$/);
    assert.doesNotMatch(out, /resume with/);
    const status = json<StatusJson>(['status', 'days', 'weeks'], at(dir));
    assert.deepEqual(
      status.assets.map((a) => [
        a.asset,
        a.counts.fresh,
        a.counts.fresh + a.counts.stale + a.counts.missing + a.counts.failed + a.counts.running,
      ]),
      [
        ['days', 21, 21],
        ['weeks', 2, 2],
      ],
    );
    // The durations are history now: the estimate uses them.
    assert.match(ok(['plan', 'days'], at(dir)), /^estimate: ~(<1s|\d+s)( \(.*\))? from history at concurrency \d+$/m);
  });

  it('a failing partition: exit 1, the summary names it, its log and the resume command; resume after the fix re-runs only the failed and skipped tasks', () => {
    const dir = workspace(PIPELINE);
    writeFileSync(path.join(dir, 'fail-2024-01-10'), '');
    const r = backfill(['run', 'days+', '--concurrency', '3'], at(dir));
    assert.equal(r.code, 1, r.stderr);
    const [listed] = json<BackfillsJson>(['backfills'], at(dir)).backfills;
    const id = listed!.id;
    assert.equal(listed!.status, 'failed');
    assert.deepEqual(listed!.counts, { succeeded: 21, failed: 1, skipped: 1, canceled: 0, running: 0, pending: 0 });
    assert.equal(listed!.description, 'days+');
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.includes('✗ days 2024-01-10: exit code 1: boom 2024-01-10'), r.stdout);
    assert.ok(
      lines.some((l) => /^- weeks 2024-01-07 skipped: upstream task t10 \(days 2024-01-10\) failed$/.test(l)),
      r.stdout,
    );
    // The command's stderr stays on stderr, prefixed too.
    assert.match(r.stderr, /^days 2024-01-10 │ boom 2024-01-10$/m);
    const summary = lines.slice(lines.findIndex((l) => l.startsWith(`backfill ${id} failed`)));
    assert.deepEqual(summary.slice(1), [
      'failed (1):',
      '  ✗ days 2024-01-10: exit code 1: boom 2024-01-10',
      `    log: .backfill/logs/${id}/t10.log`,
      `resume with: backfill resume ${id}`,
    ]);
    assert.match(summary[0]!, /: 21 succeeded · 1 failed · 1 skipped$/);
    assert.match(readFileSync(path.join(dir, '.backfill', 'logs', id, 't10.log'), 'utf8'), /boom 2024-01-10/);
    assert.equal(json<StatusJson>(['status', 'days'], at(dir)).assets[0]!.counts.failed, 1);

    rmSync(path.join(dir, 'fail-2024-01-10'));
    const before = runs(dir).length;
    const out = ok(['resume', id.slice(0, 20)], at(dir));
    assert.match(out, new RegExp(`^resuming ${id} \\(days\\+\\): 2 tasks to run, 21 of 23 already succeeded`, 'm'));
    assert.deepEqual(runs(dir).slice(before).sort(), ['days 2024-01-10', 'weeks 2024-01-07']);
    const counts = runCounts(dir);
    assert.equal(counts.get('days 2024-01-10'), 2);
    assert.ok([...counts].every(([k, n]) => n === 1 || k === 'days 2024-01-10'));
    assert.equal(json<BackfillsJson>(['backfills'], at(dir)).backfills[0]!.status, 'succeeded');
    assert.equal(json<StatusJson>(['status', 'days'], at(dir)).assets[0]!.counts.fresh, 21);
  });

  it('run from another folder with --workspace: the log path and the resume command work from where it was typed', () => {
    const dir = workspace(PIPELINE);
    writeFileSync(path.join(dir, 'fail-2024-01-03'), '');
    const elsewhere = path.dirname(dir);
    const r = backfill(['run', 'days', '--partition', '2024-01-02...2024-01-04', '--workspace', path.basename(dir)], { cwd: elsewhere });
    assert.equal(r.code, 1, r.stderr);
    const log = /^ {4}log: (.+)$/m.exec(r.stdout)?.[1];
    assert.ok(log, r.stdout);
    assert.match(readFileSync(path.resolve(elsewhere, log), 'utf8'), /boom 2024-01-03/);
    const resume = /^resume with: backfill (.+)$/m.exec(r.stdout)?.[1];
    assert.ok(resume, r.stdout);
    rmSync(path.join(dir, 'fail-2024-01-03'));
    assert.match(ok(resume.split(' '), { cwd: elsewhere }), /succeeded/);
  });

  it('--json prints only the final report', () => {
    const dir = workspace(PIPELINE);
    writeFileSync(path.join(dir, 'fail-2024-01-03'), '');
    const r = backfill(['run', 'days', '--partition', '2024-01-02...2024-01-04', '--json'], at(dir));
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as ReportJson;
    assert.deepEqual(Object.keys(report.backfill), ['id', 'status', 'counts', 'duration_ms', 'failed', 'killed', 'spent_cost', 'budget']);
    assert.equal(report.backfill.status, 'failed');
    assert.deepEqual(report.backfill.counts, { pending: 0, running: 0, succeeded: 2, failed: 1, skipped: 0, canceled: 0 });
    assert.equal(report.backfill.failed.length, 1);
    const f = report.backfill.failed[0]!;
    assert.deepEqual([f.asset, f.partitions], ['days', ['2024-01-03']]);
    assert.match(f.message!, /^exit code 1: boom 2024-01-03$/);
    assert.ok(existsSync(f.log));
  });

  it('exit codes: 0 when every task succeeded, 1 when one fails, 2 for bad usage', () => {
    const dir = workspace(PIPELINE);
    expectExit(0, ['run', 'days', '--partition', '2024-01-01'], at(dir));
    writeFileSync(path.join(dir, 'fail-2024-01-02'), '');
    expectExit(1, ['run', 'days', '--partition', '2024-01-02'], at(dir));
    assert.match(userError(['run', 'dayz'], at(dir)), /unknown asset "dayz"/);
    assert.match(userError(['run', 'days', '--concurrency', '0'], at(dir)), /invalid --concurrency "0"/);
    assert.match(userError(['run', 'days', '--sample', 'x'], at(dir)), /invalid --sample "x"/);
    assert.match(userError(['run', 'days', '--partition', '2024-02-30'], at(dir)), /partition "2024-02-30" of asset "days" does not exist/);
    assert.match(userError(['run', 'days', '--bogus'], at(dir)), /unknown option '--bogus'/);
    assert.match(userError(['resume', 'bf-nope'], at(dir)), /no backfill "bf-nope"/);
    assert.match(userError(['cancel', 'bf-nope'], at(dir)), /no backfill "bf-nope"/);
    // Two runs so far, nothing from the failed usages.
    assert.equal(json<BackfillsJson>(['backfills'], at(dir)).backfills.length, 2);
  });

  it('--sample 2 runs the first and last partitions and pauses (exit 3); resume runs the rest', () => {
    const dir = workspace(PIPELINE);
    const out = expectExit(3, ['run', 'days', '--sample', '2'], at(dir));
    assert.deepEqual(runs(dir).sort(), ['days 2024-01-01', 'days 2024-01-21']);
    const id = json<BackfillsJson>(['backfills'], at(dir)).backfills[0]!.id;
    assert.match(out, new RegExp(`^backfill ${id} paused after the sample in \\S+: 2 succeeded · 19 pending$`, 'm'));
    assert.match(out, new RegExp(`^resume with: backfill resume ${id}$`, 'm'));
    assert.equal(json<BackfillsJson>(['backfills'], at(dir)).backfills[0]!.status, 'paused');
    const report = json<ReportJson>(['resume', id], at(dir));
    assert.equal(report.backfill.status, 'succeeded');
    assert.equal(report.backfill.counts.succeeded, 21);
    const counts = runCounts(dir);
    assert.equal(counts.size, 21);
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      'no partition ran twice',
    );
  });
});

describe('backfill backfills', () => {
  it('lists backfills newest first, with status, counts and description', () => {
    const dir = workspace(PIPELINE);
    assert.match(ok(['backfills'], at(dir)), /^no backfills yet/);
    ok(['run', 'days', '--partition', '2024-01-01'], at(dir));
    ok(['run', 'days', '--partition', '2024-01-02', '--partition', '2024-01-05'], at(dir));
    writeFileSync(path.join(dir, 'fail-2024-01-03'), '');
    expectExit(1, ['run', 'days', '--from', '2024-01-03', '--to', '2024-01-03'], at(dir));
    const list = json<BackfillsJson>(['backfills'], at(dir)).backfills;
    assert.deepEqual(
      list.map((b) => [b.status, b.description, b.counts.succeeded, b.counts.failed]),
      [
        ['failed', 'days --from 2024-01-03 --to 2024-01-03', 0, 1],
        ['succeeded', 'days --partition 2024-01-02 --partition 2024-01-05', 2, 0],
        ['succeeded', 'days --partition 2024-01-01', 1, 0],
      ],
    );
    const created = list.map((b) => Date.parse(b.created));
    assert.ok(created[0]! >= created[1]! && created[1]! >= created[2]!);
    assert.ok(list.every((b) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(b.created)));
    const table = ok(['backfills'], at(dir)).trimEnd().split('\n');
    assert.match(table[0]!, /^id\s+status\s+progress\s+created\s+description$/);
    assert.match(table[1]!, new RegExp(`^${list[0]!.id}\\s+failed\\s+0/1\\s+\\S+Z\\s+days --from 2024-01-03 --to 2024-01-03$`));
    assert.match(table[2]!, /\ssucceeded\s+2\/2\s/);
  });
});

describe('backfill cancel', () => {
  it('stops a running backfill from a second process', async () => {
    const dir = workspace(`assets:
  slow:
    partitions: {static: [a, b, c]}
    run: sleep 30
`);
    const child = spawn(process.execPath, [CLI, 'run', 'slow', '--concurrency', '2', ...NOW], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Wait until both commands run.
      let id: string | undefined;
      for (let i = 0; i < 100 && id === undefined; i++) {
        const b = json<BackfillsJson>(['backfills'], at(dir)).backfills[0];
        if (b?.status === 'running' && b.counts.running === 2) id = b.id;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(id, 'the backfill never showed as running');
      const t0 = Date.now();
      assert.equal(ok(['cancel', id], at(dir)), `cancel requested for ${id}\n`);
      const code = await exited;
      assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms to stop`);
      assert.equal(code, 1);
      const [b] = json<BackfillsJson>(['backfills'], at(dir)).backfills;
      assert.equal(b!.status, 'canceled');
      assert.deepEqual(b!.counts, { succeeded: 0, failed: 0, skipped: 0, canceled: 2, running: 0, pending: 1 });
      assert.match(stdout, new RegExp(`^backfill ${id} canceled in \\S+: 2 canceled · 1 pending$`, 'm'));
      assert.match(stdout, new RegExp(`^resume with: backfill resume ${id}$`, 'm'));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('SIGINT cancels the run it interrupts', async () => {
    const dir = workspace(`assets:
  slow:
    partitions: {static: [a, b]}
    run: sleep 30
`);
    const child = spawn(process.execPath, [CLI, 'run', 'slow', '--json', ...NOW], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let running = false;
      for (let i = 0; i < 100 && !running; i++) {
        running = json<BackfillsJson>(['backfills'], at(dir)).backfills[0]?.counts['running'] === 2;
        if (!running) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(running, 'the backfill never showed two running tasks');
      child.kill('SIGINT');
      assert.equal(await exited, 1, stderr);
      const report = JSON.parse(stdout) as ReportJson;
      assert.equal(report.backfill.status, 'canceled');
      assert.equal(report.backfill.counts.canceled, 2);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('help', () => {
  it('lists the backfill commands', () => {
    const dir = workspace(PIPELINE);
    const help = ok(['--help'], at(dir));
    for (const command of ['plan', 'run', 'resume', 'cancel', 'backfills']) assert.match(help, new RegExp(`^ {2}${command}\\b`, 'm'));
    assert.match(ok(['run', '--help'], at(dir)), /--sample <n>/);
  });
});

describe('a state database that cannot be written (disk full, read-only folder)', () => {
  it('disk full mid-run: one clear message, nothing recorded half-way, resume finishes once there is space; read-only: the fix named', () => {
    // A 1 MB file system of our own (a tmpfs in a private mount namespace: no root needed) holds
    // the database; the job of 2024-01-03 fills it.
    const dir = workspace(`assets:
  days:
    partitions: {daily: {start: 2024-01-01, end: 2024-01-06}}
    run: sh job.sh {partition}
`);
    writeFileSync(
      path.join(dir, 'job.sh'),
      'echo "$1" >> runs.log\nif [ "$1" = 2024-01-03 ] && [ ! -f filled ]; then touch filled; head -c 8M /dev/zero > small/fill 2>/dev/null; fi\necho "ok $1"\n',
    );
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const cli = `${q(process.execPath)} ${q(CLI)}`;
    const state = '--state small/state.db --now 2024-02-01';
    writeFileSync(
      path.join(dir, 'scenario.sh'),
      `mkdir small && mount -t tmpfs -o size=1m tmpfs small || exit 90
${cli} run days --concurrency 1 ${state} > out-run.txt 2> err-run.txt; echo $? > code-run.txt
rm -f small/fill
${cli} backfills ${state} --json > backfills.json
${cli} resume "$(node -e 'console.log(JSON.parse(require("fs").readFileSync("backfills.json","utf8")).backfills[0].id)')" ${state} > out-resume.txt 2>&1; echo $? > code-resume.txt
${cli} status days ${state} --json > status.json 2>&1
mount -o remount,ro small
${cli} run days ${state} > out-ro.txt 2> err-ro.txt; echo $? > code-ro.txt
`,
    );
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', 'scenario.sh'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.ok(
      r.status === 0 && !r.error,
      `unshare (util-linux) must be able to make a private tmpfs here: ${r.error?.message ?? ''} ${r.stderr} (exit ${r.status})`,
    );
    const read = (name: string): string => readFileSync(path.join(dir, name), 'utf8');

    assert.equal(read('code-run.txt').trim(), '2');
    const [full, stopped] = read('err-run.txt').trim().split('\n');
    assert.match(
      full!,
      /^backfill: the disk holding the state database \S+small\/state\.db is full \(.*\): nothing of the failed write was recorded; free some space, then retry$/,
    );
    assert.match(
      stopped!,
      /^backfill bf-\S+ stopped: 1 task that was in progress is not recorded as done and will run again; what succeeded before is kept\. Once the database can be written again, resume with: backfill resume bf-\S+$/,
    );
    assert.doesNotMatch(read('err-run.txt'), /\n\s+at /);

    assert.equal(read('code-resume.txt').trim(), '0', read('out-resume.txt'));
    assert.deepEqual((JSON.parse(read('status.json')) as { assets: Array<{ counts: Record<string, number> }> }).assets[0]!.counts, {
      fresh: 5,
      stale: 0,
      missing: 0,
      failed: 0,
      running: 0,
    });
    // 01 and 02 were recorded before the disk filled: they never ran again. 03 ran again.
    assert.deepEqual(runs(dir), ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-03', '2024-01-04', '2024-01-05']);

    assert.equal(read('code-ro.txt').trim(), '2');
    assert.match(
      read('err-ro.txt').trim(),
      /^backfill: cannot write the state database \S+small\/state\.db \(.*\): check the folder's permissions or use --state$/,
    );
  });
});
