// Cost and budgets: the cost model in definitions, what a task cost (reported, else its rate),
// estimates that say where they come from, refusal at plan time, and a run that stops starting
// tasks at its budget and finishes when resumed with a larger one. Real processes, real store.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { estimateCost, quantile, taskCost } from '../../src/core/cost/cost.ts';
import { formatCost, parseMemory } from '../../src/core/cost/units.ts';
import type { AssetDefinition } from '../../src/core/model.ts';
import { StateStore } from '../../src/core/state/store.ts';
import { loadWorkspaceFromSources } from '../../src/core/workspace.ts';
import { backfill, buildCli, json, ok, removeTempDirs, tempWorkspace } from './cli-harness.ts';

const NOW = ['--now', '2024-02-01'];

function load(text: string, more: Record<string, string> = {}) {
  const files = { '/ws/a.assets.yaml': text, ...more };
  return loadWorkspaceFromSources(
    '/ws',
    Object.entries(files).map(([p, t]) => ({ path: p, text: t })),
    { now: new Date('2024-02-01') },
  );
}

const problems = (text: string, more: Record<string, string> = {}): string[] =>
  load(text, more).diagnostics.map((d) => `${path.basename(d.file)}:${d.line}:${d.column} ${d.severity}: ${d.message}`);

describe('cost and resources in definitions', () => {
  it('reads a rate, resources, the cost unit and the budget', () => {
    const ws = load(
      [
        'cost_unit: USD',
        'budget: 50',
        'assets:',
        '  a:',
        '    cost: {per_hour: 3.2}',
        '    resources: {cpus: 2, memory: 6GiB}',
        '  b:',
        '    cost: {per_run: 0.40}',
        '  c:',
        '    cost: {per_partition: 0}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(ws.diagnostics, []);
    assert.equal(ws.costUnit, 'USD');
    assert.equal(ws.budget, 50);
    assert.deepEqual(ws.assets.get('a')!.cost, { per_hour: 3.2 });
    assert.deepEqual(ws.assets.get('a')!.resources, { cpus: 2, memory: 6 * 2 ** 30 });
    assert.deepEqual(ws.assets.get('b')!.cost, { per_run: 0.4 });
    assert.deepEqual(ws.assets.get('c')!.cost, { per_partition: 0 });
  });

  it('bad values are errors at their line, and the asset stays loaded without them', () => {
    const text = [
      'assets:',
      '  negative:',
      '    cost: {per_run: -1}',
      '  scalar:',
      '    cost: -1',
      '  two_rates:',
      '    cost: {per_run: 1, per_hour: 2}',
      '  unknown_rate:',
      '    cost: {per_day: 1}',
      '  lots:',
      '    resources: {memory: lots}',
      '  no_cpus:',
      '    resources: {cpus: 0}',
      '',
    ].join('\n');
    assert.deepEqual(problems(text), [
      'a.assets.yaml:3:21 error: "cost.per_run" in asset "negative" must be a number ≥ 0, got -1',
      'a.assets.yaml:5:11 error: "cost" in asset "scalar" must be a mapping with one rate such as {per_run: 0.40}, {per_partition: 0.02} or {per_hour: 3.2}, got -1',
      'a.assets.yaml:7:24 error: cost in asset "two_rates" has more than one rate: give one of per_run, per_partition, per_hour',
      'a.assets.yaml:9:12 error: unknown rate "per_day" in cost (per_run, per_partition or per_hour)',
      'a.assets.yaml:11:25 error: "resources.memory" in asset "lots" must be a size such as 6GiB, 512MiB or 2GB, got "lots"',
      'a.assets.yaml:13:23 error: "resources.cpus" in asset "no_cpus" must be a number of cores > 0, got 0',
    ]);
    assert.equal(load(text).assets.size, 6);
    assert.equal(load(text).assets.get('negative')!.cost, undefined);
  });

  it('the cost unit and the budget are given once for the workspace', () => {
    assert.deepEqual(problems('cost_unit: USD\nbudget: 0\n', { '/ws/b.assets.yaml': 'cost_unit: credits\n' }), [
      'a.assets.yaml:2:9 error: budget must be a number > 0 (the most a backfill may cost, in the cost unit), got 0',
      'b.assets.yaml:1:1 error: cost_unit is already given at a.assets.yaml:1: give it in one file',
    ]);
  });

  it('memory sizes: binary and decimal units, Slurm letters, bytes; nonsense is refused', () => {
    assert.equal(parseMemory('6GiB'), 6 * 2 ** 30);
    assert.equal(parseMemory('512Mi'), 512 * 2 ** 20);
    assert.equal(parseMemory('2GB'), 2e9);
    assert.equal(parseMemory('1.5G'), 1.5 * 2 ** 30);
    assert.equal(parseMemory(1048576), 2 ** 20);
    for (const bad of ['lots', '', '-1G', '0', '6 GiBs', 'G']) assert.equal(parseMemory(bad), null, bad);
  });
});

describe('what a task cost, and what planned tasks will cost', () => {
  const asset = (fields: Partial<AssetDefinition>): AssetDefinition => ({ name: 'a', ...fields }) as AssetDefinition;

  it('a reported cost wins over the rate; rates per run, per partition, per hour × cpus', () => {
    assert.deepEqual(taskCost(asset({ cost: { per_run: 5 } }), 3, 1000, 0.25), { cost: 0.25, source: 'reported' });
    assert.deepEqual(taskCost(asset({ cost: { per_run: 5 } }), 3, 1000, undefined), { cost: 5, source: 'rate' });
    assert.deepEqual(taskCost(asset({ cost: { per_partition: 2 } }), 3, 1000, undefined), { cost: 6, source: 'rate' });
    assert.deepEqual(taskCost(asset({ cost: { per_hour: 3.6 }, resources: { cpus: 2 } }), 1, 1_800_000, undefined), {
      cost: 3.6,
      source: 'rate',
    });
    assert.equal(taskCost(asset({}), 1, 1000, undefined), null);
  });

  it('from history: the median per partition times the partitions, the 10th–90th percentile range, the samples', () => {
    const samples = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const e = estimateCost(asset({ cost: { per_run: 100 } }), 4, 4, samples, null);
    assert.deepEqual(e, { asset: 'a', source: 'history', expected: 24, low: 8, high: 40, samples: 11 });
    assert.equal(quantile([1, 2], 0.5), 1.5);
  });

  it('without history: the rate (per run counts single_run chunks, not partitions); per hour needs a duration; else unknown', () => {
    assert.equal(estimateCost(asset({ cost: { per_run: 2 } }), 30, 3, [], null).expected, 6);
    assert.equal(estimateCost(asset({ cost: { per_partition: 0.5 } }), 30, 3, [], null).expected, 15);
    assert.equal(estimateCost(asset({ cost: { per_hour: 2 } }), 1, 2, [], 900_000).expected, 1);
    assert.deepEqual(estimateCost(asset({ cost: { per_hour: 2 } }), 1, 2, [], null), {
      asset: 'a',
      source: 'unknown',
      expected: null,
      low: null,
      high: null,
      samples: 0,
    });
    assert.equal(estimateCost(asset({}), 5, 5, [], 1000).source, 'unknown');
  });

  it('costs for people: the unit, and more digits for small amounts', () => {
    assert.equal(formatCost(12.4, 'USD'), '12.40 USD');
    assert.equal(formatCost(0.0123, 'credits'), '0.0123 credits');
    assert.equal(formatCost(3, undefined), '3.00');
    assert.equal(formatCost(0.5, 'USD'), '0.50 USD');
    assert.equal(formatCost(0.123456, 'USD'), '0.123 USD');
  });
});

describe('budgets: refused at plan time, stopped while running, resumed with more', () => {
  let dir: string;
  const cwd = (): { cwd: string } => ({ cwd: dir });
  before(() => {
    buildCli();
    dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'cost_unit: USD',
          'assets:',
          '  reported:',
          '    partitions: {daily: {start: 2024-01-01, end: 2024-01-07}}',
          `    run: "echo '::backfill cost=1'"`,
          '  rated:',
          '    partitions: {daily: {start: 2024-01-01, end: 2024-01-07}}',
          '    run: "true"',
          '    cost: {per_run: 2}',
          '  free:',
          '    run: "true"',
          '',
        ].join('\n'),
      },
      'backfill-cost-',
    );
  });
  after(removeTempDirs);

  interface PlanCostJson {
    backfill: {
      summary: {
        cost: {
          unit: string;
          expected: number;
          unknown: string[];
          assets: Array<{ asset: string; source: string; expected: number | null; samples: number }>;
        };
      };
    };
  }
  const planCost = (args: string[]) => json<PlanCostJson>(['plan', ...args, ...NOW], cwd()).backfill.summary.cost;

  it('the plan says where each estimate comes from: the rate, or unknown before any history', () => {
    const c = planCost(['reported', 'rated', 'free']);
    assert.equal(c.unit, 'USD');
    assert.deepEqual(
      c.assets.map((a) => [a.asset, a.source, a.expected]),
      [
        ['free', 'unknown', null],
        ['rated', 'rate', 12],
        ['reported', 'unknown', null],
      ],
    );
    assert.deepEqual(c.unknown, ['free', 'reported']);
    const text = ok(['plan', 'rated', ...NOW], cwd());
    assert.match(text, /^cost: ~12\.00 USD$/m);
    assert.match(text, /rated +6 partitions .* 12\.00 USD \(rate\)$/m);
  });

  it('a plan estimated above --max-cost is refused with the numbers; nothing runs', () => {
    const r = backfill(['run', 'rated', '--max-cost', '10', ...NOW], cwd());
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^backfill: the estimated cost ~12\.00 USD exceeds --max-cost 10\.00 USD: nothing was started\. Raise --max-cost/m,
    );
    assert.deepEqual(json<{ backfills: unknown[] }>(['backfills'], cwd()).backfills, []);
    assert.equal(backfill(['plan', 'rated', '--max-cost', '10', ...NOW], cwd()).code, 1);
    assert.equal(backfill(['plan', 'rated', '--max-cost', '12', ...NOW], cwd()).code, 0);
  });

  it('a run stops starting tasks at its budget (paused), and a resume with a larger budget finishes it, running nothing twice', () => {
    // No history and no rate: nothing to refuse at plan time; the reported costs stop it.
    const first = backfill(['run', 'reported', '--max-cost', '3.5', '--concurrency', '1', ...NOW], cwd());
    assert.equal(first.code, 3, first.stdout + first.stderr);
    assert.match(first.stdout, /paused \(budget\)/);
    assert.match(first.stdout, /^cost: 3\.00 USD spent of --max-cost 3\.50 USD$/m);
    assert.match(first.stdout, /resume with a larger budget: backfill resume (bf-\S+) --max-cost 6$/m);
    const id = /backfill resume (bf-\S+)/.exec(first.stdout)![1]!;
    const store = StateStore.open(path.join(dir, '.backfill', 'state.db'));
    try {
      assert.deepEqual(store.spentCost(id), { spent: 3, unknown: 0 });
      const done = store.history({ asset: 'reported' });
      assert.equal(done.length, 3);
      assert.ok(done.every((a) => a.cost === 1 && a.costSource === 'reported'));
    } finally {
      store.close();
    }
    // What each attempt cost, in history --json and in its text.
    const attempts = json<{ attempts: Array<{ cost: number | null; cost_source: string | null }> }>(
      ['history', 'reported'],
      cwd(),
    ).attempts;
    assert.deepEqual(
      attempts.map((a) => [a.cost, a.cost_source]),
      [
        [1, 'reported'],
        [1, 'reported'],
        [1, 'reported'],
      ],
    );
    assert.match(ok(['history', 'reported'], cwd()), /run bf-\S+ · cost 1\.00 USD$/m);
    // The estimate now comes from history: 6 partitions × 1.
    const c = planCost(['reported']);
    assert.deepEqual([c.assets[0]!.source, c.assets[0]!.expected, c.assets[0]!.samples], ['history', 6, 3]);

    const second = ok(['resume', id, '--max-cost', '6', ...NOW], cwd());
    assert.match(second, /^cost: 6\.00 USD spent$/m);
    const reopened = StateStore.open(path.join(dir, '.backfill', 'state.db'));
    try {
      const all = reopened.history({ asset: 'reported' });
      assert.equal(all.length, 6);
      assert.equal(new Set(all.map((a) => a.partition)).size, 6, 'a partition ran twice');
    } finally {
      reopened.close();
    }
    const listed = json<{ backfills: Array<{ id: string; status: string; spent_cost: number | null; max_cost: number | null }> }>(
      ['backfills'],
      cwd(),
    );
    assert.deepEqual(
      listed.backfills.filter((b) => b.id === id).map((b) => [b.status, b.spent_cost, b.max_cost]),
      [['succeeded', 6, 6]],
    );
    assert.match(ok(['backfills'], cwd()), new RegExp(`^${id} +succeeded +6/6 +6\\.00 USD of 6\\.00 `, 'm'));
  });

  it('a single_run asset is estimated per chunk from history: what one run of its command cost, whatever the chunk’s size', () => {
    const chunks = tempWorkspace(
      {
        'a.assets.yaml': [
          'cost_unit: USD',
          'assets:',
          '  chunked:',
          '    partitions: {daily: {start: 2024-01-01, end: 2024-01-31}}',
          `    run: "echo '::backfill cost=5'"`,
          '    backfill: {strategy: single_run, max_partitions_per_run: 7}',
          '',
        ].join('\n'),
      },
      'backfill-chunks-',
    );
    // A first run of 3 days: one run of the command, 5 USD.
    ok(['run', 'chunked', '--from', '2024-01-01', '--to', '2024-01-03', ...NOW], { cwd: chunks });
    const c = json<PlanCostJson>(['plan', 'chunked', ...NOW], { cwd: chunks }).backfill.summary.cost;
    // 30 days in chunks of 7: 5 runs of the command, 5 USD each (not 30 days × 5/3 USD).
    assert.deepEqual([c.assets[0]!.source, c.assets[0]!.expected, c.assets[0]!.samples], ['history', 25, 1]);
  });

  it('--max-cost must be a number > 0', () => {
    const r = backfill(['plan', 'rated', '--max-cost', '-1', ...NOW], cwd());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --max-cost "-1": expected a number > 0/);
  });
});

describe('resources: a task starts only while the declared cores and memory of those running fit', () => {
  let dir: string;
  before(() => {
    buildCli();
    dir = tempWorkspace(
      {
        'a.assets.yaml': [
          'assets:',
          '  big:',
          '    partitions: {daily: {start: 2024-01-01, end: 2024-01-07}}',
          '    resources: {cpus: 1, memory: 3GiB}',
          '    run: sh job.sh {partition}',
          '',
        ].join('\n'),
        // Each task writes when it started and ended, by its own clock.
        'job.sh': 'mkdir -p times; echo "$(date +%s%N) start" >> "times/$1"; sleep 0.3; echo "$(date +%s%N) end" >> "times/$1"\n',
      },
      'backfill-resources-',
    );
  });
  after(removeTempDirs);

  it('6 tasks of 3 GiB with 7 GiB: never more than 2 at once, measured from the tasks’ own start and end times', () => {
    ok(['run', 'big', '--concurrency', '6', '--max-memory', '7GiB', '--max-cpus', '64', ...NOW], { cwd: dir });
    const events: Array<[bigint, number]> = [];
    for (const f of readdirSync(path.join(dir, 'times'))) {
      for (const line of readFileSync(path.join(dir, 'times', f), 'utf8')
        .trim()
        .split('\n')) {
        const [t, what] = line.split(' ');
        events.push([BigInt(t!), what === 'start' ? 1 : -1]);
      }
    }
    assert.equal(events.length, 12);
    events.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    let running = 0;
    let peak = 0;
    for (const [, d] of events) peak = Math.max(peak, (running += d));
    assert.ok(peak <= 2, `${peak} tasks of 3 GiB ran at once with 7 GiB`);
  });

  it('a task larger than the whole capacity is refused before anything runs, naming where its resources are declared', () => {
    const r = backfill(['run', 'big', '--max-memory', '2GiB', ...NOW], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^backfill: big needs 3 GiB of memory \(resources: at a\.assets\.yaml:2\), more than the 2 GiB available \(--max-memory\): nothing was started$/m,
    );
    assert.match(
      backfill(['run', 'big', '--max-memory', 'lots', ...NOW], { cwd: dir }).stderr,
      /invalid --max-memory "lots": expected a size such as 16GiB/,
    );
  });
});
