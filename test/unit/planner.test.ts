import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../src/core/diagnostics.ts';
import { PartitionSubset } from '../../src/core/partitions/subset.ts';
import { renderCommand } from '../../src/core/plan/command.ts';
import { planBackfill, type BackfillPlan, type Selection } from '../../src/core/plan/planner.ts';
import { loadWorkspaceFromSources, type Workspace } from '../../src/core/workspace.ts';

const ROOT = '/ws';
const NOW = new Date('2024-01-15T00:00:00Z');

function workspace(yaml: string): Workspace {
  const ws = loadWorkspaceFromSources(ROOT, [{ path: '/ws/pipeline.assets.yaml', text: yaml }], { now: NOW });
  assert.deepEqual(
    ws.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
    [],
  );
  return ws;
}
function keys(ws: Workspace, asset: string, ...k: string[]): PartitionSubset {
  const def = ws.assets.get(asset)!.partitions;
  return PartitionSubset.of(k.map((x) => def.indexOf(x)));
}
function plan(ws: Workspace, selection: Selection, durations?: (a: string) => number[]): BackfillPlan {
  return planBackfill(ws.graph, selection, { runId: 'bf-test', concurrency: 2, ...(durations ? { durationSamples: durations } : {}) });
}
function planError(ws: Workspace, selection: Selection): string {
  try {
    plan(ws, selection);
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    return e.message;
  }
  assert.fail('expected a planning error');
}

const PIPELINE = `
assets:
  raw:
    partitions: { daily: { start: 2024-01-01 } }
    run: node pull.mjs --day {partition}
  clean:
    partitions: { daily: { start: 2024-01-01 } }
    deps: [raw]
    run: node clean.mjs {partition} {start} {end}
    env: { MODE: strict }
  weekly:
    partitions: { weekly: { start: 2024-01-01 } }
    deps: [clean]
    run: node weekly.mjs {first} {last} -- {partitions}
    backfill: { strategy: single_run, max_partitions_per_run: 2 }
  model:
    deps: [weekly]
    run: node train.mjs
    cwd: ml
`;

describe('planner', () => {
  it('backfill downstream: the selected partitions and every partition that depends on them, in order', () => {
    const ws = workspace(PIPELINE);
    const p = plan(ws, { roots: [{ asset: 'raw', partitions: keys(ws, 'raw', '2024-01-09', '2024-01-10') }], downstream: true });
    assert.deepEqual(
      p.tasks.map((t) => [t.id, t.asset, t.partitions, t.after]),
      [
        ['t1', 'raw', ['2024-01-09'], []],
        ['t2', 'raw', ['2024-01-10'], []],
        ['t3', 'clean', ['2024-01-09'], ['t1']],
        ['t4', 'clean', ['2024-01-10'], ['t2']],
        ['t5', 'weekly', ['2024-01-07'], ['t3', 't4']],
        ['t6', 'model', [], ['t5']],
      ],
    );
    assert.deepEqual(
      p.assets.map((a) => [a.asset, a.reason]),
      [
        ['raw', 'selected'],
        ['clean', 'downstream'],
        ['weekly', 'downstream'],
        ['model', 'downstream'],
      ],
    );
    const { cost, time, resources, ...summary } = p.summary;
    // No history and no rates: every asset's cost and time is unknown, none is invented.
    assert.deepEqual(cost.unknown, ['raw', 'clean', 'weekly', 'model']);
    assert.equal(cost.expected, 0);
    assert.deepEqual(time.unknown, ['raw', 'clean', 'weekly', 'model']);
    assert.deepEqual([time.expected_seconds, time.low_seconds, time.high_seconds], [null, null, null]);
    assert.equal(resources, null); // no asset declares resources
    assert.deepEqual(summary, {
      tasks: 6,
      partitions: 6,
      assets: 4,
      estimated_seconds: null,
      no_history: ['raw', 'clean', 'weekly', 'model'],
    });
  });

  it('single_run assets get one task per contiguous chunk, with the range in the command', () => {
    const ws = workspace(PIPELINE.replaceAll('start: 2024-01-01', 'start: 2023-12-01'));
    const all = PartitionSubset.all(ws.assets.get('weekly')!.partitions.size);
    const p = plan(ws, { roots: [{ asset: 'weekly', partitions: all.minus(PartitionSubset.of([2])) }], downstream: false });
    const weekly = p.tasks.filter((t) => t.asset === 'weekly');
    assert.deepEqual(
      weekly.map((t) => t.partitions),
      [['2023-12-03', '2023-12-10'], ['2023-12-24', '2023-12-31'], ['2024-01-07']],
    );
    assert.equal(weekly[0]!.command, 'node weekly.mjs 2023-12-03 2023-12-10 -- 2023-12-03 2023-12-10');
    assert.equal(weekly[0]!.env['BACKFILL_PARTITIONS'], '2023-12-03\n2023-12-10');
  });

  it('renders placeholders, environment and working folder', () => {
    const ws = workspace(PIPELINE);
    const clean = ws.assets.get('clean')!;
    const r = renderCommand(clean, keys(ws, 'clean', '2024-01-02'), 'bf-1');
    assert.equal(r.command, 'node clean.mjs 2024-01-02 2024-01-02T00:00:00.000Z 2024-01-03T00:00:00.000Z');
    assert.equal(r.cwd, '/ws');
    assert.deepEqual(r.env, {
      MODE: 'strict',
      BACKFILL_ASSET: 'clean',
      BACKFILL_START: '2024-01-02T00:00:00.000Z',
      BACKFILL_END: '2024-01-03T00:00:00.000Z',
      BACKFILL_RUN_ID: 'bf-1',
      BACKFILL_PARTITION: '2024-01-02',
    });
    assert.equal(renderCommand(ws.assets.get('model')!, PartitionSubset.of([0]), 'bf-1').cwd, '/ws/ml');
  });

  it('a placeholder stays data in every quoting context: keys with $( ), backquotes, quotes and backslashes run nothing', () => {
    const ws = workspace(`
assets:
  k:
    partitions: { static: ["$(touch PWNED)", "a\\"b", "it's", "\`touch TICK\`", "back\\\\slash", "x y"] }
    run: printf '%s|%s|%s|%s\\n' "dq={partition}" 'sq={partition}' {partition} "\\"{partition}\\""
`);
    const asset = ws.assets.get('k')!;
    const dir = mkdtempSync(path.join(tmpdir(), 'backfill-quoting-'));
    try {
      for (let i = 0; i < asset.partitions.size; i++) {
        const key = asset.partitions.keyAt(i);
        const out = execFileSync('/bin/sh', ['-c', renderCommand(asset, PartitionSubset.of([i]), 'bf').command], {
          cwd: dir,
          encoding: 'utf8',
        });
        assert.equal(out, `dq=${key}|sq=${key}|${key}|"${key}"\n`);
      }
      assert.deepEqual(readdirSync(dir), [], 'a key ran as a command');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('multi keys are available per dimension', () => {
    const ws = workspace(`
assets:
  cells:
    partitions: { multi: { region: { static: [eu, "us west"] }, date: { daily: { start: 2024-01-01 } } } }
    run: job {dim:region} {dim:date} {partition}
`);
    const r = renderCommand(ws.assets.get('cells')!, keys(ws, 'cells', '2024-01-03|us west'), 'bf');
    assert.equal(r.command, "job 'us west' 2024-01-03 '2024-01-03|us west'");
  });

  it('a selection that reads upstream partitions that do not exist is an error, not an empty plan', () => {
    const ws = workspace(`
assets:
  early:
    partitions: { daily: { start: 2024-01-05 } }
  late:
    partitions: { daily: { start: 2024-01-01 } }
    deps: [early]
    run: 'true'
`);
    const message = planError(ws, {
      roots: [{ asset: 'late', partitions: keys(ws, 'late', '2024-01-02', '2024-01-06') }],
      downstream: false,
    });
    assert.match(message, /reads upstream partitions that do not exist:\n {2}late ← early: 2024-01-02/);
  });

  it('a selection that matches nothing says so', () => {
    const ws = workspace(PIPELINE);
    assert.match(
      planError(ws, { roots: [{ asset: 'raw', partitions: PartitionSubset.EMPTY }], downstream: true }),
      /nothing to backfill: no partitions of raw/,
    );
  });

  it('an asset without a run command cannot be planned', () => {
    const ws = workspace(PIPELINE.replace('    run: node pull.mjs --day {partition}\n', ''));
    assert.match(
      planError(ws, { roots: [{ asset: 'raw', partitions: keys(ws, 'raw', '2024-01-02') }], downstream: false }),
      /asset "raw" has no run command: add run: .*pipeline\.assets\.yaml:3/,
    );
  });

  it('estimates from median durations with the concurrency', () => {
    const ws = workspace(PIPELINE);
    const p = plan(
      ws,
      { roots: [{ asset: 'raw', partitions: keys(ws, 'raw', '2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04') }], downstream: false },
      (a) => (a === 'raw' ? [10_000] : []),
    );
    // Four 10 s tasks on two workers.
    assert.equal(p.summary.estimated_seconds, 20);
    assert.deepEqual(p.summary.time.assets[0], {
      asset: 'raw',
      source: 'history',
      task_seconds: { median: 10, low: 10, high: 10 },
      samples: 1,
    });
    assert.deepEqual(
      p.summary.no_history,
      ['clean', 'weekly', 'model'].filter((a) => p.assets.some((x) => x.asset === a)),
    );
  });

  it('the time estimate: the median case and a range from the 10th and 90th percentile durations, with dependencies', () => {
    const ws = workspace(PIPELINE);
    const four = keys(ws, 'raw', '2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04');
    const p = plan(ws, { roots: [{ asset: 'raw', partitions: four }], downstream: true }, (a) =>
      a === 'raw' ? [2000, 4000, 6000, 8000, 10_000] : a === 'clean' ? [1000] : [],
    );
    const { time } = p.summary;
    // raw: median 6 s, 10th percentile 2.8 s, 90th 9.2 s; clean 1 s. Two workers, tasks started
    // in plan order as the runner does: raw's four in two rounds, then clean's four in two
    // (no week is complete in those days). 2×6+2×1 = 14 s, 2×2.8+2 = 7.6, 2×9.2+2 = 20.4.
    assert.deepEqual([time.expected_seconds, time.low_seconds, time.high_seconds], [14, 8, 20]);
    assert.deepEqual(time.unknown, []);
    assert.deepEqual(time.assets.find((a) => a.asset === 'raw')?.task_seconds, { median: 6, low: 2.8, high: 9.2 });
    assert.equal(time.assets.find((a) => a.asset === 'raw')?.samples, 5);
  });

  it('the time estimate follows the pools and the resources the runner admits tasks by; the plan shows the peak use', () => {
    const ws = workspace(
      'pools: { api: 1 }\n' +
        PIPELINE.replace('    run: node pull.mjs --day {partition}\n', '    run: node pull.mjs --day {partition}\n    pool: api\n').replace(
          '    env: { MODE: strict }\n',
          '    env: { MODE: strict }\n    resources: { cpus: 2, memory: 3GiB }\n',
        ),
    );
    const four = (asset: string) => ({ asset, partitions: keys(ws, asset, '2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04') });
    const tenSeconds = () => [10_000];
    const GiB = 1024 ** 3;
    // The pool runs one raw task at a time, whatever the concurrency.
    const pooled = planBackfill(
      ws.graph,
      { roots: [four('raw')], downstream: false },
      {
        runId: 'bf-test',
        concurrency: 4,
        durationSamples: tenSeconds,
        pools: ws.pools,
      },
    );
    assert.equal(pooled.summary.estimated_seconds, 40);
    assert.equal(pooled.summary.resources, null); // raw declares no resources
    // 7 GiB of memory holds two 3 GiB clean tasks at once, not four.
    const capacity = { cpus: 8, memory: 7 * GiB };
    const fitted = planBackfill(
      ws.graph,
      { roots: [four('clean')], downstream: false },
      {
        runId: 'bf-test',
        concurrency: 4,
        durationSamples: tenSeconds,
        capacity,
      },
    );
    assert.equal(fitted.summary.estimated_seconds, 20);
    assert.deepEqual(fitted.summary.resources, { peak: { cpus: 4, memory: 6 * GiB, tasks: 2 }, capacity });
    // Without history the peak is still what admission allows at once.
    const unknown = planBackfill(ws.graph, { roots: [four('clean')], downstream: false }, { runId: 'bf-test', concurrency: 3, capacity });
    assert.deepEqual(unknown.summary.resources?.peak, { cpus: 4, memory: 6 * GiB, tasks: 2 });
  });

  it('large plans suggest starting small', () => {
    const ws = workspace(`
assets:
  hours:
    partitions: { hourly: { start: 2023-12-01-00:00 } }
    run: 'true'
`);
    const p = plan(ws, {
      roots: [{ asset: 'hours', partitions: PartitionSubset.all(ws.assets.get('hours')!.partitions.size) }],
      downstream: false,
    });
    assert.equal(p.summary.partitions, 45 * 24);
    assert.ok(p.warnings.includes('large backfill: 1080 partitions — consider starting small with --sample N'));
  });
});
