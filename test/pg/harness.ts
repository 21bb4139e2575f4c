// A throw-away PostgreSQL server for tests (test/pg/local-pg.sh): started once per test file,
// stopped after; fails loudly when it cannot start (never skips).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, 'local-pg.sh');

export interface TestPostgres {
  /** postgres://backfill@127.0.0.1:PORT/backfill (no password: it goes in PGPASSWORD or ~/.pgpass). */
  url: string;
  password: string;
  dir: string;
  /** A URL of another database on the same server, created empty. */
  database(name: string): Promise<string>;
  /** Stops the server keeping its data, and starts it again. */
  down(): void;
  up(): void;
  stop(): void;
}

export function startPostgres(): TestPostgres {
  const dir = mkdtempSync(path.join(tmpdir(), 'backfill-pg-'));
  chmodSync(dir, 0o755);
  let out: string;
  try {
    out = execFileSync('bash', [SCRIPT, 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`could not start the test PostgreSQL (test/pg/local-pg.sh start ${dir}): ${err.stderr || err.message}`);
  }
  const url = /BACKFILL_TEST_PG_URL=(\S+)/.exec(out)?.[1];
  const password = /BACKFILL_TEST_PG_PASSWORD=(\S+)/.exec(out)?.[1];
  if (!url || !password) throw new Error(`test/pg/local-pg.sh printed no URL:\n${out}`);
  const run = (cmd: string): void => {
    execFileSync('bash', [SCRIPT, cmd, dir], { stdio: 'ignore' });
  };
  return {
    url,
    password,
    dir,
    async database(name) {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: url, password });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url.replace(/\/[^/]+$/, `/${name}`);
    },
    down: () => run('down'),
    up: () => run('up'),
    stop() {
      run('stop');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
