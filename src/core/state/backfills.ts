import { readFileSync } from 'node:fs';
import type { SqlStatement } from './sqlite.ts';
import type { StateStore } from './store.ts';

export type BackfillStatus = 'running' | 'paused' | 'interrupted' | 'succeeded' | 'failed' | 'canceled';
export type TaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'canceled';
export const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'canceled'];

export interface StoredTask {
  backfillId: string;
  id: string;
  seq: number;
  asset: string;
  partitions: string[];
  command: string;
  cwd: string;
  env: Record<string, string>;
  after: string[];
  status: TaskStatus;
  tries: number;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  message: string | null;
  /** The materialization attempts of the task's latest try. */
  attemptIds: number[];
  /** The Slurm job running its latest try (`123_4`), while it runs on Slurm. */
  job: string | null;
}

export interface BackfillRecord {
  id: string;
  createdAt: number;
  status: BackfillStatus;
  description: string;
  workspace: string;
  options: Record<string, unknown>;
  pid: number | null;
  heartbeatAt: number | null;
  endedAt: number | null;
  counts: Record<TaskStatus, number>;
  /** Partitions per task status. */
  partitionCounts: Record<TaskStatus, number>;
  /** Which process its pid was when saved (processStart), to tell it from a pid reused since. */
  pidStart: string | null;
  /** Who runs it (`user@host`) and on which machine: on a team database. */
  owner?: string;
  host?: string;
}

export interface NewBackfill {
  id: string;
  createdAt: number;
  description: string;
  workspace: string;
  options: Record<string, unknown>;
  pid: number;
  tasks: Array<{
    id: string;
    asset: string;
    partitions: string[];
    command: string;
    cwd: string;
    env: Record<string, string>;
    after: string[];
  }>;
}

/** A backfill_tasks row (on PostgreSQL too). */
export interface TaskRow {
  backfill_id: string;
  task_id: string;
  seq: number;
  asset: string;
  partitions: string;
  command: string;
  cwd: string;
  env: string;
  after: string;
  status: TaskStatus;
  tries: number;
  started_at: number | null;
  ended_at: number | null;
  exit_code: number | null;
  message: string | null;
  attempt_ids: string | null;
  job: string | null;
}

/** A task as stored: its JSON columns parsed. */
export function storedTask(r: TaskRow): StoredTask {
  return {
    backfillId: r.backfill_id,
    id: r.task_id,
    seq: r.seq,
    asset: r.asset,
    partitions: JSON.parse(r.partitions) as string[],
    command: r.command,
    cwd: r.cwd,
    env: JSON.parse(r.env) as Record<string, string>,
    after: JSON.parse(r.after) as string[],
    status: r.status,
    tries: r.tries,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    exitCode: r.exit_code,
    message: r.message,
    attemptIds: r.attempt_ids ? (JSON.parse(r.attempt_ids) as number[]) : [],
    job: r.job ?? null,
  };
}

/** A backfills row (heartbeat_at in ms on this machine's clock) with its task counts. */
export function backfillRecord(
  row: Record<string, unknown>,
  counts: Record<TaskStatus, number>,
  partitionCounts: Record<TaskStatus, number>,
): BackfillRecord {
  return {
    id: row['id'] as string,
    createdAt: row['created_at'] as number,
    status: row['status'] as BackfillStatus,
    description: row['description'] as string,
    workspace: row['workspace'] as string,
    options: JSON.parse(row['options'] as string) as Record<string, unknown>,
    pid: row['pid'] as number | null,
    heartbeatAt: row['heartbeat_at'] as number | null,
    endedAt: row['ended_at'] as number | null,
    counts,
    partitionCounts,
    pidStart: (row['pid_start'] as string | null | undefined) ?? null,
    ...(typeof row['owner'] === 'string' ? { owner: row['owner'] } : {}),
    ...(typeof row['host'] === 'string' ? { host: row['host'] } : {}),
  };
}

export function zeroCounts(): Record<TaskStatus, number> {
  return { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, canceled: 0 };
}

/** How long without a heartbeat before a running backfill counts as interrupted even though a process with its pid exists (pids are reused). */
export const HEARTBEAT_STALE_MS = 60_000;

/**
 * Backfills and their tasks in the state database. Every change of a task's state is written
 * (in one transaction with the materialization attempts it concerns) before the runner acts on
 * it, so a backfill can be resumed after its process dies.
 */
export class BackfillStore {
  constructor(private readonly store: StateStore) {}

  /** A prepared statement, cached per connection (the runner writes task states thousands of times). */
  private sql(text: string): SqlStatement {
    return this.store.db.sql(text);
  }

  create(b: NewBackfill): void {
    const insertTask = this.sql(`
      INSERT INTO backfill_tasks (backfill_id, task_id, seq, asset, partitions, command, cwd, env, after, status)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`);
    this.store.transaction(() => {
      this.sql(
        `INSERT INTO backfills (id, created_at, status, description, workspace, options, pid, heartbeat_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)`,
      ).run(b.id, b.createdAt, b.description, b.workspace, JSON.stringify(b.options), b.pid, b.createdAt);
      b.tasks.forEach((t, i) =>
        insertTask.run(
          b.id,
          t.id,
          i,
          t.asset,
          JSON.stringify(t.partitions),
          t.command,
          t.cwd,
          JSON.stringify(t.env),
          JSON.stringify(t.after),
        ),
      );
    });
  }

  get(id: string): BackfillRecord | null {
    const row = this.sql(`SELECT * FROM backfills WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return row ? this.record(row) : null;
  }

  /** A backfill's stored status (null: no such backfill). */
  status(id: string): BackfillStatus | null {
    const row = this.sql(`SELECT status FROM backfills WHERE id = ?`).get(id);
    return row ? (row['status'] as BackfillStatus) : null;
  }

  /** Backfills, newest first. */
  list(limit = 100): BackfillRecord[] {
    const rows = this.sql(`SELECT * FROM backfills ORDER BY created_at DESC, id DESC LIMIT ?`).all(limit) as Array<Record<string, unknown>>;
    return rows.map((r) => this.record(r));
  }

  /** A backfill id from a unique prefix, like git does for commits. */
  resolve(prefix: string): string | null {
    const rows = this.sql(`SELECT id FROM backfills WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 2`)
      .all(prefix, prefix.replace(/[\\%_]/g, '\\$&') + '%')
      .map((r) => r['id'] as string);
    if (rows.includes(prefix)) return prefix;
    return rows.length === 1 ? rows[0]! : null;
  }

  tasks(id: string): StoredTask[] {
    return (this.sql(`SELECT * FROM backfill_tasks WHERE backfill_id = ? ORDER BY seq`).all(id) as unknown as TaskRow[]).map(storedTask);
  }

  /** Changes one of a backfill's stored options (resume --max-cost raises its budget). */
  setOption(id: string, key: string, value: string | number | boolean): void {
    this.store.transaction(() => {
      const row = this.sql(`SELECT options FROM backfills WHERE id = ?`).get(id);
      if (!row) return;
      const options = JSON.parse(row['options'] as string) as Record<string, unknown>;
      options[key] = value;
      this.sql(`UPDATE backfills SET options = ? WHERE id = ?`).run(JSON.stringify(options), id);
    });
  }

  setStatus(id: string, status: BackfillStatus, fields: { pid?: number | null; endedAt?: number | null } = {}): void {
    this.store.transaction(() => {
      this.sql(`UPDATE backfills SET status = ? WHERE id = ?`).run(status, id);
      if (fields.pid !== undefined)
        this.sql(`UPDATE backfills SET pid = ?, pid_start = ?, heartbeat_at = ? WHERE id = ?`).run(
          fields.pid,
          fields.pid === null ? null : processStart(fields.pid),
          Date.now(),
          id,
        );
      if (fields.endedAt !== undefined) this.sql(`UPDATE backfills SET ended_at = ? WHERE id = ?`).run(fields.endedAt, id);
    });
  }

  heartbeat(id: string, at = Date.now()): void {
    this.store.transaction(() => this.sql(`UPDATE backfills SET heartbeat_at = ? WHERE id = ?`).run(at, id));
  }

  /**
   * Marks a task running and starts the materialization attempts of its partitions, in one
   * transaction. Returns the attempt ids.
   */
  startTask(backfillId: string, taskId: string, at: number, startAttempts: () => number[]): number[] {
    return this.store.transaction(() => {
      const ids = startAttempts();
      this.sql(
        `UPDATE backfill_tasks SET status = 'running', tries = tries + 1, started_at = ?, ended_at = NULL, exit_code = NULL, message = NULL, attempt_ids = ?, job = NULL WHERE backfill_id = ? AND task_id = ?`,
      ).run(at, JSON.stringify(ids), backfillId, taskId);
      return ids;
    });
  }

  /**
   * The partitions among `keys` of `asset` that another backfill is running now, with that
   * backfill and by what: a live runner's command (`process 123`), or a Slurm job (`Slurm job
   * 12_3`), also one a runner that died left running: it holds its partitions until a resume
   * follows it to its end or a cancel stops it. Called in the transaction that starts a task:
   * transactions take the write lock first, so two runners never both see a partition free.
   */
  runningElsewhere(
    asset: string,
    keys: readonly string[],
    backfillId: string,
    now = Date.now(),
  ): Map<string, { backfill: string; by: string }> {
    const out = new Map<string, { backfill: string; by: string }>();
    const wanted = new Set(keys);
    const jobs = this.sql(
      `SELECT backfill_id, partitions, job FROM backfill_tasks WHERE asset = ? AND status = 'running' AND job IS NOT NULL AND backfill_id != ?`,
    ).all(asset, backfillId) as unknown as Array<{ backfill_id: string; partitions: string; job: string }>;
    for (const j of jobs) {
      const parts = JSON.parse(j.partitions) as string[];
      for (const k of parts.length ? parts : ['']) if (wanted.has(k)) out.set(k, { backfill: j.backfill_id, by: `Slurm job ${j.job}` });
    }
    const rows = this.sql(
      `
      SELECT a.partition, a.run_id, b.pid, b.pid_start, b.heartbeat_at FROM attempts a JOIN backfills b ON b.id = a.run_id
      WHERE a.asset = ? AND a.status = 'running' AND a.run_id != ? AND b.status = 'running'`,
    ).all(asset, backfillId) as unknown as Array<{
      partition: string;
      run_id: string;
      pid: number | null;
      pid_start: string | null;
      heartbeat_at: number | null;
    }>;
    for (const r of rows) {
      if (!wanted.has(r.partition) || out.has(r.partition) || !runnerAlive(r.pid, r.pid_start, r.heartbeat_at, now)) continue;
      out.set(r.partition, { backfill: r.run_id, by: `process ${r.pid}` });
    }
    return out;
  }

  /** The process group of a task's command, so that a later resume can stop it if the runner died. */
  /** Records the Slurm jobs of submitted tasks (before they are released to run). */
  setTaskJobs(backfillId: string, jobs: ReadonlyMap<string, string>): void {
    this.store.transaction(() => {
      const update = this.sql(`UPDATE backfill_tasks SET job = ? WHERE backfill_id = ? AND task_id = ?`);
      for (const [task, job] of jobs) update.run(job, backfillId, task);
    });
  }

  /** The running tasks of a backfill whose process is gone that ran as Slurm jobs (canceled with scancel): canceled here too. */
  cancelJobTasks(id: string, now = Date.now()): void {
    this.store.transaction(() => {
      for (const t of this.tasks(id).filter((t) => t.status === 'running' && t.job !== null)) {
        for (const a of t.attemptIds) this.store.finishAttempt(a, { status: 'canceled', endedAt: now });
      }
      this.sql(
        `UPDATE backfill_tasks SET status = 'canceled', ended_at = ?, message = 'canceled (scancel)', job = NULL WHERE backfill_id = ? AND status = 'running' AND job IS NOT NULL`,
      ).run(now, id);
    });
  }

  /** The Slurm jobs of a backfill's running tasks. */
  runningJobs(backfillId: string): string[] {
    return this.sql(`SELECT job FROM backfill_tasks WHERE backfill_id = ? AND status = 'running' AND job IS NOT NULL`)
      .all(backfillId)
      .map((r) => r['job'] as string);
  }

  /** Tasks' commands as rendered now (a resume runs what the definitions say today). */
  setCommands(
    backfillId: string,
    tasks: ReadonlyArray<{ taskId: string; command: string; cwd: string; env: Record<string, string> }>,
  ): void {
    this.store.transaction(() => {
      const update = this.sql(`UPDATE backfill_tasks SET command = ?, cwd = ?, env = ? WHERE backfill_id = ? AND task_id = ?`);
      for (const t of tasks) update.run(t.command, t.cwd, JSON.stringify(t.env), backfillId, t.taskId);
    });
  }

  setTaskPid(backfillId: string, taskId: string, pid: number | null): void {
    this.store.transaction(() =>
      this.sql(`UPDATE backfill_tasks SET pid = ?, pid_start = ? WHERE backfill_id = ? AND task_id = ?`).run(
        pid,
        pid === null ? null : processStart(pid),
        backfillId,
        taskId,
      ),
    );
  }

  /** Records a task's outcome together with the attempts' outcome (`finishAttempts`), in one transaction. */
  finishTask(
    backfillId: string,
    taskId: string,
    result: { status: TaskStatus; at: number; exitCode?: number | null; message?: string | null },
    finishAttempts: () => void = () => {},
  ): void {
    this.store.transaction(() => {
      finishAttempts();
      this.sql(`UPDATE backfill_tasks SET status = ?, ended_at = ?, exit_code = ?, message = ? WHERE backfill_id = ? AND task_id = ?`).run(
        result.status,
        result.at,
        result.exitCode ?? null,
        result.message ?? null,
        backfillId,
        taskId,
      );
    });
  }

  /** Sets tasks back to pending (for resume and retry), except those that succeeded. */
  reset(backfillId: string, statuses: readonly TaskStatus[]): number {
    return this.store.transaction(() => {
      let n = 0;
      for (const s of statuses) {
        if (s === 'succeeded') continue;
        // A running task with a Slurm job is still running on the cluster: the resume re-attaches to it.
        n += this.sql(
          `UPDATE backfill_tasks SET status = 'pending' WHERE backfill_id = ? AND status = ? AND NOT (status = 'running' AND job IS NOT NULL)`,
        ).run(backfillId, s).changes;
      }
      return n;
    });
  }

  delete(id: string): boolean {
    return this.store.transaction(() => this.sql(`DELETE FROM backfills WHERE id = ?`).run(id).changes > 0);
  }

  /**
   * Backfills left `running` by a process that is gone (killed, crashed, machine rebooted):
   * marked `interrupted`, their running tasks back to pending and the attempts those tasks had
   * started canceled, so nothing looks like it is still running. Returns their ids.
   */
  recoverInterrupted(now = Date.now()): string[] {
    const rows = this.sql(`SELECT id, pid, pid_start, heartbeat_at FROM backfills WHERE status = 'running'`).all() as unknown as Array<{
      id: string;
      pid: number | null;
      pid_start: string | null;
      heartbeat_at: number | null;
    }>;
    const dead = rows.filter((r) => !runnerAlive(r.pid, r.pid_start, r.heartbeat_at, now));
    if (dead.length === 0) return [];
    this.store.transaction(() => {
      for (const r of dead) this.interrupt(r.id, now);
    });
    return dead.map((r) => r.id);
  }

  /** Puts a backfill whose process is gone into the resumable state (inside a transaction). */
  interrupt(id: string, now = Date.now()): void {
    // Commands the dead runner left behind would otherwise race the resumed ones.
    const orphans = this.sql(
      `SELECT pid, pid_start FROM backfill_tasks WHERE backfill_id = ? AND status = 'running' AND pid IS NOT NULL`,
    ).all(id) as unknown as Array<{ pid: number; pid_start: string | null }>;
    killOrphans(orphans);
    // Slurm jobs outlive the runner: their tasks stay running, for a resume to re-attach to.
    for (const t of this.tasks(id).filter((t) => t.status === 'running' && t.job === null)) {
      for (const a of t.attemptIds) this.store.finishAttempt(a, { status: 'canceled', endedAt: now });
    }
    this.sql(`UPDATE backfill_tasks SET status = 'pending' WHERE backfill_id = ? AND status = 'running' AND job IS NULL`).run(id);
    this.sql(`UPDATE backfills SET status = 'interrupted', pid = NULL WHERE id = ?`).run(id);
  }

  private record(row: Record<string, unknown>): BackfillRecord {
    const id = row['id'] as string;
    const counts = zeroCounts();
    const partitionCounts = zeroCounts();
    const rows = this.sql(
      `SELECT status, count(*) AS n, sum(json_array_length(partitions)) AS p FROM backfill_tasks WHERE backfill_id = ? GROUP BY status`,
    ).all(id) as unknown as Array<{ status: TaskStatus; n: number; p: number }>;
    for (const r of rows) {
      counts[r.status] = r.n;
      partitionCounts[r.status] = r.p;
    }
    return backfillRecord(row, counts, partitionCounts);
  }
}

/**
 * Which process a pid is now: this boot and the process's start time (Linux /proc), or null
 * where that cannot be read (no such process, a zombie that has exited, or no /proc). Two
 * readings are equal only for the same process: a pid reused by the system gives another start.
 */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": after the last ')' the fields are state (3rd) onwards; starttime is the 22nd.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return null;
    return `${bootId()}:${fields[19]}`;
  } catch {
    return null;
  }
}

let boot: string | undefined;
function bootId(): string {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      boot = '';
    }
  }
  return boot;
}

/**
 * Whether a saved process (pid, and its start when it was saved) is still that process. Without
 * a saved start (an older record, no /proc) it is whether some process has that pid.
 */
export function sameProcess(pid: number, start: string | null): boolean {
  if (start === null) return processIsAlive(pid);
  return processStart(pid) === start;
}

/**
 * Whether the process group a task's command led is still ours to kill: its leader is the same
 * process, or the leader is gone and members of its group remain (the system hands out no pid
 * that is a live group's id, so those are its leftovers). A pid now used by another process is
 * not ours.
 */
export function groupIsOurs(pgid: number, start: string | null): boolean {
  const now = processStart(pgid);
  if (now !== null || start === null) return start === null || now === start;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a backfill's runner is alive: the same process as when it was saved (a runner that is
 * stopped, SIGSTOP or a suspended laptop, is alive; a pid reused by another process is not).
 * Where the process's start is unknown (an older record), its pid alive and a recent heartbeat.
 */
export function runnerAlive(pid: number | null, start: string | null, heartbeatAt: number | null, now = Date.now()): boolean {
  if (pid === null) return false;
  if (start !== null) return sameProcess(pid, start);
  return processIsAlive(pid) && now - (heartbeatAt ?? 0) <= HEARTBEAT_STALE_MS;
}

/** SIGKILL to the process groups a dead runner's commands led, those still ours (groupIsOurs) only. */
export function killOrphans(orphans: ReadonlyArray<{ pid: number; pid_start: string | null }>): void {
  for (const { pid, pid_start } of orphans) {
    if (!groupIsOurs(pid, pid_start)) continue; // the pid is another process's now
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Whether a process with this id exists on this machine. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
