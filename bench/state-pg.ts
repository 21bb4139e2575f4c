// Benchmark of the team state store (numbers go in docs/benchmarks.md): the statuses of 10^6
// partitions (1,000 assets × 1,000 days, bench/stateFixture.ts) computed from PostgreSQL against
// the same from SQLite, and `state copy` of their 10^6 attempts from SQLite into PostgreSQL.
// Uses the server BENCH_PG_URL names (password from PGPASSWORD or ~/.pgpass), else starts a
// throw-away one (test/pg/local-pg.sh). Run: node --import tsx bench/state-pg.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { copyAttempts, snapshotsOf } from '../src/core/state/copy.ts';
import { PostgresStore } from '../src/core/state/postgres.ts';
import { indexStoreFor } from '../src/core/state/record.ts';
import { StatusEngine, type SnapshotSource } from '../src/core/state/staleness.ts';
import { StateStore } from '../src/core/state/store.ts';
import { ASSETS, benchWorkspace, PARTITIONS, seed, withPostgres } from './stateFixture.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  await withPostgres('state-pg', async (url, root) => {
    const { ws, codeVersions } = benchWorkspace(root);
    const names = [...ws.assets.keys()];
    const sqlite = StateStore.open(path.join(root, '.backfill', 'state.db'));
    indexStoreFor(ws, sqlite);
    process.stdout.write(`recording ${ASSETS * PARTITIONS} partitions in SQLite… `);
    let t = performance.now();
    seed(ws, sqlite);
    console.log(`${((performance.now() - t) / 1000).toFixed(1)} s`);

    const pg = await PostgresStore.open(url, { project: `bench-${Date.now()}` });
    process.stdout.write('state copy into PostgreSQL… ');
    t = performance.now();
    const copied = await copyAttempts(sqlite, pg);
    const copyMs = performance.now() - t;
    console.log(`${copied.attempts} attempts in ${(copyMs / 1000).toFixed(1)} s`);

    const statuses = (source: SnapshotSource): number => {
      const engine = new StatusEngine({ graph: ws.graph, store: source, codeVersions });
      let stale = 0;
      for (const st of engine.computeAll().values()) stale += st.counts().stale;
      return stale;
    };
    const fromSqlite: number[] = [];
    const fromPg: number[] = [];
    const pgRead: number[] = [];
    const stale = [0, 0];
    for (let r = 0; r < 5; r++) {
      t = performance.now();
      stale[0] = statuses(sqlite);
      fromSqlite.push(performance.now() - t);
      t = performance.now();
      const source = await snapshotsOf(pg, names);
      pgRead.push(performance.now() - t);
      stale[1] = statuses(source);
      fromPg.push(performance.now() - t);
    }
    if (stale[0] !== stale[1]) throw new Error(`stale partitions differ: SQLite ${stale[0]}, PostgreSQL ${stale[1]}`);
    await pg.close();
    sqlite.close();
    const result = {
      machine: `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}`,
      node: process.version,
      partitions: ASSETS * PARTITIONS,
      stale: stale[0],
      statuses_sqlite_ms: Math.round(median(fromSqlite)),
      statuses_postgres_ms: Math.round(median(fromPg)),
      postgres_read_ms: Math.round(median(pgRead)),
      postgres_first_read_ms: Math.round(fromPg[0]!),
      copy_attempts: copied.attempts,
      copy_s: Number((copyMs / 1000).toFixed(1)),
    };
    console.log(JSON.stringify(result));
    mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    writeFileSync(path.join(__dirname, 'results', 'state-pg.json'), JSON.stringify(result, null, 2) + '\n');
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
