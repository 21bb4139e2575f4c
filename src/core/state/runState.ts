/**
 * What planning and running a backfill needs of the state database, asynchronous, so that the
 * runner, the CLI and the editor work the same on a workspace's SQLite file (LocalRunState) and
 * on a team's PostgreSQL database (TeamRunState in teamRunState.ts): backfills and their tasks,
 * starting and finishing tasks together with their attempts, heartbeats, and which partitions
 * another backfill is running now.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BackfillStore,
  runnerAlive,
  type BackfillRecord,
  type BackfillStatus,
  type NewBackfill,
  type StoredTask,
  type TaskStatus,
} from './backfills.ts';
import { F } from './snapshot.ts';
import type { SnapshotSource } from './staleness.ts';
import type { Attempt, AttemptInput, AttemptResult } from './store.ts';
import { StateStore } from './store.ts';

/** Who is running a partition: another backfill, and where (`process 123` here, `alice@build-2` on a team database). */
export interface BusyHolder {
  backfill: string;
  by: string;
}

/** A task about to start: it goes running, and its partitions' attempts start, in one transaction. */
export interface TaskStart {
  taskId: string;
  /** The task's try this start begins (its tries + 1): a start written twice (retried after a lost connection) counts once. */
  tryNo: number;
  at: number;
  asset: string;
  /** Its partition keys ('' for an unpartitioned asset). */
  keys: string[];
  attempts: Array<Omit<AttemptInput, 'status' | 'endedAt'>>;
  /**
   * Every partition of the task succeeded with this code version after the store's sequence was
   * `since` (another backfill built it since this one was planned): the task succeeds without running.
   */
  builtSince?: { since: number; code: string | null };
}

/** Started (the attempt ids); left pending because another live backfill runs some of its partitions; or already built by `by` (a backfill id, or null for a recorded materialization). */
export type StartResult = { ids: number[] } | { busy: Map<string, BusyHolder> } | { builtBy: string | null };

/** `materialized meanwhile by backfill bf-…`: what a task built by another run says. */
export function builtMessage(by: string | null): string {
  return by ? `materialized meanwhile by backfill ${by}` : 'materialized meanwhile (recorded)';
}

/** What a task runs. */
export interface TaskCommand {
  taskId: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
}

/** A task's outcome, written with its attempts' outcomes in one transaction. */
export interface TaskFinish {
  status: TaskStatus;
  at: number;
  exitCode?: number | null;
  message?: string | null;
  attempts?: Array<{ id: number; result: AttemptResult }>;
}

export interface RunState {
  readonly kind: 'local' | 'team';
  /** The file, or the URL without its password: for messages. */
  readonly location: string;
  /** The folder under which backfills keep their logs and Slurm files (on this machine). */
  readonly filesDir: string;

  // What planning and the runner read.
  snapshots(assets: readonly string[]): Promise<SnapshotSource>;
  attempt(id: number): Promise<Attempt | null>;
  spentCost(runId: string): Promise<{ spent: number; unknown: number }>;
  hasCost(runId: string): Promise<boolean>;
  costSamples(asset: string, per: 'partition' | 'task'): Promise<number[]>;
  durationSamples(asset: string): Promise<number[]>;
  /** The store's sequence: grows with every attempt started or finished (by anyone). */
  sequence(): Promise<number>;

  // Backfills and their tasks.
  create(b: NewBackfill): Promise<void>;
  get(id: string): Promise<BackfillRecord | null>;
  list(limit?: number): Promise<BackfillRecord[]>;
  /** A backfill id from a unique prefix, like git does for commits. */
  resolve(prefix: string): Promise<string | null>;
  tasks(id: string): Promise<StoredTask[]>;
  runningJobs(id: string): Promise<string[]>;
  setOption(id: string, key: string, value: string | number | boolean): Promise<void>;
  setStatus(id: string, status: BackfillStatus, fields?: { pid?: number | null; endedAt?: number | null }): Promise<void>;
  /** The runner is alive: its heartbeat, and its leases renewed. Returns the backfill's stored status (`canceled` by another process). */
  beat(id: string): Promise<BackfillStatus | null>;
  /** Starts tasks in one transaction (or, for those another live backfill runs a partition of, says who). */
  startTasks(backfillId: string, starts: readonly TaskStart[]): Promise<Map<string, StartResult>>;
  setTaskJobs(backfillId: string, jobs: ReadonlyMap<string, string>): Promise<void>;
  /** The process group of a task's command, saved as it starts (a resume after a crash stops it). */
  setTaskPid(backfillId: string, taskId: string, pid: number): Promise<void>;
  /** Tasks' commands as rendered now. */
  setCommands(backfillId: string, tasks: ReadonlyArray<TaskCommand>): Promise<void>;
  finishTask(backfillId: string, taskId: string, finish: TaskFinish): Promise<void>;
  /** Partitions of `asset` among `keys` that another live backfill runs now. */
  runningElsewhere(asset: string, keys: readonly string[], backfillId: string): Promise<Map<string, BusyHolder>>;
  /** Whether a backfill's runner is alive (its process exists where that can be seen, and it beats). */
  alive(b: BackfillRecord): boolean;
  /** Backfills whose runner is gone, made resumable (interrupted); returns their ids. */
  recoverInterrupted(): Promise<string[]>;
  /** Puts a backfill whose runner is gone into the resumable state. */
  interrupt(id: string): Promise<void>;
  /** Running tasks with Slurm jobs (scancel'ed) canceled. */
  cancelJobTasks(id: string): Promise<void>;
  /** Tasks in these statuses back to pending (not those still running on Slurm); returns how many. */
  reset(id: string, statuses: readonly TaskStatus[]): Promise<number>;
  delete(id: string): Promise<boolean>;

  /** Whether an error means the database cannot be reached for now (the write is tried again), rather than that it refused. */
  transient(e: unknown): boolean;
  close(): Promise<void>;
}

/** The runner's view of a workspace's SQLite state file. */
export class LocalRunState implements RunState {
  readonly kind = 'local';
  private readonly backfills: BackfillStore;

  constructor(readonly store: StateStore) {
    this.backfills = new BackfillStore(store);
  }

  get location(): string {
    return this.store.path;
  }

  get filesDir(): string {
    return path.dirname(this.store.path);
  }

  async snapshots(): Promise<SnapshotSource> {
    return this.store;
  }
  async attempt(id: number): Promise<Attempt | null> {
    return this.store.attempt(id);
  }
  async spentCost(runId: string): Promise<{ spent: number; unknown: number }> {
    return this.store.spentCost(runId);
  }
  async hasCost(runId: string): Promise<boolean> {
    return this.store.hasCost(runId);
  }
  async costSamples(asset: string, per: 'partition' | 'task'): Promise<number[]> {
    return this.store.costSamples(asset, per);
  }
  async durationSamples(asset: string): Promise<number[]> {
    return this.store.durationSamples(asset);
  }
  async sequence(): Promise<number> {
    return this.store.sequence;
  }

  async create(b: NewBackfill): Promise<void> {
    this.backfills.create(b);
  }
  async get(id: string): Promise<BackfillRecord | null> {
    return this.backfills.get(id);
  }
  async list(limit?: number): Promise<BackfillRecord[]> {
    return this.backfills.list(limit);
  }
  async resolve(prefix: string): Promise<string | null> {
    return this.backfills.resolve(prefix);
  }
  async tasks(id: string): Promise<StoredTask[]> {
    return this.backfills.tasks(id);
  }
  async runningJobs(id: string): Promise<string[]> {
    return this.backfills.runningJobs(id);
  }
  async setOption(id: string, key: string, value: string | number | boolean): Promise<void> {
    this.backfills.setOption(id, key, value);
  }
  async setStatus(id: string, status: BackfillStatus, fields?: { pid?: number | null; endedAt?: number | null }): Promise<void> {
    this.backfills.setStatus(id, status, fields);
  }

  async beat(id: string): Promise<BackfillStatus | null> {
    this.backfills.heartbeat(id);
    return this.backfills.status(id);
  }

  async startTasks(backfillId: string, starts: readonly TaskStart[]): Promise<Map<string, StartResult>> {
    this.store.db.checkFile();
    const out = new Map<string, StartResult>();
    // One transaction holds the write lock: a partition another live backfill runs is seen as taken.
    this.store.transaction(() => {
      for (const s of starts) {
        const taken = this.backfills.runningElsewhere(s.asset, s.keys, backfillId);
        if (taken.size > 0) {
          out.set(s.taskId, { busy: taken });
          continue;
        }
        const built = s.builtSince ? this.builtBy(s.asset, s.keys, s.builtSince) : undefined;
        if (built !== undefined) {
          this.backfills.finishTask(backfillId, s.taskId, { status: 'succeeded', at: s.at, message: builtMessage(built) });
          out.set(s.taskId, { builtBy: built });
        } else
          out.set(s.taskId, {
            ids: this.backfills.startTask(backfillId, s.taskId, s.at, () => s.attempts.map((a) => this.store.startAttempt(a))),
          });
      }
    });
    return out;
  }

  /** The run that built all `keys` since `since` with `code` (null: recorded), or undefined when some is not built so. */
  private builtBy(
    asset: string,
    keys: readonly string[],
    { since, code }: { since: number; code: string | null },
  ): string | null | undefined {
    const snap = this.store.snapshot(asset);
    let last = NaN;
    for (const key of keys) {
      const r = snap.index.get(key);
      if (r === undefined) return undefined;
      const end = snap.get(r, F.successEndSeq);
      if (Number.isNaN(end) || end <= since || snap.string(r, F.successCodeVersion) !== code) return undefined;
      last = snap.get(r, F.successId);
    }
    return this.store.attempt(last)?.runId ?? null;
  }

  async setTaskJobs(backfillId: string, jobs: ReadonlyMap<string, string>): Promise<void> {
    this.backfills.setTaskJobs(backfillId, jobs);
  }
  async setTaskPid(backfillId: string, taskId: string, pid: number): Promise<void> {
    this.backfills.setTaskPid(backfillId, taskId, pid);
  }
  async setCommands(backfillId: string, tasks: ReadonlyArray<TaskCommand>): Promise<void> {
    this.backfills.setCommands(backfillId, tasks);
  }

  async finishTask(backfillId: string, taskId: string, f: TaskFinish): Promise<void> {
    this.store.db.checkFile();
    this.backfills.finishTask(
      backfillId,
      taskId,
      { status: f.status, at: f.at, exitCode: f.exitCode ?? null, message: f.message ?? null },
      () => {
        for (const a of f.attempts ?? []) this.store.finishAttempt(a.id, a.result);
      },
    );
  }

  async runningElsewhere(asset: string, keys: readonly string[], backfillId: string): Promise<Map<string, BusyHolder>> {
    return this.backfills.runningElsewhere(asset, keys, backfillId);
  }

  alive(b: BackfillRecord): boolean {
    return runnerAlive(b.pid, b.pidStart, b.heartbeatAt);
  }

  async recoverInterrupted(): Promise<string[]> {
    return this.backfills.recoverInterrupted();
  }
  async interrupt(id: string): Promise<void> {
    this.store.transaction(() => this.backfills.interrupt(id));
  }
  async cancelJobTasks(id: string): Promise<void> {
    this.backfills.cancelJobTasks(id);
  }
  async reset(id: string, statuses: readonly TaskStatus[]): Promise<number> {
    return this.backfills.reset(id, statuses);
  }
  async delete(id: string): Promise<boolean> {
    return this.backfills.delete(id);
  }

  transient(): boolean {
    // A local file that refuses a write (disk full, read-only, deleted) does not come back by waiting.
    return false;
  }

  async close(): Promise<void> {
    this.store.close();
  }
}

/** The runner's state for a store given either way (the CLI's and the editor's SQLite store, or a RunState). */
export function runStateOf(s: StateStore | RunState): RunState {
  return s instanceof StateStore ? new LocalRunState(s) : s;
}

/** `user@host`: who runs a backfill, as colleagues see it. */
export function whoAmI(): string {
  let user = process.env['USER'] ?? process.env['LOGNAME'] ?? '';
  try {
    user ||= os.userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return `${user}@${os.hostname()}`;
}
