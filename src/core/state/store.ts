import { mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { UserError } from '../diagnostics.ts';
import { AssetSnapshot, F, STATUS_CODES, type EncodedSnapshot, type PartitionIndexer } from './snapshot.ts';

export type AttemptStatus = 'running' | 'success' | 'failed' | 'canceled';

/** Data versions of the upstream partitions an attempt read: asset → partition key → version. */
export type InputVersions = Record<string, Record<string, string>>;

export interface AttemptInput {
  asset: string;
  /** '' for an unpartitioned asset. */
  partition: string;
  runId?: string | null;
  startedAt: number;
  endedAt?: number | null;
  status: AttemptStatus;
  exitCode?: number | null;
  codeVersion?: string | null;
  dataVersion?: string | null;
  inputs?: InputVersions | null;
  /** The dependency set (upstream asset names) when it ran. */
  deps?: string[] | null;
  metadata?: Record<string, unknown> | null;
}

export interface Attempt {
  id: number;
  asset: string;
  partition: string;
  runId: string | null;
  startedAt: number;
  endedAt: number | null;
  status: AttemptStatus;
  exitCode: number | null;
  durationMs: number | null;
  codeVersion: string | null;
  dataVersion: string | null;
  inputs: InputVersions | null;
  deps: string[] | null;
  metadata: Record<string, unknown> | null;
  /** Store sequence when it started / ended: a partition ended after another started iff endSeq > startSeq. */
  startSeq: number;
  endSeq: number | null;
}

/** The cheap-to-read summary of one partition: its latest attempt and latest success. */
export interface PartitionState {
  partition: string;
  lastAttemptId: number;
  lastStatus: AttemptStatus;
  lastStartedAt: number;
  lastEndedAt: number | null;
  successId: number | null;
  successStartSeq: number | null;
  successEndSeq: number | null;
  successEndedAt: number | null;
  successCodeVersion: string | null;
  successDataVersion: string | null;
  /** Sorted upstream asset names joined with '\n'. */
  successDeps: string | null;
}

const SCHEMA_VERSION = 2;

/** Each entry brings the schema from version i to i+1. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    asset TEXT NOT NULL,
    partition TEXT NOT NULL,
    run_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'canceled')),
    exit_code INTEGER,
    duration_ms INTEGER,
    code_version TEXT,
    data_version TEXT,
    inputs TEXT,
    deps TEXT,
    metadata TEXT,
    start_seq INTEGER NOT NULL,
    end_seq INTEGER
  );
  CREATE INDEX attempts_by_partition ON attempts (asset, partition, id);
  CREATE INDEX attempts_by_run ON attempts (run_id);
  -- The latest attempt and latest success of every partition of an asset, packed per asset
  -- (see snapshot.ts) so that reading the state of 10^6 partitions is 10^3 rows, not 10^6.
  CREATE TABLE asset_state (
    asset TEXT PRIMARY KEY,
    partitions TEXT NOT NULL,
    records BLOB NOT NULL,
    strings TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    indexes BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO counters VALUES ('seq', 0);
  `,
  // 2: backfills and their tasks, so that a backfill survives its process and can be resumed.
  `
  CREATE TABLE backfills (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'paused', 'interrupted', 'succeeded', 'failed', 'canceled')),
    description TEXT NOT NULL,
    workspace TEXT NOT NULL,
    options TEXT NOT NULL,
    pid INTEGER,
    heartbeat_at INTEGER,
    ended_at INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE backfill_tasks (
    backfill_id TEXT NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    asset TEXT NOT NULL,
    partitions TEXT NOT NULL,
    command TEXT NOT NULL,
    cwd TEXT NOT NULL,
    env TEXT NOT NULL,
    after TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'canceled')),
    tries INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    ended_at INTEGER,
    exit_code INTEGER,
    message TEXT,
    attempt_ids TEXT,
    pid INTEGER,
    PRIMARY KEY (backfill_id, task_id)
  ) WITHOUT ROWID;
  -- Attempts not yet folded into their asset's snapshot: small writes append here instead of
  -- rewriting the snapshot; past COMPACT_AT entries an asset's log is folded in.
  CREATE TABLE state_log (
    id INTEGER PRIMARY KEY,
    asset TEXT NOT NULL,
    attempt_id INTEGER NOT NULL
  );
  CREATE INDEX state_log_by_asset ON state_log (asset, id);
  `,
];

export interface OpenOptions {
  /** How long to wait for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
}

/**
 * The state database: every materialization attempt per (asset, partition), with history,
 * and a per-partition summary maintained in the same transaction. SQLite in WAL mode so that
 * editor windows and CLI processes can read while one writes.
 */
export class StateStore {
  /** The connection; for the modules of src/core/state only (backfills.ts). */
  readonly db: Database.Database;
  private readonly stmts: ReturnType<StateStore['prepare']>;

  private constructor(
    readonly path: string,
    db: Database.Database,
  ) {
    this.db = db;
    this.stmts = this.prepare();
  }

  static open(path: string, options: OpenOptions = {}): StateStore {
    const fresh = !existsSync(path);
    if (fresh) {
      const dir = dirname(path);
      // A folder of our own (the default .backfill/) is kept out of git; a folder that was there
      // already (--state or backfill.stateDatabase pointing into the project) is left alone.
      const created = mkdirSync(dir, { recursive: true });
      const ignore = `${dir}/.gitignore`;
      if (created !== undefined && !existsSync(ignore)) writeFileSync(ignore, '# Backfill state: local to this machine\n*\n');
    }
    const timeoutMs = options.busyTimeoutMs ?? 10_000;
    const Sqlite = loadSqlite(); // its own error (SqliteUnavailableError) says how to fix the install
    let db: Database.Database;
    try {
      db = new Sqlite(path, { timeout: timeoutMs });
    } catch (e) {
      throw new UserError(`cannot open the state database ${path}: ${(e as Error).message}`);
    }
    try {
      // Before anything that writes (WAL mode changes the file's header): a database refused
      // for being newer or not ours is left exactly as it was.
      db.transaction(() => checkVersion(db, path))();
      enableWal(db, timeoutMs);
      db.pragma('synchronous = NORMAL');
      db.pragma('mmap_size = 268435456');
      db.pragma('foreign_keys = ON');
      migrate(db, path);
    } catch (e) {
      db.close();
      throw explain(e, path);
    }
    return new StateStore(path, db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private prepare() {
    const db = this.db;
    return {
      saveSeq: db.prepare(`UPDATE counters SET value = ? WHERE name = 'seq'`),
      currentSeq: db.prepare(`SELECT value FROM counters WHERE name = 'seq'`).pluck(),
      insert: db.prepare(`
        INSERT INTO attempts (asset, partition, run_id, started_at, ended_at, status, exit_code, duration_ms,
          code_version, data_version, inputs, deps, metadata, start_seq, end_seq)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      finish: db.prepare(`
        UPDATE attempts SET status = @status, ended_at = @endedAt, exit_code = @exitCode, duration_ms = @durationMs,
          data_version = COALESCE(@dataVersion, data_version), inputs = COALESCE(@inputs, inputs),
          metadata = COALESCE(@metadata, metadata), end_seq = @endSeq
        WHERE id = @id AND status = 'running' RETURNING *`),
      loadSnapshot: db.prepare(`SELECT partitions, records, strings, fingerprint, indexes FROM asset_state WHERE asset = ?`),
      loadLog: db.prepare(`
        SELECT a.id, a.partition, a.status, a.started_at, a.ended_at, a.start_seq, a.end_seq, a.code_version, a.deps, a.data_version
        FROM state_log l JOIN attempts a ON a.id = l.attempt_id WHERE l.asset = ? ORDER BY l.id`).raw(),
      logCount: db.prepare(`SELECT count(*) FROM state_log WHERE asset = ?`).pluck(),
      appendLog: db.prepare(`INSERT INTO state_log (asset, attempt_id) VALUES (?, ?)`),
      clearLog: db.prepare(`DELETE FROM state_log WHERE asset = ?`),
      saveSnapshot: db.prepare(
        `INSERT OR REPLACE INTO asset_state (asset, partitions, records, strings, fingerprint, indexes) VALUES (@asset, @partitions, @records, @strings, @fingerprint, @indexes)`,
      ),
      assets: db.prepare(`SELECT asset FROM asset_state UNION SELECT asset FROM state_log ORDER BY asset`).pluck(),
      byId: db.prepare(`SELECT * FROM attempts WHERE id = ?`),
    };
  }

  /** Current store sequence; grows with every started or finished attempt. */
  get sequence(): number {
    return this.stmts.currentSeq.get() as number;
  }

  /**
   * SQLite's data_version: changes whenever another connection commits. Poll it (cheaply)
   * to notice writes by other processes.
   */
  get dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Records an attempt that has started; returns its id. */
  startAttempt(input: Omit<AttemptInput, 'status' | 'endedAt'>): number {
    return this.write(() => this.insert({ ...input, status: 'running' }));
  }

  /** Completes a running attempt. Returns the finished attempt, or null if it was not running. */
  finishAttempt(
    id: number,
    result: { status: Exclude<AttemptStatus, 'running'>; endedAt: number; exitCode?: number | null; dataVersion?: string | null; inputs?: InputVersions | null; metadata?: Record<string, unknown> | null },
  ): Attempt | null {
    return this.write(() => {
      const before = this.stmts.byId.get(id) as Row | undefined;
      if (!before) return null;
      const endSeq = this.nextSeq();
      const row = this.stmts.finish.get({
        id,
        status: result.status,
        endedAt: result.endedAt,
        exitCode: result.exitCode ?? null,
        durationMs: Math.max(0, result.endedAt - before.started_at),
        dataVersion: result.dataVersion ?? null,
        inputs: result.inputs ? JSON.stringify(result.inputs) : null,
        metadata: result.metadata ? JSON.stringify(result.metadata) : null,
        endSeq,
      }) as Row | undefined;
      if (!row) return null;
      const attempt = fromRow(row);
      this.updateState(attempt);
      return attempt;
    });
  }

  /** Records finished (or running) attempts in one transaction, e.g. `backfill record`. Returns their ids. */
  record(inputs: readonly AttemptInput[]): number[] {
    return this.write(() => inputs.map((i) => this.insert(i)));
  }

  private insert(input: AttemptInput): number {
    const startSeq = this.nextSeq();
    const done = input.status !== 'running';
    const endSeq = done ? this.nextSeq() : null;
    const endedAt = done ? (input.endedAt ?? input.startedAt) : null;
    const deps = input.deps ? [...input.deps].sort() : null;
    const params = {
      asset: input.asset,
      partition: input.partition,
      runId: input.runId ?? null,
      startedAt: input.startedAt,
      endedAt,
      status: input.status,
      exitCode: input.exitCode ?? null,
      durationMs: endedAt === null ? null : Math.max(0, endedAt - input.startedAt),
      codeVersion: input.codeVersion ?? null,
      dataVersion: input.dataVersion ?? null,
      inputs: input.inputs ? JSON.stringify(input.inputs) : null,
      deps: deps ? JSON.stringify(deps) : null,
      metadata: input.metadata ? JSON.stringify(input.metadata) : null,
      startSeq,
      endSeq,
    };
    const p = params;
    const id = Number(
      this.stmts.insert.run(p.asset, p.partition, p.runId, p.startedAt, p.endedAt, p.status, p.exitCode, p.durationMs,
        p.codeVersion, p.dataVersion, p.inputs, p.deps, p.metadata, p.startSeq, p.endSeq).lastInsertRowid,
    );
    this.updateState({
      id,
      asset: input.asset,
      partition: input.partition,
      runId: params.runId,
      startedAt: input.startedAt,
      endedAt,
      status: input.status,
      exitCode: params.exitCode,
      durationMs: params.durationMs,
      codeVersion: params.codeVersion,
      dataVersion: params.dataVersion,
      inputs: input.inputs ?? null,
      deps,
      metadata: input.metadata ?? null,
      startSeq,
      endSeq,
    });
    return id;
  }

  private indexer?: (asset: string) => PartitionIndexer | undefined;

  /**
   * Tells the store how the workspace indexes each asset's partitions: snapshots it writes then
   * carry the indexes, and readers with the same definitions skip parsing keys.
   */
  setIndexer(indexer: (asset: string) => PartitionIndexer | undefined): void {
    this.indexer = indexer;
  }

  /** Attempts changed in the current write transaction, per asset, applied when it commits. */
  private pending: Map<string, Attempt[]> | null = null;
  /** The sequence counter during a write transaction (saved when it commits). */
  private seq = 0;

  private nextSeq(): number {
    return ++this.seq;
  }

  /** Runs `fn` in one write transaction, saving the snapshots it changed before committing. */
  private write<T>(fn: () => T): T {
    try {
      return this.writeTransaction(fn);
    } catch (e) {
      throw (e as { code?: string }).code?.startsWith('SQLITE_') ? explain(e, this.path) : e;
    }
  }

  private writeTransaction<T>(fn: () => T): T {
    return this.db.transaction(() => {
      const outer = this.pending === null;
      if (outer) {
        this.pending = new Map();
        this.seq = this.stmts.currentSeq.get() as number;
      }
      try {
        const result = fn();
        if (outer) {
          this.stmts.saveSeq.run(this.seq);
          for (const [asset, attempts] of this.pending!) this.applyPending(asset, attempts);
        }
        return result;
      } finally {
        if (outer) this.pending = null;
      }
    }).immediate();
  }

  /**
   * Applies a transaction's attempts to an asset's state: appended to its log when that stays
   * short, else folded with the log into the snapshot (one blob rewrite for many attempts).
   */
  private applyPending(asset: string, attempts: Attempt[]): void {
    const logged = this.stmts.logCount.get(asset) as number;
    if (logged + attempts.length <= COMPACT_AT) {
      for (const a of attempts) this.stmts.appendLog.run(asset, a.id);
      return;
    }
    const snap = this.loadSnapshot(asset);
    for (const a of attempts) applyAttempt(snap, a);
    const indexer = this.indexer?.(asset);
    if (indexer) snap.reindex(indexer);
    this.stmts.saveSnapshot.run({ asset, ...snap.encode() });
    if (logged > 0) this.stmts.clearLog.run(asset);
  }

  /** The asset's snapshot with its log applied. */
  private loadSnapshot(asset: string): AssetSnapshot {
    const row = this.stmts.loadSnapshot.get(asset) as EncodedSnapshot | undefined;
    const snap = row ? AssetSnapshot.decode(row) : AssetSnapshot.empty();
    for (const r of this.stmts.loadLog.all(asset) as unknown[][]) {
      applyAttempt(snap, {
        id: r[0] as number,
        partition: r[1] as string,
        status: r[2] as AttemptStatus,
        startedAt: r[3] as number,
        endedAt: r[4] as number | null,
        startSeq: r[5] as number,
        endSeq: r[6] as number | null,
        codeVersion: r[7] as string | null,
        deps: r[8] ? (JSON.parse(r[8] as string) as string[]) : null,
        dataVersion: r[9] as string | null,
      });
    }
    return snap;
  }

  private updateState(a: Attempt): void {
    const list = this.pending!.get(a.asset);
    if (list) list.push(a);
    else this.pending!.set(a.asset, [a]);
  }

  /** The latest state of every recorded partition of an asset, packed (one row read). */
  snapshot(asset: string): AssetSnapshot {
    return this.loadSnapshot(asset);
  }

  /** The per-partition summaries of one asset. */
  partitionStates(asset: string): PartitionState[] {
    const snap = this.loadSnapshot(asset);
    const num = (r: number, f: number): number | null => {
      const v = snap.get(r, f);
      return Number.isNaN(v) ? null : v;
    };
    return snap.keys.map((partition, r) => ({
      partition,
      lastAttemptId: snap.get(r, F.lastAttemptId),
      lastStatus: STATUS_CODES[snap.get(r, F.lastStatus)]!,
      lastStartedAt: snap.get(r, F.lastStartedAt),
      lastEndedAt: num(r, F.lastEndedAt),
      successId: num(r, F.successId),
      successStartSeq: num(r, F.successStartSeq),
      successEndSeq: num(r, F.successEndSeq),
      successEndedAt: num(r, F.successEndedAt),
      successCodeVersion: snap.string(r, F.successCodeVersion),
      successDataVersion: snap.string(r, F.successDataVersion),
      successDeps: snap.string(r, F.successDeps),
    }));
  }

  /** Assets that have any record (also ones no longer defined). */
  recordedAssets(): string[] {
    return this.stmts.assets.all() as string[];
  }

  attempt(id: number): Attempt | null {
    const row = this.stmts.byId.get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Past attempts, newest first. */
  history(filter: { asset?: string; partition?: string; runId?: string; limit?: number } = {}): Attempt[] {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [
      ['asset', filter.asset],
      ['partition', filter.partition],
      ['run_id', filter.runId],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    const sql = `SELECT * FROM attempts ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    params.push(filter.limit ?? 100);
    return (this.db.prepare(sql).all(...params) as Row[]).map(fromRow);
  }

  /** Median duration (ms) of the asset's finished attempts, over the last `sample` of them; null without history. */
  medianDurationMs(asset: string, sample = 200): number | null {
    const rows = this.db
      .prepare(`SELECT duration_ms FROM attempts WHERE asset = ? AND status IN ('success', 'failed') AND duration_ms IS NOT NULL ORDER BY id DESC LIMIT ?`)
      .pluck()
      .all(asset, sample) as number[];
    if (rows.length === 0) return null;
    rows.sort((a, b) => a - b);
    const mid = rows.length >> 1;
    return rows.length % 2 ? rows[mid]! : (rows[mid - 1]! + rows[mid]!) / 2;
  }

  /** Runs a function in one write transaction. */
  transaction<T>(fn: () => T): T {
    return this.write(fn);
  }
}

interface Row {
  id: number;
  asset: string;
  partition: string;
  run_id: string | null;
  started_at: number;
  ended_at: number | null;
  status: AttemptStatus;
  exit_code: number | null;
  duration_ms: number | null;
  code_version: string | null;
  data_version: string | null;
  inputs: string | null;
  deps: string | null;
  metadata: string | null;
  start_seq: number;
  end_seq: number | null;
}

/** Log entries per asset before they are folded into its snapshot. */
const COMPACT_AT = 256;

type StateChange = Pick<Attempt, 'id' | 'partition' | 'status' | 'startedAt' | 'endedAt' | 'startSeq' | 'endSeq' | 'codeVersion' | 'deps' | 'dataVersion'>;

/** Brings a partition's row up to date with one attempt (an older attempt never overrides a newer one). */
function applyAttempt(snap: AssetSnapshot, a: StateChange): void {
  const r = snap.row(a.partition);
  if (!(a.id < snap.get(r, F.lastAttemptId))) {
    snap.set(r, F.lastAttemptId, a.id);
    snap.set(r, F.lastStatus, STATUS_CODES.indexOf(a.status));
    snap.set(r, F.lastStartedAt, a.startedAt);
    snap.set(r, F.lastEndedAt, a.endedAt);
  }
  if (a.status === 'success' && !(a.id < snap.get(r, F.successId))) {
    snap.set(r, F.successId, a.id);
    snap.set(r, F.successStartSeq, a.startSeq);
    snap.set(r, F.successEndSeq, a.endSeq);
    snap.set(r, F.successEndedAt, a.endedAt);
    snap.setString(r, F.successCodeVersion, a.codeVersion);
    snap.setString(r, F.successDeps, a.deps ? a.deps.join('\n') : null);
    snap.setString(r, F.successDataVersion, a.dataVersion);
  }
}

function fromRow(r: Row): Attempt {
  return {
    id: r.id,
    asset: r.asset,
    partition: r.partition,
    runId: r.run_id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    exitCode: r.exit_code,
    durationMs: r.duration_ms,
    codeVersion: r.code_version,
    dataVersion: r.data_version,
    inputs: r.inputs ? (JSON.parse(r.inputs) as InputVersions) : null,
    deps: r.deps ? (JSON.parse(r.deps) as string[]) : null,
    metadata: r.metadata ? (JSON.parse(r.metadata) as Record<string, unknown>) : null,
    startSeq: r.start_seq,
    endSeq: r.end_seq,
  };
}

/**
 * better-sqlite3 is a native module built for one Node ABI. It is loaded on first use (not at
 * import) so that an editor whose runtime cannot load it still shows definitions, and says why.
 */
export function loadSqlite(): typeof Database {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('better-sqlite3') as typeof Database;
  } catch (e) {
    throw new SqliteUnavailableError(
      `the SQLite module (better-sqlite3) cannot be loaded by this runtime (Node ${process.versions.node}, ABI ${process.versions.modules}): ${(e as Error).message.split('\n')[0]}. ` +
        'Install the Backfill build for your platform (see the README, "Packaging"), or run npm rebuild better-sqlite3 for this runtime',
    );
  }
}

export class SqliteUnavailableError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'SqliteUnavailableError';
  }
}

function migrate(db: Database.Database, path: string): void {
  // One read transaction: the version and the tables from the same snapshot, even while another
  // process commits its migration of a new file.
  if (db.transaction(() => checkVersion(db, path))() === SCHEMA_VERSION) return;
  // Another process may be migrating the same new file: read the version again under the write
  // lock, so that each step runs exactly once.
  db.transaction(() => {
    for (let v = checkVersion(db, path); v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/**
 * Switches a database to WAL mode, waiting up to `timeoutMs` for other processes. The switch
 * upgrades a read transaction to a write one, and SQLite fails such an upgrade at once with
 * SQLITE_BUSY (without calling the busy handler) while another connection holds the write lock,
 * as a second process does for a moment while it creates a new database.
 */
function enableWal(db: Database.Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      // Returns the mode in force: the old one when it could not be changed.
      if (db.pragma('journal_mode = WAL', { simple: true }) === 'wal') return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    }
    if (Date.now() >= deadline) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    Atomics.wait(pause, 0, 0, delay);
  }
}

/** The schema version of a database this Backfill can use (0: empty), or a UserError. Only reads. */
function checkVersion(db: Database.Database, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new UserError(
      `the state database ${path} has schema version ${version}, newer than this Backfill understands (${SCHEMA_VERSION}): upgrade Backfill, or point --state at another file`,
    );
  }
  if (version === 0) {
    // A file that is not empty but has no version is not ours.
    const tables = db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table'`).pluck().get() as number;
    if (tables > 0) {
      throw new UserError(`${path} is an SQLite database but not a Backfill state database: point --state at another file`);
    }
  }
  return version;
}

/** Turns SQLite errors into messages that name the file and the fix. */
function explain(e: unknown, path: string): Error {
  if (e instanceof UserError) return e;
  const err = e as { code?: string; message?: string };
  switch (err.code) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return new UserError(
        `the state database ${path} is corrupt (${err.message}). Nothing was changed: move it aside (mv "${path}" "${path}.broken") to start a new history, or restore it from a backup`,
      );
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new UserError(
        `the state database ${path} stayed locked by another process: close the other Backfill process (an editor window or a CLI run) or wait for it, then retry`,
      );
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
      return new UserError(`cannot write the state database ${path} (${err.message}): check the folder's permissions or use --state`);
    default:
      return new UserError(`state database ${path}: ${err.message ?? String(e)}`);
  }
}

/** Wraps a store operation so that SQLite errors name the file and the fix. */
export function explainStoreError(e: unknown, path: string): Error {
  return explain(e, path);
}
