import { StateDatabase, type OpenOptions } from './database.ts';
import type { SqlValue } from './sqlite.ts';
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
  /** This partition's share of its task's cost, in the workspace's cost unit (null: unknown). */
  cost: number | null;
  /** Where the cost came from: reported by the command, or computed from the asset's declared rate. */
  costSource: CostSource | null;
}

export type CostSource = 'reported' | 'rate';

/** The columns of a copied attempt (importAttempts), in the order of importValues. */
export const IMPORT_COLUMNS = [
  'asset',
  'partition',
  'run_id',
  'started_at',
  'ended_at',
  'status',
  'exit_code',
  'duration_ms',
  'code_version',
  'data_version',
  'inputs',
  'deps',
  'metadata',
  'start_seq',
  'end_seq',
  'cost',
  'cost_source',
] as const;

/** A copied attempt's values for IMPORT_COLUMNS, with its new sequences. */
export function importValues(a: Attempt, startSeq: number, endSeq: number | null): Array<string | number | null> {
  const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
  return [
    a.asset,
    a.partition,
    a.runId,
    a.startedAt,
    a.endedAt,
    a.status,
    a.exitCode,
    a.durationMs,
    a.codeVersion,
    a.dataVersion,
    json(a.inputs),
    json(a.deps),
    json(a.metadata),
    startSeq,
    endSeq,
    a.cost,
    a.costSource,
  ];
}

/** Which attempts `history` lists (newest first, at most `limit`, default 100). */
export interface HistoryFilter {
  asset?: string;
  partition?: string;
  runId?: string;
  limit?: number;
}

/** The column = value conditions of a history filter. */
export function historyFilters(filter: HistoryFilter): Array<[column: string, value: string]> {
  const out: Array<[string, string]> = [];
  if (filter.asset !== undefined) out.push(['asset', filter.asset]);
  if (filter.partition !== undefined) out.push(['partition', filter.partition]);
  if (filter.runId !== undefined) out.push(['run_id', filter.runId]);
  return out;
}

/** How an attempt ended (finishAttempt). */
export interface AttemptResult {
  status: Exclude<AttemptStatus, 'running'>;
  endedAt: number;
  /** How long it ran, when not from its start to its end (a Slurm job's time in the queue is not run time). */
  durationMs?: number;
  exitCode?: number | null;
  dataVersion?: string | null;
  inputs?: InputVersions | null;
  metadata?: Record<string, unknown> | null;
  cost?: number | null;
  costSource?: CostSource | null;
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

/**
 * The state database: every materialization attempt per (asset, partition), with history,
 * and a per-partition summary maintained in the same transaction. SQLite in WAL mode so that
 * editor windows and CLI processes can read while one writes.
 */
export class StateStore {
  private readonly stmts: ReturnType<StateStore['prepare']>;

  private constructor(
    /** The database file; for the modules of src/core/state only (backfills.ts). */
    readonly db: StateDatabase,
  ) {
    this.stmts = this.prepare();
  }

  /** Opens (creating and migrating it when needed) the state database at `path`; errors are UserErrors naming the file and the fix. */
  static open(path: string, options: OpenOptions = {}): StateStore {
    return new StateStore(StateDatabase.open(path, options));
  }

  get path(): string {
    return this.db.path;
  }

  /** The SQLite driver in use and its SQLite version, e.g. "node:sqlite (SQLite 3.54.1)". */
  get driverDescription(): string {
    return `${this.db.driver} (SQLite ${this.db.sqliteVersion})`;
  }

  close(): void {
    this.db.close();
  }

  private prepare() {
    const sql = (text: string) => this.db.sql(text);
    return {
      saveSeq: sql(`UPDATE counters SET value = ? WHERE name = 'seq'`),
      currentSeq: sql(`SELECT value FROM counters WHERE name = 'seq'`),
      insert: sql(`
        INSERT INTO attempts (asset, partition, run_id, started_at, ended_at, status, exit_code, duration_ms,
          code_version, data_version, inputs, deps, metadata, start_seq, end_seq)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      finish: sql(`
        UPDATE attempts SET status = @status, ended_at = @endedAt, exit_code = @exitCode, duration_ms = @durationMs,
          data_version = COALESCE(@dataVersion, data_version), inputs = COALESCE(@inputs, inputs),
          metadata = COALESCE(@metadata, metadata), cost = @cost, cost_source = @costSource, end_seq = @endSeq
        WHERE id = @id AND status = 'running' RETURNING *`),
      loadSnapshot: sql(`SELECT partitions, records, strings, fingerprint, indexes FROM asset_state WHERE asset = ?`),
      loadLog: sql(`
        SELECT a.id, a.partition, a.status, a.started_at, a.ended_at, a.start_seq, a.end_seq, a.code_version, a.deps, a.data_version
        FROM state_log l JOIN attempts a ON a.id = l.attempt_id WHERE l.asset = ? ORDER BY l.id`),
      logCount: sql(`SELECT count(*) AS n FROM state_log WHERE asset = ?`),
      appendLog: sql(`INSERT INTO state_log (asset, attempt_id) VALUES (?, ?)`),
      clearLog: sql(`DELETE FROM state_log WHERE asset = ?`),
      saveSnapshot: sql(
        `INSERT OR REPLACE INTO asset_state (asset, partitions, records, strings, fingerprint, indexes) VALUES (@asset, @partitions, @records, @strings, @fingerprint, @indexes)`,
      ),
      assets: sql(`SELECT asset FROM asset_state UNION SELECT asset FROM state_log ORDER BY asset`),
      byId: sql(`SELECT * FROM attempts WHERE id = ?`),
    };
  }

  /** Current store sequence; grows with every started or finished attempt. */
  get sequence(): number {
    return this.stmts.currentSeq.get()!['value'] as number;
  }

  /**
   * Changes whenever another connection commits: poll it (cheaply) to notice writes by other
   * processes.
   */
  get dataVersion(): number {
    return this.db.dataVersion;
  }

  /** Records an attempt that has started; returns its id. */
  startAttempt(input: Omit<AttemptInput, 'status' | 'endedAt'>): number {
    return this.write(() => this.insert({ ...input, status: 'running' }));
  }

  /** Completes a running attempt. Returns the finished attempt, or null if it was not running. */
  finishAttempt(id: number, result: AttemptResult): Attempt | null {
    return this.write(() => {
      const before = this.stmts.byId.get(id) as unknown as Row | undefined;
      if (!before) return null;
      const endSeq = this.nextSeq();
      const row = this.stmts.finish.get({
        id,
        status: result.status,
        endedAt: result.endedAt,
        exitCode: result.exitCode ?? null,
        durationMs: Math.max(0, result.durationMs ?? result.endedAt - before.started_at),
        dataVersion: result.dataVersion ?? null,
        inputs: result.inputs ? JSON.stringify(result.inputs) : null,
        metadata: result.metadata ? JSON.stringify(result.metadata) : null,
        cost: result.cost ?? null,
        costSource: result.cost === null || result.cost === undefined ? null : (result.costSource ?? null),
        endSeq,
      }) as unknown as Row | undefined;
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
      this.stmts.insert.run(
        p.asset,
        p.partition,
        p.runId,
        p.startedAt,
        p.endedAt,
        p.status,
        p.exitCode,
        p.durationMs,
        p.codeVersion,
        p.dataVersion,
        p.inputs,
        p.deps,
        p.metadata,
        p.startSeq,
        p.endSeq,
      ).lastInsertRowid,
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
      cost: null,
      costSource: null,
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
    return this.db.write(() => {
      const outer = this.pending === null;
      if (outer) {
        this.pending = new Map();
        this.seq = this.sequence;
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
    });
  }

  /**
   * Applies a transaction's attempts to an asset's state: appended to its log when that stays
   * short, else folded with the log into the snapshot (one blob rewrite for many attempts).
   */
  private applyPending(asset: string, attempts: Attempt[]): void {
    const logged = this.stmts.logCount.get(asset)!['n'] as number;
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
    for (const r of this.stmts.loadLog.all(asset) as unknown as Row[]) {
      applyAttempt(snap, {
        id: r.id,
        partition: r.partition,
        status: r.status,
        startedAt: r.started_at,
        endedAt: r.ended_at,
        startSeq: r.start_seq,
        endSeq: r.end_seq,
        codeVersion: r.code_version,
        deps: json<string[]>(r.deps),
        dataVersion: r.data_version,
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
    return this.stmts.assets.all().map((r) => r['asset'] as string);
  }

  attempt(id: number): Attempt | null {
    const row = this.stmts.byId.get(id) as unknown as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Past attempts, newest first. */
  history(filter: HistoryFilter = {}): Attempt[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    for (const [column, value] of historyFilters(filter)) {
      where.push(`${column} = ?`);
      params.push(value);
    }
    const sql = `SELECT * FROM attempts ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    params.push(filter.limit ?? 100);
    return (this.db.sql(sql).all(...params) as unknown as Row[]).map(fromRow);
  }

  /**
   * The costs of the asset's last `sample` finished attempts that have one (reported or
   * computed), newest first: the history cost estimates come from. Per partition (each
   * partition's share of its task's cost), or per task (the shares of a task's partitions
   * summed: what one run of the command cost; a task's attempts end in one transaction, at one time).
   */
  costSamples(asset: string, per: 'partition' | 'task' = 'partition', sample = 200): number[] {
    const sql =
      per === 'partition'
        ? `SELECT cost FROM attempts WHERE asset = ? AND status IN ('success', 'failed') AND cost IS NOT NULL ORDER BY id DESC LIMIT ?`
        : `SELECT total(cost) AS cost FROM attempts WHERE asset = ? AND status IN ('success', 'failed') AND cost IS NOT NULL
           GROUP BY run_id, ended_at ORDER BY max(id) DESC LIMIT ?`;
    return this.db
      .sql(sql)
      .all(asset, sample)
      .map((r) => r['cost'] as number);
  }

  /** What the attempts of one backfill (all its runs and retries) cost so far, and whether any cost is unknown. */
  spentCost(runId: string): { spent: number; unknown: number } {
    const r = this.db
      .sql(`SELECT total(cost) AS spent, count(*) - count(cost) AS unknown FROM attempts WHERE run_id = ? AND status != 'running'`)
      .get(runId)!;
    return { spent: r['spent'] as number, unknown: r['unknown'] as number };
  }

  /** Whether any attempt of the backfill has a cost. */
  hasCost(runId: string): boolean {
    return this.db.sql(`SELECT 1 FROM attempts WHERE run_id = ? AND cost IS NOT NULL LIMIT 1`).get(runId) !== undefined;
  }

  /** Durations (ms) of the asset's last `sample` finished attempts, newest first: the history time estimates come from. */
  durationSamples(asset: string, sample = 200): number[] {
    return this.db
      .sql(
        `SELECT duration_ms FROM attempts WHERE asset = ? AND status IN ('success', 'failed') AND duration_ms IS NOT NULL ORDER BY id DESC LIMIT ?`,
      )
      .all(asset, sample)
      .map((r) => r['duration_ms'] as number);
  }

  /** Median duration (ms) of the asset's finished attempts, over the last `sample` of them; null without history. */
  medianDurationMs(asset: string, sample = 200): number | null {
    const rows = this.durationSamples(asset, sample);
    if (rows.length === 0) return null;
    rows.sort((a, b) => a - b);
    const mid = rows.length >> 1;
    return rows.length % 2 ? rows[mid]! : (rows[mid - 1]! + rows[mid]!) / 2;
  }

  /** Attempts in the order they were recorded (id order), `limit` at a time after `afterId`: for copying a store. */
  /** How many attempts are still running (a backfill in progress, Slurm jobs a resume would follow). */
  runningAttempts(): number {
    return this.db.sql(`SELECT count(*) AS n FROM attempts WHERE status = 'running'`).get()!['n'] as number;
  }

  attemptsAfter(afterId: number, limit: number): Attempt[] {
    return (this.db.sql(`SELECT * FROM attempts WHERE id > ? ORDER BY id LIMIT ?`).all(afterId, limit) as unknown as Row[]).map(fromRow);
  }

  /**
   * Adds attempts copied from another store, in their order, keeping every field and the order
   * of their sequences (shifted past this store's: `seqOffset`), so that the states and
   * "ended after started" comparisons come out the same. Returns the new ids.
   */
  importAttempts(attempts: readonly Attempt[], seqOffset: number): number[] {
    const insert = this.db.sql(`INSERT INTO attempts (${IMPORT_COLUMNS.join(', ')}) VALUES (${IMPORT_COLUMNS.map(() => '?').join(', ')})`);
    return this.write(() => {
      const ids: number[] = [];
      for (const a of attempts) {
        const startSeq = a.startSeq + seqOffset;
        const endSeq = a.endSeq === null ? null : a.endSeq + seqOffset;
        const id = Number(insert.run(...importValues(a, startSeq, endSeq)).lastInsertRowid);
        this.seq = Math.max(this.seq, startSeq, endSeq ?? 0);
        this.updateState({ ...a, id, startSeq, endSeq });
        ids.push(id);
      }
      return ids;
    });
  }

  /** Runs a function in one write transaction. */
  transaction<T>(fn: () => T): T {
    return this.write(fn);
  }
}

/** An attempts row as a driver gives it: JSON columns as text (SQLite) or already parsed (PostgreSQL's JSONB). */
export interface AttemptRow {
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
  inputs: string | InputVersions | null;
  deps: string | string[] | null;
  metadata: string | Record<string, unknown> | null;
  start_seq: number;
  end_seq: number | null;
  cost: number | null;
  cost_source: CostSource | null;
}

/** Log entries per asset before they are folded into its snapshot. */
const COMPACT_AT = 256;

type StateChange = Pick<
  Attempt,
  'id' | 'partition' | 'status' | 'startedAt' | 'endedAt' | 'startSeq' | 'endSeq' | 'codeVersion' | 'deps' | 'dataVersion'
>;

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

type Row = AttemptRow;

function json<T>(v: string | T | null): T | null {
  return v === null || v === undefined ? null : typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

export function fromRow(r: AttemptRow): Attempt {
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
    inputs: json<InputVersions>(r.inputs),
    deps: json<string[]>(r.deps),
    metadata: json<Record<string, unknown>>(r.metadata),
    startSeq: r.start_seq,
    endSeq: r.end_seq,
    cost: r.cost ?? null,
    costSource: r.cost_source ?? null,
  };
}
