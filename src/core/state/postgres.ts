/**
 * The team state store on PostgreSQL: the same attempts, latest states and semantics as the
 * SQLite store (store.ts), shared by every workspace of a project on every machine. Rows belong
 * to a project key (project.ts), so unrelated projects in one database never mix. Asynchronous
 * all the way (a network database is never wrapped in synchronous calls). Every write notifies
 * (`NOTIFY backfill_state`) in its transaction, so listeners learn of a colleague's result when it
 * commits; leases (partition_leases) keep a partition out of a second backfill while one runs it.
 *
 * The password never comes from the URL we are given by settings: node-postgres takes it from
 * PGPASSWORD or ~/.pgpass (PGPASSFILE), and every message shows the URL without it.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import pgpass from 'pgpass';
import { UserError } from '../diagnostics.ts';
import { AssetSnapshot, F, STATUS_CODES } from './snapshot.ts';
import {
  fromRow,
  type Attempt,
  type AttemptInput,
  type AttemptRow,
  type AttemptResult,
  type AttemptStatus,
  historyFilters,
  IMPORT_COLUMNS,
  importValues,
  type HistoryFilter,
} from './store.ts';

/** The schema this Backfill writes; a database with a newer one is refused with a clear message. */
export const PG_SCHEMA_VERSION = 5;

/** Each entry brings the schema from version i to i+1. */
const MIGRATIONS: string[] = [
  `
  CREATE SEQUENCE backfill_seq;
  CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    project TEXT NOT NULL,
    asset TEXT NOT NULL,
    partition TEXT NOT NULL,
    run_id TEXT,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'canceled')),
    exit_code INTEGER,
    duration_ms BIGINT,
    code_version TEXT,
    data_version TEXT,
    inputs JSONB,
    deps JSONB,
    metadata JSONB,
    start_seq BIGINT NOT NULL,
    end_seq BIGINT,
    cost DOUBLE PRECISION,
    cost_source TEXT CHECK (cost_source IN ('reported', 'rate'))
  );
  CREATE INDEX attempts_by_partition ON attempts (project, asset, partition, id);
  CREATE INDEX attempts_by_run ON attempts (project, run_id);
  CREATE INDEX attempts_by_asset ON attempts (project, asset, id);
  -- The latest attempt and latest success of each partition: one row each, updated in the
  -- attempt's transaction (an older attempt never overrides a newer one).
  CREATE TABLE partition_state (
    project TEXT NOT NULL,
    asset TEXT NOT NULL,
    partition TEXT NOT NULL,
    last_attempt_id BIGINT NOT NULL,
    last_status TEXT NOT NULL,
    last_started_at BIGINT NOT NULL,
    last_ended_at BIGINT,
    success_id BIGINT,
    success_start_seq BIGINT,
    success_end_seq BIGINT,
    success_ended_at BIGINT,
    success_code_version TEXT,
    success_deps TEXT,
    success_data_version TEXT,
    PRIMARY KEY (project, asset, partition)
  );
  -- A partition being run by a backfill, until the lease expires (a crashed runner's partitions
  -- come free then) or is released.
  CREATE TABLE partition_leases (
    project TEXT NOT NULL,
    asset TEXT NOT NULL,
    partition TEXT NOT NULL,
    backfill_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project, asset, partition)
  );
  CREATE INDEX partition_leases_by_backfill ON partition_leases (project, backfill_id);
  `,
  // 2: each asset's latest states also packed in one row (as the SQLite store keeps them), so
  // that reading 10^6 partitions reads 10^3 rows: the packed form is up to date to upto_seq,
  // and the partition_state rows changed since (changed_seq > upto_seq) are applied over it.
  `
  CREATE SEQUENCE partition_state_seq;
  ALTER TABLE partition_state ADD COLUMN changed_seq BIGINT NOT NULL DEFAULT 0;
  CREATE INDEX partition_state_changed ON partition_state (project, asset, changed_seq);
  CREATE TABLE asset_snapshot (
    project TEXT NOT NULL,
    asset TEXT NOT NULL,
    partitions TEXT NOT NULL,
    records BYTEA NOT NULL,
    strings TEXT NOT NULL,
    upto_seq BIGINT NOT NULL,
    PRIMARY KEY (project, asset)
  );
  `,
  // 3: packed records compressed (deflate): a third of the bytes to send for 10^6 partitions.
  `
  ALTER TABLE asset_snapshot ADD COLUMN compression TEXT NOT NULL DEFAULT 'none' CHECK (compression IN ('none', 'deflate'));
  `,
  // 4: backfills and their tasks (teamRunState.ts), as the SQLite store keeps them, with who runs
  // each (owner user@host, host and pid) and a heartbeat in the server's time (hosts' clocks differ).
  `
  CREATE TABLE backfills (
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'paused', 'interrupted', 'succeeded', 'failed', 'canceled')),
    description TEXT NOT NULL,
    workspace TEXT NOT NULL,
    options TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER,
    heartbeat_at TIMESTAMPTZ,
    ended_at BIGINT,
    PRIMARY KEY (project, id)
  );
  CREATE TABLE backfill_tasks (
    project TEXT NOT NULL,
    backfill_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    asset TEXT NOT NULL,
    partitions TEXT NOT NULL,
    partition_count INTEGER NOT NULL,
    command TEXT NOT NULL,
    cwd TEXT NOT NULL,
    env TEXT NOT NULL,
    after_tasks TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'canceled')),
    tries INTEGER NOT NULL DEFAULT 0,
    started_at BIGINT,
    ended_at BIGINT,
    exit_code INTEGER,
    message TEXT,
    attempt_ids TEXT,
    job TEXT,
    pid INTEGER,
    PRIMARY KEY (project, backfill_id, task_id),
    FOREIGN KEY (project, backfill_id) REFERENCES backfills (project, id) ON DELETE CASCADE
  );
  `,
  // 5: which process a saved pid was (backfills.ts processStart): a reused pid is never ours.
  `
  ALTER TABLE backfills ADD COLUMN pid_start TEXT;
  ALTER TABLE backfill_tasks ADD COLUMN pid_start TEXT;
  `,
];

/** The PostgreSQL type of each copied column (importAttempts sends them as arrays); JSON columns go as text, cast to jsonb. */
const IMPORT_TYPES: Record<(typeof IMPORT_COLUMNS)[number], string> = {
  asset: 'text',
  partition: 'text',
  run_id: 'text',
  started_at: 'bigint',
  ended_at: 'bigint',
  status: 'text',
  exit_code: 'integer',
  duration_ms: 'bigint',
  code_version: 'text',
  data_version: 'text',
  inputs: 'text',
  deps: 'text',
  metadata: 'text',
  start_seq: 'bigint',
  end_seq: 'bigint',
  cost: 'double precision',
  cost_source: 'text',
};
const JSON_COLUMNS = new Set(['inputs', 'deps', 'metadata']);

/** The channel every write notifies on; the payload is `{"project", "assets"}` (JSON). */
export const CHANNEL = 'backfill_state';

/** `postgres://user:secret@host/db` → `postgres://user@host/db`: what messages and logs show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/^(postgres(?:ql)?:\/\/[^@/]*?):?@/, '$1@');
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1@');
  }
}

/** Whether a --state / backfill.stateDatabase value names a PostgreSQL database. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

/** The state database cannot be reached for now (refused, reset, shutting down, starting up): waiting may help. */
export class UnreachableError extends UserError {}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'EPIPE',
  '57P01', // admin shutdown
  '57P02', // crash shutdown
  '57P03', // cannot connect now (starting up)
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** Whether an error from node-postgres means the server could not be reached (rather than that it refused). */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof UnreachableError) return true;
  const err = e as { code?: string; message?: string } | null;
  if (!err) return false;
  if (err.code && CONNECTION_CODES.has(err.code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    err.message ?? '',
  );
}

/** A PostgreSQL error (or a connection failure) as one message naming the server and the fix. */
export function pgUserError(e: unknown, url: string): Error {
  if (e instanceof UserError) return e;
  const err = e as Error & { code?: string };
  const where = redactUrl(url);
  const message = err.message ?? String(e);
  if (isConnectionError(e))
    return new UnreachableError(`cannot reach the state database ${where} (${message}): is the server running and reachable from here?`);
  switch (err.code) {
    case '28P01':
      return new UserError(
        `the state database ${where} refused the password: check PGPASSWORD or the line for this server in ~/.pgpass (PGPASSFILE)`,
      );
    case '28000':
      return new UserError(`the state database ${where} refused the connection (${message}): ask its administrator for access`);
    case '3D000':
      return new UserError(`the state database ${where} does not exist (${message}): create it (createdb) or fix the URL`);
    case '42501':
      return new UserError(
        `the state database ${where} denied a permission (${message}): the role needs CREATE on the database the first time (to create Backfill's tables), then SELECT, INSERT, UPDATE, DELETE on them`,
      );
  }
  if (/client password must be a string|password authentication failed|no password supplied/i.test(message))
    return new UserError(NO_PASSWORD(where));
  return new UserError(`state database ${where}: ${message}`);
}

export interface PostgresOptions {
  /** The project the rows belong to (project.ts). */
  project: string;
  /** Connections the pool may open (default 4). */
  maxConnections?: number;
  /** Give up connecting after this long (ms; default 10 s). */
  connectTimeoutMs?: number;
  /** Partition rows changed since an asset was packed before a read packs it again (default 512). */
  compactAfter?: number;
}

/** The password for a URL: the URL's own, PGPASSWORD, else the matching line of ~/.pgpass (PGPASSFILE). */
async function password(url: string): Promise<string> {
  const u = new URL(url);
  if (u.password) return decodeURIComponent(u.password);
  if (process.env['PGPASSWORD']) return process.env['PGPASSWORD'];
  const found = await new Promise<string | undefined>((resolve) =>
    pgpass(
      {
        host: u.hostname || process.env['PGHOST'] || 'localhost',
        port: Number(u.port || process.env['PGPORT'] || 5432),
        database: decodeURIComponent(u.pathname.slice(1)) || process.env['PGDATABASE'] || '',
        user: decodeURIComponent(u.username) || process.env['PGUSER'] || '',
      },
      resolve,
    ),
  );
  // None: the server then says it wants one (pgUserError words that). Throwing here instead would
  // leave node-postgres' socket open and the process hanging.
  return found as string;
}

const NO_PASSWORD = (where: string): string =>
  `the state database ${where} asks for a password: set PGPASSWORD, or add a line for it to ~/.pgpass (host:port:database:user:password, mode 600) — never in the URL in settings`;

/** BIGINT (int8) and NUMERIC as numbers: ids, times and sequences stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 || oid === 1700 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

type Row = AttemptRow;

/** Who holds a lease: `user@host`, its backfill, until when. */
export interface LeaseHolder {
  asset: string;
  partition: string;
  backfillId: string;
  holder: string;
  expiresAt: number;
}

/** Creates or upgrades the schema, one process at a time (an advisory lock), refusing a newer one. */
async function migrate(client: pg.Client, url: string): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('backfill schema'))`);
    await client.query(`CREATE TABLE IF NOT EXISTS backfill_schema (version INTEGER NOT NULL)`);
    const found = (await client.query<{ version: number }>(`SELECT version FROM backfill_schema`)).rows[0];
    let version = found?.version ?? 0;
    if (version > PG_SCHEMA_VERSION)
      throw new UserError(
        `the state database ${redactUrl(url)} was written by a newer Backfill (schema ${version}; this one knows ${PG_SCHEMA_VERSION}): update Backfill on this machine (everyone on a team database needs a version that knows its schema)`,
      );
    if (!found) await client.query(`INSERT INTO backfill_schema VALUES (0)`);
    for (; version < PG_SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version]!);
      await client.query(`UPDATE backfill_schema SET version = $1`, [version + 1]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

export class PostgresStore {
  private constructor(
    private readonly pool: pg.Pool,
    /** The URL without its password. */
    readonly location: string,
    readonly project: string,
    /** Partition rows changed since an asset was packed before a read packs it again. */
    private readonly compactAfter: number,
  ) {}

  /** Connects (creating or migrating Backfill's tables when needed); errors are UserErrors naming the server and the fix. */
  static async open(url: string, options: PostgresOptions): Promise<PostgresStore> {
    const config: pg.PoolConfig = {
      ...parseIntoClientConfig(url),
      // PGPASSWORD, else ~/.pgpass (PGPASSFILE) as libpq reads it; asked only when the server wants one.
      password: () => password(url),
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'backfill',
      types,
    };
    // The first connection on its own: it creates or migrates the schema, and when it fails its
    // socket is closed here (node-postgres leaves a connection refused at authentication open,
    // which would keep the process from exiting).
    const first = new pg.Client(config);
    try {
      await first.connect();
      await migrate(first, url);
      await first.end();
    } catch (e) {
      (first as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      await first.end().catch(() => {});
      throw pgUserError(e, url);
    }
    const pool = new pg.Pool({ ...config, max: options.maxConnections ?? 4 });
    // An idle connection the server drops is an 'error' on the pool: without a listener it would
    // crash the process; the next query opens a new connection.
    pool.on('error', () => {});
    return new PostgresStore(pool, redactUrl(url), options.project, options.compactAfter ?? 512);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** @internal For teamRunState.ts: `fn` in one transaction, listeners notified of the assets it changed. */
  transaction<T>(fn: (c: pg.PoolClient, changed: Set<string>) => Promise<T>): Promise<T> {
    return this.write(fn);
  }

  /** @internal For teamRunState.ts: starts an attempt inside a transaction; returns its id. */
  insertAttempt(c: pg.PoolClient, changed: Set<string>, input: Omit<AttemptInput, 'status' | 'endedAt'>): Promise<number> {
    return this.insert(c, changed, { ...input, status: 'running' });
  }

  /** Runs `fn` in one transaction on one connection; notifies listeners of the assets it changed when it commits. */
  private async write<T>(fn: (c: pg.PoolClient, changed: Set<string>) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const changed = new Set<string>();
      const result = await fn(client, changed);
      if (changed.size > 0)
        await client.query(`SELECT pg_notify($1, $2)`, [CHANNEL, JSON.stringify({ project: this.project, assets: [...changed] })]);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Current store sequence: grows with every started or finished attempt (shared by all projects of the database). */
  async sequence(): Promise<number> {
    const r = await this.pool.query<{ v: number }>(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v FROM backfill_seq`);
    return r.rows[0]!.v;
  }

  /** Records an attempt that has started; returns its id. */
  async startAttempt(input: Omit<AttemptInput, 'status' | 'endedAt'>): Promise<number> {
    return this.write(async (c, changed) => this.insert(c, changed, { ...input, status: 'running' }));
  }

  /** Records finished (or running) attempts in one transaction. Returns their ids. */
  async record(inputs: readonly AttemptInput[]): Promise<number[]> {
    return this.write(async (c, changed) => {
      const ids: number[] = [];
      for (const i of inputs) ids.push(await this.insert(c, changed, i));
      return ids;
    });
  }

  /** Completes a running attempt. Returns the finished attempt, or null if it was not running. */
  async finishAttempt(id: number, result: AttemptResult): Promise<Attempt | null> {
    return this.write((c, changed) => this.finishAttemptIn(c, changed, id, result));
  }

  /** @internal Completes a running attempt inside a transaction (an attempt no longer running is left as it is: a retried write counts once). */
  async finishAttemptIn(
    c: pg.PoolClient,
    changed: Set<string>,
    id: number,
    result: AttemptResult,
    /** Also an attempt canceled meanwhile by someone who took this runner for dead (its result is real). */
    evenIfCanceled = false,
  ): Promise<Attempt | null> {
    const r = await c.query<Row>(
      `UPDATE attempts SET status = $2, ended_at = $3, exit_code = $4,
         duration_ms = GREATEST(0, COALESCE($5, $3 - started_at)),
         data_version = COALESCE($6, data_version), inputs = COALESCE($7, inputs), metadata = COALESCE($8, metadata),
         cost = $9, cost_source = $10, end_seq = nextval('backfill_seq')
       WHERE id = $1 AND project = $11 AND (status = 'running' OR ($12 AND status = 'canceled')) RETURNING *`,
      [
        id,
        result.status,
        result.endedAt,
        result.exitCode ?? null,
        result.durationMs ?? null,
        result.dataVersion ?? null,
        result.inputs ? JSON.stringify(result.inputs) : null,
        result.metadata ? JSON.stringify(result.metadata) : null,
        result.cost ?? null,
        result.cost === null || result.cost === undefined ? null : (result.costSource ?? null),
        this.project,
        evenIfCanceled,
      ],
    );
    const row = r.rows[0];
    if (!row) return null;
    const attempt = fromRow(row);
    await this.updateState(c, attempt);
    changed.add(attempt.asset);
    return attempt;
  }

  private async insert(c: pg.PoolClient, changed: Set<string>, input: AttemptInput): Promise<number> {
    const done = input.status !== 'running';
    const endedAt = done ? (input.endedAt ?? input.startedAt) : null;
    const deps = input.deps ? [...input.deps].sort() : null;
    const r = await c.query<Row>(
      `INSERT INTO attempts (project, asset, partition, run_id, started_at, ended_at, status, exit_code, duration_ms,
         code_version, data_version, inputs, deps, metadata, start_seq, end_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, nextval('backfill_seq'),
         CASE WHEN $15 THEN nextval('backfill_seq') END)
       RETURNING *`,
      [
        this.project,
        input.asset,
        input.partition,
        input.runId ?? null,
        input.startedAt,
        endedAt,
        input.status,
        input.exitCode ?? null,
        endedAt === null ? null : Math.max(0, endedAt - input.startedAt),
        input.codeVersion ?? null,
        input.dataVersion ?? null,
        input.inputs ? JSON.stringify(input.inputs) : null,
        deps ? JSON.stringify(deps) : null,
        input.metadata ? JSON.stringify(input.metadata) : null,
        done,
      ],
    );
    const attempt = fromRow(r.rows[0]!);
    await this.updateState(c, attempt);
    changed.add(attempt.asset);
    return attempt.id;
  }

  /** Brings the partition's row up to date with one attempt (an older attempt never overrides a newer one). */
  private async updateState(c: pg.PoolClient, a: Attempt): Promise<void> {
    const success = a.status === 'success';
    await lockAssets(c, this.project, [a.asset], 'shared');
    await c.query(
      `INSERT INTO partition_state AS s (project, asset, partition, last_attempt_id, last_status, last_started_at, last_ended_at,
         success_id, success_start_seq, success_end_seq, success_ended_at, success_code_version, success_deps, success_data_version, changed_seq)
       VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::text, $6::bigint, $7::bigint,
         CASE WHEN $8::boolean THEN $4::bigint END, CASE WHEN $8::boolean THEN $9::bigint END, CASE WHEN $8::boolean THEN $10::bigint END, CASE WHEN $8::boolean THEN $7::bigint END,
         CASE WHEN $8::boolean THEN $11::text END, CASE WHEN $8::boolean THEN $12::text END, CASE WHEN $8::boolean THEN $13::text END,
         nextval('partition_state_seq'))
       ON CONFLICT (project, asset, partition) DO UPDATE SET
         changed_seq = EXCLUDED.changed_seq,
         last_attempt_id = CASE WHEN $4::bigint >= s.last_attempt_id THEN $4::bigint ELSE s.last_attempt_id END,
         last_status = CASE WHEN $4::bigint >= s.last_attempt_id THEN $5::text ELSE s.last_status END,
         last_started_at = CASE WHEN $4::bigint >= s.last_attempt_id THEN $6::bigint ELSE s.last_started_at END,
         last_ended_at = CASE WHEN $4::bigint >= s.last_attempt_id THEN $7::bigint ELSE s.last_ended_at END,
         success_id = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $4::bigint ELSE s.success_id END,
         success_start_seq = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $9::bigint ELSE s.success_start_seq END,
         success_end_seq = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $10::bigint ELSE s.success_end_seq END,
         success_ended_at = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $7::bigint ELSE s.success_ended_at END,
         success_code_version = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $11::text ELSE s.success_code_version END,
         success_deps = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $12::text ELSE s.success_deps END,
         success_data_version = CASE WHEN $8::boolean AND $4::bigint >= COALESCE(s.success_id, 0) THEN $13::text ELSE s.success_data_version END`,
      [
        this.project,
        a.asset,
        a.partition,
        a.id,
        a.status,
        a.startedAt,
        a.endedAt,
        success,
        a.startSeq,
        a.endSeq,
        a.codeVersion,
        a.deps ? a.deps.join('\n') : null,
        a.dataVersion,
      ],
    );
  }

  /** The latest state of every recorded partition of an asset, in the same packed form as the SQLite store's. */
  async snapshot(asset: string): Promise<AssetSnapshot> {
    return (await this.snapshots([asset])).get(asset)!;
  }

  /** Assets of this project that have any record. */
  async recordedAssets(): Promise<string[]> {
    const r = await this.pool.query<{ asset: string }>(`SELECT DISTINCT asset FROM partition_state WHERE project = $1 ORDER BY asset`, [
      this.project,
    ]);
    return r.rows.map((x) => x.asset);
  }

  async attempt(id: number): Promise<Attempt | null> {
    const r = await this.pool.query<Row>(`SELECT * FROM attempts WHERE id = $1 AND project = $2`, [id, this.project]);
    return r.rows[0] ? fromRow(r.rows[0]) : null;
  }

  /** Past attempts, newest first. */
  async history(filter: HistoryFilter = {}): Promise<Attempt[]> {
    const where = ['project = $1'];
    const params: unknown[] = [this.project];
    for (const [column, value] of historyFilters(filter)) {
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    params.push(filter.limit ?? 100);
    const r = await this.pool.query<Row>(
      `SELECT * FROM attempts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(fromRow);
  }

  /** As the SQLite store's: per partition, or per task (a task's attempts end in one transaction, at one time). */
  async costSamples(asset: string, per: 'partition' | 'task' = 'partition', sample = 200): Promise<number[]> {
    const sql =
      per === 'partition'
        ? `SELECT cost FROM attempts WHERE project = $1 AND asset = $2 AND status IN ('success', 'failed') AND cost IS NOT NULL ORDER BY id DESC LIMIT $3`
        : `SELECT sum(cost) AS cost FROM attempts WHERE project = $1 AND asset = $2 AND status IN ('success', 'failed') AND cost IS NOT NULL
           GROUP BY run_id, ended_at ORDER BY max(id) DESC LIMIT $3`;
    return (await this.pool.query<{ cost: number }>(sql, [this.project, asset, sample])).rows.map((r) => r.cost);
  }

  async spentCost(runId: string): Promise<{ spent: number; unknown: number }> {
    const r = await this.pool.query<{ spent: number; unknown: number }>(
      `SELECT COALESCE(sum(cost), 0) AS spent, count(*) - count(cost) AS unknown FROM attempts WHERE project = $1 AND run_id = $2 AND status != 'running'`,
      [this.project, runId],
    );
    return { spent: r.rows[0]!.spent, unknown: r.rows[0]!.unknown };
  }

  async hasCost(runId: string): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM attempts WHERE project = $1 AND run_id = $2 AND cost IS NOT NULL LIMIT 1`, [
      this.project,
      runId,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async durationSamples(asset: string, sample = 200): Promise<number[]> {
    const r = await this.pool.query<{ d: number }>(
      `SELECT duration_ms AS d FROM attempts WHERE project = $1 AND asset = $2 AND status IN ('success', 'failed') AND duration_ms IS NOT NULL ORDER BY id DESC LIMIT $3`,
      [this.project, asset, sample],
    );
    return r.rows.map((x) => x.d);
  }

  /**
   * The latest states of several assets at once: what computing statuses needs, read before
   * computing. Each asset's packed row and the partition rows changed since it was packed, read
   * in one snapshot of the database; an asset with many changes since is packed again.
   */
  async snapshots(assets: readonly string[]): Promise<Map<string, AssetSnapshot>> {
    const c = await this.pool.connect();
    let read: { snapshots: Map<string, AssetSnapshot>; changed: Map<string, number> };
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      read = await this.readPacked(c, assets);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
    for (const [asset, n] of read.changed) {
      // Packing is an optimization: a role that may only read, or a lost connection, leaves the rows as they are.
      if (n >= this.compactAfter) await this.pack(asset).catch(() => {});
    }
    return read.snapshots;
  }

  /** The packed rows of `assets` with the partition rows changed since applied over them, and how many those were per asset. */
  private async readPacked(
    c: pg.PoolClient,
    assets: readonly string[],
  ): Promise<{ snapshots: Map<string, AssetSnapshot>; changed: Map<string, number>; upto: Map<string, number> }> {
    // The packed records as base64, decoded natively (bytea's hex text is twice the size and
    // decoded in JavaScript).
    const packed = await c.query<{ asset: string; partitions: string; records: string; strings: string; compression: string }>(
      `SELECT asset, partitions, encode(records, 'base64') AS records, strings, compression FROM asset_snapshot
       WHERE project = $1 AND asset = ANY($2::text[])`,
      [this.project, assets],
    );
    const snapshots = new Map(assets.map((a) => [a, AssetSnapshot.empty()]));
    for (const p of packed.rows)
      snapshots.set(
        p.asset,
        AssetSnapshot.decode({
          partitions: p.partitions,
          records: p.compression === 'deflate' ? inflateRawSync(Buffer.from(p.records, 'base64')) : Buffer.from(p.records, 'base64'),
          strings: p.strings,
          fingerprint: '',
          indexes: new Uint8Array(0),
        }),
      );
    const rows = await c.query({
      text: `SELECT ps.asset, ps.partition, ps.last_attempt_id, ps.last_status, ps.last_started_at, ps.last_ended_at, ps.success_id,
               ps.success_start_seq, ps.success_end_seq, ps.success_ended_at, ps.success_code_version, ps.success_deps,
               ps.success_data_version, ps.changed_seq
             FROM partition_state ps LEFT JOIN asset_snapshot p ON p.project = ps.project AND p.asset = ps.asset
             WHERE ps.project = $1 AND ps.asset = ANY($2::text[]) AND ps.changed_seq > COALESCE(p.upto_seq, -1)
             ORDER BY ps.asset, ps.changed_seq`,
      values: [this.project, assets],
      rowMode: 'array',
    });
    const changed = new Map<string, number>();
    const upto = new Map<string, number>();
    for (const v of rows.rows as unknown[][]) {
      const asset = v[0] as string;
      addStateRow(snapshots.get(asset)!, v.slice(1, 13));
      changed.set(asset, (changed.get(asset) ?? 0) + 1);
      upto.set(asset, v[13] as number);
    }
    return { snapshots, changed, upto };
  }

  /**
   * Packs an asset's latest states into its asset_snapshot row. Writers of the asset hold a
   * shared lock on it for their whole transaction; this takes it exclusively, so no write is in
   * flight: every change it has not packed has a later changed_seq than what it records.
   */
  private async pack(asset: string): Promise<void> {
    await this.write(async (c) => {
      await lockAssets(c, this.project, [asset], 'exclusive');
      const { snapshots, upto } = await this.readPacked(c, [asset]);
      const seq = upto.get(asset);
      if (seq === undefined) return;
      const e = snapshots.get(asset)!.encode();
      await c.query(
        `INSERT INTO asset_snapshot (project, asset, partitions, records, strings, upto_seq, compression) VALUES ($1, $2, $3, $4, $5, $6, 'deflate')
         ON CONFLICT (project, asset) DO UPDATE SET partitions = EXCLUDED.partitions, records = EXCLUDED.records,
           strings = EXCLUDED.strings, upto_seq = EXCLUDED.upto_seq, compression = EXCLUDED.compression`,
        [this.project, asset, e.partitions, deflateRawSync(e.records, { level: 1 }), e.strings, seq],
      );
    });
  }

  /** Attempts of this project in the order they were recorded, `limit` at a time after `afterId`: for copying a store. */
  /** How many attempts of this project are still running. */
  async runningAttempts(): Promise<number> {
    const r = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM attempts WHERE project = $1 AND status = 'running'`, [
      this.project,
    ]);
    return r.rows[0]!.n;
  }

  async attemptsAfter(afterId: number, limit: number): Promise<Attempt[]> {
    const r = await this.pool.query<Row>(`SELECT * FROM attempts WHERE project = $1 AND id > $2 ORDER BY id LIMIT $3`, [
      this.project,
      afterId,
      limit,
    ]);
    return r.rows.map(fromRow);
  }

  /**
   * As the SQLite store's importAttempts: copied attempts, every field and the order of their
   * sequences kept. A batch is three statements, not two per attempt: ids drawn in order, the
   * attempts inserted from arrays, and each partition's latest attempt and latest success among
   * them upserted into partition_state (an older one never overriding a newer one).
   */
  async importAttempts(attempts: readonly Attempt[], seqOffset: number): Promise<number[]> {
    if (attempts.length === 0) return [];
    return this.write(async (c, changed) => {
      const ids = (
        await c.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('attempts', 'id')) AS id FROM generate_series(1, $1::int)`, [
          attempts.length,
        ])
      ).rows
        .map((r) => r.id)
        .sort((a, b) => a - b);
      const copied = attempts.map((a, k) => ({
        ...a,
        id: ids[k]!,
        startSeq: a.startSeq + seqOffset,
        endSeq: a.endSeq === null ? null : a.endSeq + seqOffset,
      }));
      const rows = copied.map((a) => importValues(a, a.startSeq, a.endSeq));
      const column = (k: number) => rows.map((r) => r[k]!);
      const types = IMPORT_COLUMNS.map((name) => IMPORT_TYPES[name]);
      await c.query(
        `INSERT INTO attempts (id, project, ${IMPORT_COLUMNS.join(', ')})
         SELECT t.id, $1, ${IMPORT_COLUMNS.map((name) => (IMPORT_TYPES[name] === 'text' && JSON_COLUMNS.has(name) ? `t.${name}::jsonb` : `t.${name}`)).join(', ')}
         FROM unnest($2::bigint[], ${types.map((t, k) => `$${k + 3}::${t}[]`).join(', ')}) AS t(id, ${IMPORT_COLUMNS.join(', ')})`,
        [this.project, ids, ...IMPORT_COLUMNS.map((_, k) => column(k))],
      );
      // Each partition's latest attempt and latest success in this batch (ids grow in order).
      const last = new Map<string, Attempt>();
      const success = new Map<string, Attempt>();
      for (const a of copied) {
        const key = `${a.asset}\u0000${a.partition}`;
        last.set(key, a);
        if (a.status === 'success') success.set(key, a);
        changed.add(a.asset);
      }
      await lockAssets(c, this.project, [...changed], 'shared');
      const keys = [...last.keys()];
      const l = keys.map((k) => last.get(k)!);
      const s = keys.map((k) => success.get(k) ?? null);
      await c.query(
        `INSERT INTO partition_state AS s (project, asset, partition, last_attempt_id, last_status, last_started_at, last_ended_at,
           success_id, success_start_seq, success_end_seq, success_ended_at, success_code_version, success_deps, success_data_version, changed_seq)
         SELECT $1, *, nextval('partition_state_seq') FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[],
           $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[])
         ON CONFLICT (project, asset, partition) DO UPDATE SET
           changed_seq = EXCLUDED.changed_seq,
           last_attempt_id = GREATEST(s.last_attempt_id, EXCLUDED.last_attempt_id),
           last_status = CASE WHEN EXCLUDED.last_attempt_id >= s.last_attempt_id THEN EXCLUDED.last_status ELSE s.last_status END,
           last_started_at = CASE WHEN EXCLUDED.last_attempt_id >= s.last_attempt_id THEN EXCLUDED.last_started_at ELSE s.last_started_at END,
           last_ended_at = CASE WHEN EXCLUDED.last_attempt_id >= s.last_attempt_id THEN EXCLUDED.last_ended_at ELSE s.last_ended_at END,
           ${[
             'success_id',
             'success_start_seq',
             'success_end_seq',
             'success_ended_at',
             'success_code_version',
             'success_deps',
             'success_data_version',
           ]
             .map((f) => `${f} = CASE WHEN EXCLUDED.success_id >= COALESCE(s.success_id, 0) THEN EXCLUDED.${f} ELSE s.${f} END`)
             .join(',\n           ')}`,
        [
          this.project,
          l.map((a) => a.asset),
          l.map((a) => a.partition),
          l.map((a) => a.id),
          l.map((a) => a.status),
          l.map((a) => a.startedAt),
          l.map((a) => a.endedAt),
          s.map((a) => a?.id ?? null),
          s.map((a) => a?.startSeq ?? null),
          s.map((a) => a?.endSeq ?? null),
          s.map((a) => a?.endedAt ?? null),
          s.map((a) => a?.codeVersion ?? null),
          s.map((a) => (a?.deps ? a.deps.join('\n') : null)),
          s.map((a) => a?.dataVersion ?? null),
        ],
      );
      const top = Math.max(...copied.map((a) => Math.max(a.startSeq, a.endSeq ?? 0)));
      await c.query(`SELECT setval('backfill_seq', GREATEST($1::bigint, (SELECT last_value FROM backfill_seq)))`, [top]);
      return ids;
    });
  }

  /**
   * Leases the partitions for a backfill for `ttlMs` (renewed by calling again): each one is
   * taken when free, expired, or already this backfill's. Returns those another live backfill
   * holds (they are left out), with who holds them.
   */
  async claim(
    backfillId: string,
    holder: string,
    partitions: readonly { asset: string; partition: string }[],
    ttlMs: number,
  ): Promise<LeaseHolder[]> {
    if (partitions.length === 0) return [];
    return this.write(async (c) => {
      const assets = partitions.map((p) => p.asset);
      const keys = partitions.map((p) => p.partition);
      // One statement for all: rows free, expired or ours are (re)taken; the others stay as they are.
      await c.query(
        `INSERT INTO partition_leases AS l (project, asset, partition, backfill_id, holder, expires_at)
         SELECT $1, a, p, $2, $3, now() + make_interval(secs => $4::double precision / 1000)
         FROM unnest($5::text[], $6::text[]) AS t(a, p)
         ON CONFLICT (project, asset, partition) DO UPDATE SET backfill_id = EXCLUDED.backfill_id, holder = EXCLUDED.holder,
           expires_at = EXCLUDED.expires_at
         WHERE l.backfill_id = EXCLUDED.backfill_id OR l.expires_at < now()`,
        [this.project, backfillId, holder, ttlMs, assets, keys],
      );
      const others = await c.query<{ asset: string; partition: string; backfill_id: string; holder: string; expires: number }>(
        `SELECT l.asset, l.partition, l.backfill_id, l.holder, (extract(epoch FROM l.expires_at) * 1000)::float8 AS expires
         FROM partition_leases l JOIN unnest($2::text[], $3::text[]) AS t(a, p) ON l.asset = t.a AND l.partition = t.p
         WHERE l.project = $1 AND l.backfill_id != $4`,
        [this.project, assets, keys, backfillId],
      );
      return others.rows.map((r) => ({
        asset: r.asset,
        partition: r.partition,
        backfillId: r.backfill_id,
        holder: r.holder,
        expiresAt: Math.round(r.expires),
      }));
    });
  }

  /** Gives up a backfill's leases (all of them, or those of some partitions). */
  async release(backfillId: string, partitions?: readonly { asset: string; partition: string }[]): Promise<void> {
    if (!partitions) {
      await this.pool.query(`DELETE FROM partition_leases WHERE project = $1 AND backfill_id = $2`, [this.project, backfillId]);
      return;
    }
    await this.pool.query(
      `DELETE FROM partition_leases l USING unnest($3::text[], $4::text[]) AS t(a, p)
       WHERE l.project = $1 AND l.backfill_id = $2 AND l.asset = t.a AND l.partition = t.p`,
      [this.project, backfillId, partitions.map((p) => p.asset), partitions.map((p) => p.partition)],
    );
  }

  /**
   * Calls `onChange` with the assets of this project that another connection (any process, any
   * machine) changed, as their transactions commit. A dedicated connection LISTENs; when it is
   * lost it is reopened (with backoff) and `onChange` is called with null: anything may have
   * changed meanwhile. Returns a function that stops listening.
   */
  listen(onChange: (assets: string[] | null) => void, onError: (message: string | null) => void = () => {}): () => void {
    let stopped = false;
    let client: pg.PoolClient | null = null;
    let delay = 500;
    /** The connection was lost (or never made): the next one to succeed says so and has everything read again. */
    let lost = false;
    const connect = async (): Promise<void> => {
      while (!stopped) {
        try {
          const c = await this.pool.connect();
          c.on('notification', (n) => {
            if (n.channel !== CHANNEL || !n.payload) return;
            try {
              const p = JSON.parse(n.payload) as { project: string; assets: string[] };
              if (p.project === this.project) onChange(p.assets);
            } catch {
              // not ours
            }
          });
          c.on('error', () => {
            // the connection is gone: reopen it
            c.release(true);
            if (client === c) client = null;
            if (!stopped) {
              lost = true;
              onError(`lost the connection to ${this.location}: reconnecting`);
              void connect();
            }
          });
          await c.query(`LISTEN ${CHANNEL}`);
          if (stopped) {
            c.release(true);
            return;
          }
          client = c;
          if (lost) {
            lost = false;
            onError(null);
            onChange(null);
          }
          delay = 500;
          return;
        } catch (e) {
          lost = true;
          onError(pgUserError(e, this.location).message);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(30_000, delay * 2);
        }
      }
    };
    const ready = connect();
    const stop = (): void => {
      stopped = true;
      void ready.then(() => {
        const c = client;
        client = null;
        if (c) {
          c.query(`UNLISTEN ${CHANNEL}`)
            .catch(() => {})
            .finally(() => c.release());
        }
      });
    };
    return stop;
  }

  /** @internal For teamRunState.ts and tests: a query on the pool. */
  query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    return this.pool.query(text, values);
  }
}

/** One partition_state row (partition, last_attempt_id … success_data_version, as an array) into a snapshot. */
function addStateRow(snap: AssetSnapshot, v: unknown[]): void {
  const row = snap.row(v[0] as string);
  snap.set(row, F.lastAttemptId, v[1] as number);
  snap.set(row, F.lastStatus, STATUS_CODES.indexOf(v[2] as AttemptStatus));
  snap.set(row, F.lastStartedAt, v[3] as number);
  snap.set(row, F.lastEndedAt, v[4] as number | null);
  snap.set(row, F.successId, v[5] as number | null);
  snap.set(row, F.successStartSeq, v[6] as number | null);
  snap.set(row, F.successEndSeq, v[7] as number | null);
  snap.set(row, F.successEndedAt, v[8] as number | null);
  snap.setString(row, F.successCodeVersion, v[9] as string | null);
  snap.setString(row, F.successDeps, v[10] as string | null);
  snap.setString(row, F.successDataVersion, v[11] as string | null);
}

/**
 * Advisory locks on assets for this transaction: shared by writers of an asset's partition rows,
 * exclusive for packing it (pack). Taken in a fixed order, so two writers never deadlock.
 */
async function lockAssets(c: pg.PoolClient, project: string, assets: readonly string[], mode: 'shared' | 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  for (const asset of [...new Set(assets)].sort())
    await c.query(`SELECT ${fn}(hashtext('backfill:' || $1::text || '/' || $2::text))`, [project, asset]);
}
