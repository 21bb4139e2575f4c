/**
 * The SQLite driver seam: the only module that knows which SQLite binding is in use.
 *
 * - `node:sqlite` (built into Node ≥ 22.13 and into Electron ≥ 37, so into today's VS Code):
 *   nothing native to ship, the same file format (WAL included).
 * - `better-sqlite3` (a native module built for one Node ABI): for runtimes without the built-in
 *   one, e.g. the CLI on Node 20 and VS Code 1.100's servers.
 *
 * The driver is chosen by trying to load it, never by reading version numbers: a runtime built
 * without SQLite, or an old Node that needs a flag for it, simply fails the first try.
 */
import { UserError } from '../diagnostics.ts';

export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';
export const SQLITE_DRIVERS: readonly SqliteDriverName[] = ['node:sqlite', 'better-sqlite3'];

/** What a value bound to a statement may be. */
export type SqlValue = string | number | bigint | null | Uint8Array;
/** Positional values, or one object of named values (`@name` in the SQL, `{ name }` here). */
export type SqlParams = SqlValue[] | [Record<string, SqlValue>];
export type SqlRow = Record<string, unknown>;

export interface SqlStatement {
  run(...params: SqlParams): { changes: number; lastInsertRowid: number };
  get(...params: SqlParams): SqlRow | undefined;
  all(...params: SqlParams): SqlRow[];
}

/** One open connection, whichever driver is behind it. Blobs read back as Uint8Array (a Buffer with better-sqlite3). */
export interface SqliteConnection {
  readonly driver: SqliteDriverName;
  /** The SQLite library's version, e.g. 3.54.1. */
  readonly sqliteVersion: string;
  readonly isOpen: boolean;
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  close(): void;
}

export interface ConnectOptions {
  /** How long SQLite waits for another connection's lock before failing with SQLITE_BUSY (ms). */
  timeoutMs: number;
  /** Use this driver and no other (tests and benchmarks; `BACKFILL_SQLITE_DRIVER` does the same). */
  driver?: SqliteDriverName;
}

/** Neither driver can be loaded by this runtime; the message says why for each and what to install. */
export class SqliteUnavailableError extends UserError {
  constructor(
    message: string,
    /** Why each driver that was tried could not be loaded. */
    readonly reasons: Partial<Record<SqliteDriverName, string>>,
  ) {
    super(message);
    this.name = 'SqliteUnavailableError';
  }
}

/** Opens (creating if needed) the database file with the first driver this runtime can load. */
export function connect(path: string, options: ConnectOptions): SqliteConnection {
  const driver = loadDriver(options.driver);
  return driver.open(path, options.timeoutMs);
}

/** The driver `connect` would use, loading it (and throwing SqliteUnavailableError) if needed. */
export function sqliteDriver(forced?: SqliteDriverName): SqliteDriverName {
  return loadDriver(forced).name;
}

interface Driver {
  name: SqliteDriverName;
  open(path: string, timeoutMs: number): SqliteConnection;
}

const loaded = new Map<SqliteDriverName, Driver | string>();

function loadDriver(forced?: SqliteDriverName): Driver {
  const env = process.env.BACKFILL_SQLITE_DRIVER;
  if (!forced && env) {
    if (!SQLITE_DRIVERS.includes(env as SqliteDriverName)) {
      throw new UserError(`BACKFILL_SQLITE_DRIVER must be one of ${SQLITE_DRIVERS.join(', ')} (or unset), not "${env}"`);
    }
    forced = env as SqliteDriverName;
  }
  const reasons: Partial<Record<SqliteDriverName, string>> = {};
  for (const name of forced ? [forced] : SQLITE_DRIVERS) {
    let d = loaded.get(name);
    if (d === undefined) {
      d = tryLoad(name);
      loaded.set(name, d);
    }
    if (typeof d !== 'string') return d;
    reasons[name] = d;
  }
  throw new SqliteUnavailableError(unavailableMessage(reasons, forced), reasons);
}

/** The driver, or why it cannot be loaded here. */
function tryLoad(name: SqliteDriverName): Driver | string {
  try {
    if (name === 'node:sqlite') {
      const mod = requireQuietly('node:sqlite') as NodeSqliteModule;
      return { name, open: (path, timeoutMs) => new Connection(name, new mod.DatabaseSync(path, { timeout: timeoutMs })) };
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3') as BetterSqliteConstructor;
    // A module built for another ABI loads its JavaScript but fails on the addon: open a
    // throw-away in-memory database now, so that a broken build counts as "not available".
    new Database(':memory:').close();
    return { name, open: (path, timeoutMs) => new Connection(name, new Database(path, { timeout: timeoutMs })) };
  } catch (e) {
    return ((e as Error).message ?? String(e)).split('\n')[0]!;
  }
}

/**
 * Node 22.13–24.14 print "ExperimentalWarning: SQLite is an experimental feature" on the first
 * load; the module is what we want, so that one warning is not passed on (others are).
 */
function requireQuietly(id: string): unknown {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/SQLite/i.test(text)) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(id);
  } finally {
    process.emitWarning = emit;
  }
}

function unavailableMessage(reasons: Partial<Record<SqliteDriverName, string>>, forced?: SqliteDriverName): string {
  const runtime = `Node ${process.versions.node}${process.versions.electron ? ` in Electron ${process.versions.electron}` : ''}`;
  if (forced) return `the SQLite driver ${forced} (forced by BACKFILL_SQLITE_DRIVER) cannot be loaded by ${runtime}: ${reasons[forced]}`;
  return (
    `no SQLite driver can be loaded by ${runtime}: it has no built-in node:sqlite (${reasons['node:sqlite']}), and better-sqlite3 ` +
    `cannot be loaded (${reasons['better-sqlite3']}). Use Node 22.13 or newer, which has SQLite built in, or install better-sqlite3 ` +
    `for this Node: npm install better-sqlite3@12.11.1 (it compiles with python3, make and g++: sudo apt-get install -y python3 make g++)`
  );
}

// ---------------------------------------------------------------------------------- errors

/** SQLite's primary result codes that the store explains (see sqlite3.h). */
const PRIMARY_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR',
  3: 'SQLITE_PERM',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  19: 'SQLITE_CONSTRAINT',
  26: 'SQLITE_NOTADB',
};

/**
 * The primary SQLite result code of an error from either driver (`SQLITE_BUSY`, `SQLITE_CORRUPT`,
 * …), or undefined when it is not an SQLite error. better-sqlite3 names extended codes
 * (`SQLITE_BUSY_SNAPSHOT`); node:sqlite gives the number (`errcode`).
 */
export function sqliteErrorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; errcode?: unknown } | null;
  if (!err || typeof err !== 'object') return undefined;
  if (typeof err.errcode === 'number') return PRIMARY_CODES[err.errcode & 0xff] ?? `SQLITE_${err.errcode & 0xff}`;
  if (typeof err.code === 'string' && err.code.startsWith('SQLITE_')) {
    const primary = Object.values(PRIMARY_CODES).find((c) => err.code === c || (err.code as string).startsWith(`${c}_`));
    return primary ?? err.code;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------- the drivers

/** What both drivers' database and statement objects offer, and all that the store uses of them. */
interface NativeStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown;
}
interface NativeDatabase {
  prepare(sql: string): NativeStatement;
  exec(sql: string): void;
  close(): void;
}
interface NodeSqliteModule {
  DatabaseSync: new (path: string, options: { timeout: number }) => NativeDatabase;
}
type BetterSqliteConstructor = new (path: string, options?: { timeout?: number }) => NativeDatabase;

/**
 * A connection through either driver: their APIs agree on what the store uses. Integers are
 * read as numbers by both (node:sqlite's readBigInts and better-sqlite3's safeIntegers are off),
 * so run()'s changes and lastInsertRowid are numbers too.
 */
class Connection implements SqliteConnection {
  readonly sqliteVersion: string;
  private open = true;

  constructor(
    readonly driver: SqliteDriverName,
    private readonly db: NativeDatabase,
  ) {
    this.sqliteVersion = String((db.prepare('SELECT sqlite_version() AS v').get() as SqlRow).v);
  }

  get isOpen(): boolean {
    return this.open;
  }

  prepare(sql: string): SqlStatement {
    // The statement's own methods, bound: no wrapper call per row.
    const s = this.db.prepare(sql);
    return { run: s.run.bind(s), get: s.get.bind(s), all: s.all.bind(s) } as SqlStatement;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }
}
