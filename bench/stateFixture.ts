// The workspace the state benchmarks use (bench/state.ts, bench/state-pg.ts): 1,000 assets in a
// binary tree (asset i depends on asset ⌊(i-1)/2⌋), 1,000 daily partitions each as of NOW, all
// recorded once, then 1% made stale by rematerializing day 500 of the first 10 assets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { StateStore, AttemptInput } from '../src/core/state/store.ts';
import { loadWorkspaceFromSources, type Workspace } from '../src/core/workspace.ts';
import { startPostgres, type TestPostgres } from '../test/pg/harness.ts';

export const ASSETS = 1000;
export const PARTITIONS = 1000;
export const NOW = new Date('2023-09-28T00:00:00Z'); // 2021-01-01 + 1,000 days

export function benchWorkspace(root: string): { ws: Workspace; codeVersions: Map<string, string> } {
  let yaml = 'assets:\n';
  for (let i = 0; i < ASSETS; i++) {
    yaml += `  a${i}:\n    partitions: { daily: { start: 2021-01-01 } }\n    code_version: "1"\n`;
    if (i > 0) yaml += `    deps: [a${Math.floor((i - 1) / 2)}]\n`;
  }
  const file = path.join(root, 'bench.assets.yaml');
  writeFileSync(file, yaml);
  const ws = loadWorkspaceFromSources(root, [{ path: file, text: yaml }], { now: NOW });
  if (ws.diagnostics.length) throw new Error(ws.diagnostics[0]!.message);
  return { ws, codeVersions: new Map([...ws.assets.keys()].map((k) => [k, '1'])) };
}

/** Successful attempts of `keys` of an asset, started at `at` + i. */
export function attemptsOf(asset: string, deps: string[], keys: string[], at: number): AttemptInput[] {
  return keys.map((k, i) => ({
    asset,
    partition: k,
    startedAt: at + i,
    endedAt: at + i + 1,
    status: 'success',
    codeVersion: '1',
    dataVersion: `${asset}:${k}:${at}`,
    deps,
  }));
}

/** Records every partition of every asset once, then makes 1% stale. */
export function seed(ws: Workspace, store: StateStore): void {
  for (const a of ws.graph.order) {
    const keys = Array.from({ length: PARTITIONS }, (_, i) => a.partitions.keyAt(i));
    store.record(
      attemptsOf(
        a.name,
        a.deps.map((d) => d.asset),
        keys,
        0,
      ),
    );
  }
  for (const a of ws.graph.order.slice(0, 10))
    store.record(
      attemptsOf(
        a.name,
        a.deps.map((d) => d.asset),
        [a.partitions.keyAt(500)],
        1,
      ),
    );
}

/**
 * Runs a PostgreSQL benchmark in a temporary folder: on the server BENCH_PG_URL names (password
 * from PGPASSWORD or ~/.pgpass), else on a throw-away one (test/pg/local-pg.sh), stopped after.
 */
export async function withPostgres(name: string, fn: (url: string, root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), `backfill-bench-${name}-`));
  let server: TestPostgres | null = null;
  try {
    let url = process.env['BENCH_PG_URL'];
    if (!url) {
      server = startPostgres();
      url = server.url;
      process.env['PGPASSWORD'] = server.password;
    }
    await fn(url, root);
  } finally {
    server?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
