/**
 * The state database file: opening it through the SQLite driver seam (sqlite.ts), schema
 * migrations, WAL and lock handling, transactions, and the messages that name the file and the
 * fix. What is stored in it is store.ts's and backfills.ts's business.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../diagnostics.ts';
import { connect, sqliteErrorCode, type SqliteConnection, type SqliteDriverName, type SqlStatement } from './sqlite.ts';

export const SCHEMA_VERSION = 6;

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
  // 3: the running attempts of an asset, found without scanning its history: a runner checks
  // them before it starts a partition, so that no partition runs in two backfills at once.
  `
  CREATE INDEX attempts_running ON attempts (asset, partition) WHERE status = 'running';
  `,
  // 4: what each attempt cost (its share of its task's cost) and where that number came from:
  // 'reported' by the command (::backfill cost=) or computed from the asset's declared 'rate'.
  `
  ALTER TABLE attempts ADD COLUMN cost REAL;
  ALTER TABLE attempts ADD COLUMN cost_source TEXT CHECK (cost_source IN ('reported', 'rate'));
  `,
  // 5: the Slurm job (array element, `123_4`) running a task: jobs outlive the runner, so a resume
  // re-attaches to them instead of running the task again.
  `
  ALTER TABLE backfill_tasks ADD COLUMN job TEXT;
  `,
  // 6: which process a saved pid was (its start: boot and start time, processStart), so that a
  // pid the system gave to another process since is never taken for ours (nor killed), and a
  // runner that is alive but stopped (SIGSTOP, a suspended laptop) is not taken for dead.
  `
  ALTER TABLE backfills ADD COLUMN pid_start TEXT;
  ALTER TABLE backfill_tasks ADD COLUMN pid_start TEXT;
  `,
];

export interface OpenOptions {
  /** How long to wait for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
  /** Use this SQLite driver and no other (tests, benchmarks). Default: node:sqlite where the runtime has it, else better-sqlite3. */
  driver?: SqliteDriverName;
}

/**
 * One open state database: an SQLite file in WAL mode, so that editor windows and CLI processes
 * (on different Node versions, through different drivers) read while one writes.
 */
/** The state database's file was deleted or replaced while open: what was written to it since is gone with it. */
export class StateFileGoneError extends UserError {}

/** A 0-byte file this old is not one being created by another process right now. */
const EMPTY_FILE_GRACE_MS = 10_000;

export class StateDatabase {
  private readonly statements = new Map<string, SqlStatement>();
  /** The file as opened (inode), to notice it deleted or replaced under us. */
  private ino = 0;
  /** Nesting depth of transaction(): inner ones are savepoints. */
  private depth = 0;

  private constructor(
    readonly path: string,
    private readonly conn: SqliteConnection,
  ) {}

  /** Which driver opened it, and the SQLite library's version: e.g. "node:sqlite (SQLite 3.54.1)". */
  get driver(): SqliteDriverName {
    return this.conn.driver;
  }
  get sqliteVersion(): string {
    return this.conn.sqliteVersion;
  }

  static open(path: string, options: OpenOptions = {}): StateDatabase {
    const found = existsSync(path) ? statSync(path) : null;
    // SQLite would take an empty file for a new database: a history truncated to nothing (or a
    // file that never was one) must not silently become an empty history.
    if (found?.isFile() && found.size === 0 && Date.now() - found.mtimeMs > EMPTY_FILE_GRACE_MS)
      throw new UserError(
        `the state database ${path} is an empty file (0 bytes): its history is gone, or it never was a database. Backfill does not start a new history over it: restore it from a backup, or move it aside (mv ${path} ${path}.broken) to start afresh`,
      );
    if (!found) {
      const dir = dirname(path);
      // A folder of our own (the default .backfill/) is kept out of git; a folder that was there
      // already (--state or backfill.stateDatabase pointing into the project) is left alone.
      const created = mkdirSync(dir, { recursive: true });
      const ignore = `${dir}/.gitignore`;
      if (created !== undefined && !existsSync(ignore)) writeFileSync(ignore, '# Backfill state: local to this machine\n*\n');
    }
    const timeoutMs = options.busyTimeoutMs ?? 10_000;
    let conn: SqliteConnection;
    try {
      // A runtime with no driver at all throws SqliteUnavailableError, which says what to install.
      conn = connect(path, { timeoutMs, driver: options.driver });
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw explain(e, path, `cannot open the state database ${path}: ${(e as Error).message}`);
    }
    const db = new StateDatabase(path, conn);
    try {
      // Before anything that writes (WAL mode changes the file's header): a database refused
      // for being newer or not ours is left exactly as it was.
      db.transaction(() => db.checkVersion(), 'deferred');
      db.enableWal(timeoutMs);
      conn.exec('PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 268435456; PRAGMA foreign_keys = ON');
      db.migrate();
      db.ino = statSync(path).ino;
    } catch (e) {
      conn.close();
      throw explain(e, path);
    }
    return db;
  }

  /**
   * Throws StateFileGoneError when the database file, or its write-ahead log, was deleted or
   * replaced since it was opened: SQLite would go on writing to the deleted file, and everything
   * written would vanish when it is closed. Called before a backfill records a result.
   */
  checkFile(): void {
    let ino: number | null = null;
    try {
      ino = statSync(this.path).ino;
    } catch {
      ino = null;
    }
    const wal = this.pragma('journal_mode') === 'wal';
    const gone =
      ino === null || ino !== this.ino
        ? `the state database ${this.path} was ${ino === null ? 'deleted' : 'replaced'} while in use`
        : wal && !existsSync(`${this.path}-wal`)
          ? `the state database's write-ahead log ${this.path}-wal was deleted while in use`
          : null;
    if (gone) throw new StateFileGoneError(`${gone}: what was recorded since it was opened is lost with it`);
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  close(): void {
    this.statements.clear();
    this.conn.close();
  }

  /** A prepared statement, cached for the connection's life (the runner writes task states thousands of times). */
  sql(text: string): SqlStatement {
    let s = this.statements.get(text);
    if (!s) this.statements.set(text, (s = this.conn.prepare(text)));
    return s;
  }

  /** The value of a pragma that returns one (e.g. `user_version`). */
  pragma(name: string): unknown {
    const row = this.sql(`PRAGMA ${name}`).get();
    return row ? Object.values(row)[0] : undefined;
  }

  /**
   * SQLite's data_version: changes whenever another connection commits. Poll it (cheaply) to
   * notice writes by other processes.
   */
  get dataVersion(): number {
    return this.pragma('data_version') as number;
  }

  /**
   * Runs `fn` in a transaction: committed when it returns, rolled back when it throws. Write
   * transactions take the write lock at BEGIN (IMMEDIATE), so that two processes never both
   * read and then fail to upgrade; nested calls are savepoints of the outer one.
   */
  transaction<T>(fn: () => T, mode: 'immediate' | 'deferred' = 'immediate'): T {
    if (this.depth > 0) {
      const name = `sp${this.depth}`;
      this.sql(`SAVEPOINT ${name}`).run();
      this.depth++;
      try {
        const result = fn();
        this.sql(`RELEASE ${name}`).run();
        return result;
      } catch (e) {
        this.sql(`ROLLBACK TO ${name}`).run();
        this.sql(`RELEASE ${name}`).run();
        throw e;
      } finally {
        this.depth--;
      }
    }
    this.sql(mode === 'immediate' ? 'BEGIN IMMEDIATE' : 'BEGIN').run();
    this.depth = 1;
    try {
      const result = fn();
      this.sql('COMMIT').run();
      return result;
    } catch (e) {
      // A failed COMMIT (SQLITE_BUSY) leaves the transaction open; a failed statement may have
      // rolled it back already.
      try {
        this.sql('ROLLBACK').run();
      } catch {
        // no transaction left to roll back
      }
      throw e;
    } finally {
      this.depth = 0;
    }
  }

  /** Runs `fn` in a write transaction; SQLite errors become messages naming the file and the fix. */
  write<T>(fn: () => T): T {
    try {
      return this.transaction(fn);
    } catch (e) {
      throw sqliteErrorCode(e) ? explain(e, this.path) : e;
    }
  }

  private migrate(): void {
    // One read transaction: the version and the tables from the same snapshot, even while another
    // process commits its migration of a new file.
    if (this.transaction(() => this.checkVersion(), 'deferred') === SCHEMA_VERSION) return;
    // Another process may be migrating the same new file: read the version again under the write
    // lock, so that each step runs exactly once.
    this.transaction(() => {
      for (let v = this.checkVersion(); v < SCHEMA_VERSION; v++) {
        this.conn.exec(MIGRATIONS[v]!);
        this.conn.exec(`PRAGMA user_version = ${v + 1}`);
      }
    });
  }

  /**
   * Switches the database to WAL mode, waiting up to `timeoutMs` for other processes. The switch
   * upgrades a read transaction to a write one, and SQLite fails such an upgrade at once with
   * SQLITE_BUSY (without calling the busy handler) while another connection holds the write lock,
   * as a second process does for a moment while it creates a new database.
   */
  private enableWal(timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        // Returns the mode in force: the old one when it could not be changed.
        if (this.conn.prepare('PRAGMA journal_mode = WAL').get()?.['journal_mode'] === 'wal') return;
      } catch (e) {
        if (sqliteErrorCode(e) !== 'SQLITE_BUSY') throw e;
      }
      if (Date.now() >= deadline) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      Atomics.wait(pause, 0, 0, delay);
    }
  }

  /** The schema version of a database this Backfill can use (0: empty), or a UserError. Only reads. */
  private checkVersion(): number {
    const version = this.pragma('user_version') as number;
    if (version > SCHEMA_VERSION) {
      throw new UserError(
        `the state database ${this.path} has schema version ${version}, newer than this Backfill understands (${SCHEMA_VERSION}): upgrade Backfill, or point --state at another file`,
      );
    }
    if (version === 0) {
      // A file that is not empty but has no version is not ours.
      const tables = this.sql(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get()!['n'] as number;
      if (tables > 0) {
        throw new UserError(`${this.path} is an SQLite database but not a Backfill state database: point --state at another file`);
      }
    }
    return version;
  }
}

/** Turns SQLite errors (from either driver) into messages that name the file and the fix. */
export function explainStoreError(e: unknown, path: string): Error {
  return explain(e, path);
}

function explain(e: unknown, path: string, fallback?: string): Error {
  if (e instanceof UserError) return e;
  const message = (e as { message?: string } | null)?.message ?? String(e);
  switch (sqliteErrorCode(e)) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return new UserError(
        `the state database ${path} is corrupt (${message}). Nothing was changed: move it aside (mv "${path}" "${path}.broken") to start a new history, or restore it from a backup`,
      );
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new UserError(
        `the state database ${path} stayed locked by another process: close the other Backfill process (an editor window or a CLI run) or wait for it, then retry`,
      );
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
      return new UserError(`cannot write the state database ${path} (${message}): check the folder's permissions or use --state`);
    case 'SQLITE_FULL':
      return new UserError(
        `the disk holding the state database ${path} is full (${message}): nothing of the failed write was recorded; free some space, then retry`,
      );
    default:
      return new UserError(fallback ?? `state database ${path}: ${message}`);
  }
}
