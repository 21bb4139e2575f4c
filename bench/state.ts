// Benchmark of the state store and the staleness engine (numbers go in docs/benchmarks.md):
//  1. statuses of 1,000 assets × 1,000 daily partitions (10^6 partitions), from a warm database;
//  2. recording 100,000 materializations (one transaction);
//  3. after one new materialization, the incremental refresh of what it changes.
// Run: npm run bench:state (each SQLite driver side by side: bench/state-drivers.mjs), or one
// driver: node --import tsx bench/state.ts [--driver node:sqlite|better-sqlite3]. Writes
// bench/results/state.json, or the file named by BENCH_OUT.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { PartitionSubset } from '../src/core/partitions/subset.ts';
import { indexStoreFor } from '../src/core/state/record.ts';
import { StatusEngine } from '../src/core/state/staleness.ts';
import type { SqliteDriverName } from '../src/core/state/sqlite.ts';
import { StateStore, type AttemptInput } from '../src/core/state/store.ts';
import { ASSETS, attemptsOf, benchWorkspace, PARTITIONS, seed } from './stateFixture.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const driverArg = process.argv.indexOf('--driver');
const driver = driverArg > 0 ? (process.argv[driverArg + 1] as SqliteDriverName) : undefined;

const root = mkdtempSync(path.join(tmpdir(), 'backfill-bench-state-'));
try {
  const { ws, codeVersions } = benchWorkspace(root);

  const store = StateStore.open(path.join(root, '.backfill', 'state.db'), driver ? { driver } : {});
  console.log(`SQLite through ${store.driverDescription} on Node ${process.versions.node}`);
  indexStoreFor(ws, store);
  process.stdout.write(`setting up ${ASSETS * PARTITIONS} recorded partitions… `);
  const setup = time(() => seed(ws, store));
  console.log(`${(setup / 1000).toFixed(1)} s`);

  // 1. Full computation from the database (pages warm in the OS cache, engine cold).
  const full: number[] = [];
  let counts = { fresh: 0, stale: 0, missing: 0, failed: 0, running: 0 };
  for (let r = 0; r < 5; r++) {
    full.push(
      time(() => {
        const engine = new StatusEngine({ graph: ws.graph, store, codeVersions });
        counts = { fresh: 0, stale: 0, missing: 0, failed: 0, running: 0 };
        for (const st of engine.computeAll().values()) {
          const c = st.counts();
          for (const k of Object.keys(c) as Array<keyof typeof c>) counts[k] += c[k];
        }
      }),
    );
  }

  // 2. Recording 100,000 materializations in one transaction (a fresh asset set, as a big backfill
  // would), three times over three sets of 100 assets.
  const records: number[] = [];
  for (let r = 0; r < 3; r++) {
    const batch: AttemptInput[] = [];
    for (let a = 0; a < 100; a++) {
      const asset = ws.graph.order[r * 100 + a]!;
      for (let i = 0; i < PARTITIONS; i++) batch.push(...attemptsOf(asset.name, [], [asset.partitions.keyAt(i)], 10 + i + r));
    }
    records.push(time(() => store.record(batch)));
  }
  const record = median(records);

  // 3. Incremental: one new materialization, then refresh what it affects.
  const engine = new StatusEngine({ graph: ws.graph, store, codeVersions });
  engine.computeAll();
  const target = ws.graph.order[3]!;
  const incremental: number[] = [];
  for (let r = 0; r < 20; r++) {
    const idx = 100 + r;
    store.record(
      attemptsOf(
        target.name,
        target.deps.map((d) => d.asset),
        [target.partitions.keyAt(idx)],
        100 + r,
      ),
    );
    incremental.push(time(() => engine.refresh(target.name, PartitionSubset.of([idx]))));
  }
  const description = store.driverDescription;
  store.close();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const rows = [
    [
      'statuses of 1,000 assets × 1,000 partitions (10^6), warm database',
      median(full),
      1000,
      `${counts.stale} stale, ${counts.fresh} fresh`,
    ],
    ['record 100,000 materializations (one transaction)', record, 2000, ''],
    ['incremental refresh after one materialization', median(incremental), 20, `asset ${target.name} + its downstream`],
  ] as const;
  console.log(`\nMachine: ${cpu} × ${cpus().length}, load average ${loadavg()[0]!.toFixed(1)}, Node ${process.version}.\n`);
  console.log('| Measure | Median | Target |\n|---|---:|---|');
  for (const [name, ms, target, note] of rows)
    console.log(`| ${name}${note ? ` (${note})` : ''} | ${ms.toFixed(1)} ms | < ${target} ms ${ms < target ? '✓' : '✗'} |`);
  const out = process.env.BENCH_OUT ?? path.join(__dirname, 'results', 'state.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        machine: cpu,
        node: process.version,
        driver: description,
        full,
        records,
        incremental,
        counts,
        medians: { full: median(full), record, incremental: median(incremental) },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
