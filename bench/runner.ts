// Benchmark of the runner (numbers go in docs/benchmarks.md): 10,000 no-op tasks (`true`, through
// /bin/sh as every task command is) with concurrency 8, against `xargs -P 8` running the same
// commands. Every task is recorded in the state store (attempt started/finished, task states).
// Run: npm run bench:runner. Writes bench/results/runner.json.
import { execSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { PartitionSubset } from '../src/core/partitions/subset.ts';
import { planBackfill } from '../src/core/plan/planner.ts';
import { newBackfillId, saveBackfill } from '../src/core/run/backfill.ts';
import { BackfillRunner } from '../src/core/run/runner.ts';
import { indexStoreFor, statePath } from '../src/core/state/record.ts';
import { StateStore } from '../src/core/state/store.ts';
import { loadWorkspace } from '../src/core/workspace.ts';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 10_000);
const CONCURRENCY = 8;

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'backfill-bench-runner-'));
  try {
    // Ten assets of 1,000 daily partitions each: a realistic backfill of ten tables over ~3 years.
    const perAsset = TASKS / 10;
    let yaml = 'assets:\n';
    for (let a = 0; a < 10; a++) yaml += `  t${a}:\n    partitions: { daily: { start: 2020-01-01 } }\n    run: 'true'\n`;
    writeFileSync(path.join(root, 'bench.assets.yaml'), yaml);
    const ws = await loadWorkspace(root, { now: new Date(Date.UTC(2020, 0, 1 + perAsset)) });
    const store = StateStore.open(statePath(root));
    indexStoreFor(ws, store);
    const plan = planBackfill(
      ws.graph,
      { roots: [...ws.assets.keys()].map((a) => ({ asset: a, partitions: PartitionSubset.all(perAsset) })), downstream: false },
      { runId: newBackfillId(), concurrency: CONCURRENCY },
    );
    const id = await saveBackfill(store, plan, { description: 'bench', workspace: root, options: {} });

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await new BackfillRunner(ws, store, id, { concurrency: CONCURRENCY }).run();
    const ours = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    store.close();
    if (report.counts.succeeded !== TASKS) throw new Error(`only ${report.counts.succeeded} tasks succeeded`);

    const t1 = performance.now();
    execSync(`seq ${TASKS} | xargs -P ${CONCURRENCY} -I{} /bin/sh -c true`, { stdio: 'ignore' });
    const xargs = performance.now() - t1;

    // The floor for any Node runner: child_process.spawn in a loop, same commands, same limit.
    const t2 = performance.now();
    await bareNodeLoop(TASKS, CONCURRENCY);
    const bare = performance.now() - t2;

    const ratio = ours / xargs;
    const cpuPerTaskMs = (cpu.user + cpu.system) / 1000 / TASKS;
    const machine = `${cpus()[0]?.model ?? 'CPU'} × ${cpus().length}, load average ${loadavg()[0]!.toFixed(1)}, Node ${process.version}`;
    console.log(`\nMachine: ${machine}.\n`);
    console.log('| Measure | Result | Target |\n|---|---:|---|');
    console.log(`| runner: ${TASKS} no-op tasks, concurrency ${CONCURRENCY}, recorded in the store | ${(ours / 1000).toFixed(2)} s | |`);
    console.log(`| xargs -P ${CONCURRENCY}: the same commands | ${(xargs / 1000).toFixed(2)} s | |`);
    console.log(`| bare Node loop of child_process.spawn: the same commands | ${(bare / 1000).toFixed(2)} s | |`);
    console.log(`| ratio runner / xargs | ${ratio.toFixed(2)}× | < 1.3× ${ratio < 1.3 ? '✓' : '✗'} |`);
    console.log(`| ratio runner / bare Node spawn loop | ${(ours / bare).toFixed(2)}× | |`);
    console.log(`| runner overhead per task beyond the bare spawn loop | ${((ours - bare) / TASKS).toFixed(2)} ms | |`);
    console.log(`| runner CPU per task (scheduling, store writes, spawning) | ${cpuPerTaskMs.toFixed(2)} ms | |`);
    mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    writeFileSync(
      path.join(__dirname, 'results', 'runner.json'),
      JSON.stringify({ machine, tasks: TASKS, oursMs: ours, xargsMs: xargs, bareNodeMs: bare, ratio, cpuPerTaskMs }, null, 2),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function bareNodeLoop(n: number, concurrency: number): Promise<void> {
  let started = 0;
  let done = 0;
  return new Promise((resolve) => {
    const next = (): void => {
      while (started < n && started - done < concurrency) {
        started++;
        const c = spawn('/bin/sh', ['-c', 'true'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        c.stdout.resume();
        c.stderr.resume();
        c.on('exit', () => (++done === n ? resolve() : next()));
      }
    };
    next();
  });
}

void main();
