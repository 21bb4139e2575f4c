// Benchmark (numbers go in docs/benchmarks.md): on a team database, the time from a colleague's
// task finishing to my statuses showing it — what the editor does between the two: a LISTEN
// notification naming the asset, that asset's states read again (SnapshotCache), every status
// recomputed (StatusEngine). The colleague is a second connection pool (another session, as
// another machine would be) that records a failed attempt of a leaf partition; "shown" is when
// my recomputed statuses say that partition failed. On the 10^6-partition workspace of
// bench/stateFixture.ts (1,000 assets × 1,000 days), copied into PostgreSQL first.
// Uses BENCH_PG_URL (password from PGPASSWORD or ~/.pgpass), else a throw-away server.
// Run: node --import tsx bench/team-latency.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { copyAttempts } from '../src/core/state/copy.ts';
import { PostgresStore } from '../src/core/state/postgres.ts';
import { indexStoreFor } from '../src/core/state/record.ts';
import { SnapshotCache } from '../src/core/state/snapshotCache.ts';
import { StatusEngine } from '../src/core/state/staleness.ts';
import { StateStore } from '../src/core/state/store.ts';
import { ASSETS, benchWorkspace, PARTITIONS, seed, withPostgres } from './stateFixture.ts';

const ROUNDS = 15;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main(): Promise<void> {
  await withPostgres('team', async (url, root) => {
    const { ws, codeVersions } = benchWorkspace(root);
    const names = [...ws.assets.keys()];
    const project = `latency-${Date.now()}`;
    process.stdout.write(`seeding ${ASSETS * PARTITIONS} partitions (SQLite, then copied into PostgreSQL)… `);
    let t = performance.now();
    const sqlite = StateStore.open(path.join(root, '.backfill', 'state.db'));
    indexStoreFor(ws, sqlite);
    seed(ws, sqlite);
    const mine = await PostgresStore.open(url, { project });
    await copyAttempts(sqlite, mine);
    sqlite.close();
    console.log(`${((performance.now() - t) / 1000).toFixed(1)} s`);

    // My editor: the cache read once (this packs the imported states), then kept up to date by notifications.
    const cache = new SnapshotCache(mine);
    t = performance.now();
    await cache.refresh(names);
    const compute = () => new StatusEngine({ graph: ws.graph, store: cache, codeVersions }).computeAll();
    compute();
    console.log(`first read and statuses: ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const colleague = await PostgresStore.open(url, { project });
    const latencies: number[] = [];
    const reads: number[] = [];
    const computes: number[] = [];
    let waiting: { asset: string; index: number; t0: number; resolve: () => void } | null = null;
    let busy = Promise.resolve();
    const stop = mine.listen((assets) => {
      cache.invalidate(assets);
      // One recompute at a time, as the editor's model does.
      busy = busy.then(async () => {
        const w = waiting;
        if (!w) return;
        const r0 = performance.now();
        await cache.refresh(names);
        const c0 = performance.now();
        const statuses = compute();
        const done = performance.now();
        if (statuses.get(w.asset)!.statusAt(w.index) !== 'failed') return;
        reads.push(c0 - r0);
        computes.push(done - c0);
        latencies.push(done - w.t0);
        waiting = null;
        w.resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 500)); // the listener is connected
    for (let i = 0; i < ROUNDS; i++) {
      const asset = `a${ASSETS - 1 - i}`; // leaves: nothing downstream
      const index = PARTITIONS - 1 - i;
      const def = ws.assets.get(asset)!;
      await new Promise<void>((resolve) => {
        waiting = { asset, index, t0: performance.now(), resolve };
        void colleague.record([
          { asset, partition: def.partitions.keyAt(index), startedAt: Date.now(), endedAt: Date.now(), status: 'failed', codeVersion: '1' },
        ]);
      });
    }
    stop();
    await colleague.close();
    await mine.close();
    const result = {
      machine: `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}`,
      node: process.version,
      partitions: ASSETS * PARTITIONS,
      rounds: ROUNDS,
      colleague_to_statuses_median_ms: Math.round(pct(latencies, 0.5)),
      colleague_to_statuses_p90_ms: Math.round(pct(latencies, 0.9)),
      read_changed_asset_median_ms: Math.round(pct(reads, 0.5)),
      recompute_statuses_median_ms: Math.round(pct(computes, 0.5)),
    };
    console.log(JSON.stringify(result));
    mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    writeFileSync(path.join(__dirname, 'results', 'team-latency.json'), JSON.stringify(result, null, 2) + '\n');
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
