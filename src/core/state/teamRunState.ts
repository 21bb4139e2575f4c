/**
 * Backfills on a team's PostgreSQL state database: the same records as the SQLite store keeps
 * (backfills.ts), shared by every machine of the project, and leases so that a partition one
 * backfill runs is not started by another anywhere. A task's start claims its partitions'
 * leases, starts its attempts and marks it running in one transaction; the runner's heartbeat
 * renews them; its end releases them. A runner that dies stops renewing: its leases expire
 * (BACKFILL_LEASE_MS, default 60 s) and its partitions come free; its own resume takes them back
 * at once. Heartbeats are kept in the server's time, so machines with skewed clocks agree.
 *
 * Every write can be retried after a lost connection and counts once: a task's start is keyed by
 * its try number, finishing an attempt touches only a running one.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type pg from 'pg';
import {
  backfillRecord,
  killOrphans,
  processStart,
  runnerAlive,
  storedTask,
  zeroCounts,
  type TaskRow,
  type BackfillRecord,
  type BackfillStatus,
  type NewBackfill,
  type StoredTask,
  type TaskStatus,
} from './backfills.ts';
import { snapshotsOf } from './copy.ts';
import { isConnectionError, pgUserError, type PostgresStore } from './postgres.ts';
import {
  builtMessage,
  whoAmI,
  type BusyHolder,
  type RunState,
  type StartResult,
  type TaskCommand,
  type TaskFinish,
  type TaskStart,
} from './runState.ts';
import type { SnapshotSource } from './staleness.ts';
import type { Attempt } from './store.ts';

/** How long a partition stays leased without its runner's heartbeat (ms). */
export function leaseMs(): number {
  const v = Number(process.env['BACKFILL_LEASE_MS']);
  return Number.isFinite(v) && v >= 1000 ? v : 60_000;
}

const BACKFILL_COLUMNS = `id, created_at, status, description, workspace, options, owner, host, pid, pid_start, ended_at,
  (extract(epoch FROM now() - heartbeat_at) * 1000)::float8 AS heartbeat_age`;

export class TeamRunState implements RunState {
  readonly kind = 'team';
  private readonly me = whoAmI();
  private readonly host = os.hostname();

  constructor(
    readonly store: PostgresStore,
    /** The workspace: logs and Slurm files stay on this machine, under its .backfill folder. */
    private readonly root: string,
  ) {}

  get location(): string {
    return this.store.location;
  }

  get filesDir(): string {
    return path.join(this.root, '.backfill');
  }

  private get project(): string {
    return this.store.project;
  }

  /** Runs a query or transaction; its errors as messages naming the server (a lost connection as UnreachableError). */
  private async do<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw pgUserError(e, this.store.location);
    }
  }

  private q<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.do(() => this.store.query(text, values) as Promise<pg.QueryResult<R>>);
  }

  async snapshots(assets: readonly string[]): Promise<SnapshotSource> {
    return this.do(() => snapshotsOf(this.store, assets));
  }
  attempt(id: number): Promise<Attempt | null> {
    return this.do(() => this.store.attempt(id));
  }
  spentCost(runId: string): Promise<{ spent: number; unknown: number }> {
    return this.do(() => this.store.spentCost(runId));
  }
  hasCost(runId: string): Promise<boolean> {
    return this.do(() => this.store.hasCost(runId));
  }
  costSamples(asset: string, per: 'partition' | 'task'): Promise<number[]> {
    return this.do(() => this.store.costSamples(asset, per));
  }
  durationSamples(asset: string): Promise<number[]> {
    return this.do(() => this.store.durationSamples(asset));
  }
  sequence(): Promise<number> {
    return this.do(() => this.store.sequence());
  }

  async create(b: NewBackfill): Promise<void> {
    await this.do(() =>
      this.store.transaction(async (c) => {
        await c.query(
          `INSERT INTO backfills (project, id, created_at, status, description, workspace, options, owner, host, pid, heartbeat_at)
           VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, now())`,
          [this.project, b.id, b.createdAt, b.description, b.workspace, JSON.stringify(b.options), this.me, this.host, b.pid],
        );
        const t = b.tasks;
        await c.query(
          `INSERT INTO backfill_tasks (project, backfill_id, task_id, seq, asset, partitions, partition_count, command, cwd, env, after_tasks, status)
           SELECT $1, $2, x.task_id, x.seq, x.asset, x.partitions, x.n, x.command, x.cwd, x.env, x.after_tasks, 'pending'
           FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[])
             AS x(task_id, seq, asset, partitions, n, command, cwd, env, after_tasks)`,
          [
            this.project,
            b.id,
            t.map((x) => x.id),
            t.map((_, i) => i),
            t.map((x) => x.asset),
            t.map((x) => JSON.stringify(x.partitions)),
            t.map((x) => x.partitions.length),
            t.map((x) => x.command),
            t.map((x) => x.cwd),
            t.map((x) => JSON.stringify(x.env)),
            t.map((x) => JSON.stringify(x.after)),
          ],
        );
      }),
    );
  }

  async get(id: string): Promise<BackfillRecord | null> {
    const r = await this.q(`SELECT ${BACKFILL_COLUMNS} FROM backfills WHERE project = $1 AND id = $2`, [this.project, id]);
    return r.rows[0] ? (await this.records([r.rows[0]]))[0]! : null;
  }

  async list(limit = 100): Promise<BackfillRecord[]> {
    const r = await this.q(`SELECT ${BACKFILL_COLUMNS} FROM backfills WHERE project = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [
      this.project,
      limit,
    ]);
    return this.records(r.rows);
  }

  async resolve(prefix: string): Promise<string | null> {
    const r = await this.q<{ id: string }>(
      `SELECT id FROM backfills WHERE project = $1 AND (id = $2 OR starts_with(id, $2)) ORDER BY id LIMIT 2`,
      [this.project, prefix],
    );
    const ids = r.rows.map((x) => x.id);
    if (ids.includes(prefix)) return prefix;
    return ids.length === 1 ? ids[0]! : null;
  }

  async tasks(id: string): Promise<StoredTask[]> {
    const r = await this.q<TaskRow>(
      `SELECT backfill_id, task_id, seq, asset, partitions, command, cwd, env, after_tasks AS after, status, tries, started_at, ended_at,
         exit_code, message, attempt_ids, job
       FROM backfill_tasks WHERE project = $1 AND backfill_id = $2 ORDER BY seq`,
      [this.project, id],
    );
    return r.rows.map(storedTask);
  }

  async runningJobs(id: string): Promise<string[]> {
    const r = await this.q<{ job: string }>(
      `SELECT job FROM backfill_tasks WHERE project = $1 AND backfill_id = $2 AND status = 'running' AND job IS NOT NULL ORDER BY seq`,
      [this.project, id],
    );
    return r.rows.map((x) => x.job);
  }

  async setOption(id: string, key: string, value: string | number | boolean): Promise<void> {
    await this.q(
      `UPDATE backfills SET options = (options::jsonb || jsonb_build_object($3::text, $4::jsonb))::text WHERE project = $1 AND id = $2`,
      [this.project, id, key, JSON.stringify(value)],
    );
  }

  async setStatus(id: string, status: BackfillStatus, fields: { pid?: number | null; endedAt?: number | null } = {}): Promise<void> {
    await this.q(
      `UPDATE backfills SET status = $3,
         pid = CASE WHEN $4 THEN $5::int ELSE pid END, pid_start = CASE WHEN $4 THEN $10::text ELSE pid_start END, owner = CASE WHEN $4 THEN $7 ELSE owner END, host = CASE WHEN $4 THEN $8 ELSE host END,
         heartbeat_at = CASE WHEN $4 THEN now() ELSE heartbeat_at END,
         ended_at = CASE WHEN $6 THEN $9::bigint ELSE ended_at END
       WHERE project = $1 AND id = $2`,
      [
        this.project,
        id,
        status,
        fields.pid !== undefined,
        fields.pid ?? null,
        fields.endedAt !== undefined,
        this.me,
        this.host,
        fields.endedAt ?? null,
        fields.pid === undefined || fields.pid === null ? null : processStart(fields.pid),
      ],
    );
    // A backfill that ended holds no partition any more (an interrupted one's leases expire: its
    // Slurm jobs may still run).
    if (status !== 'running' && status !== 'interrupted')
      await this.q(`DELETE FROM partition_leases WHERE project = $1 AND backfill_id = $2`, [this.project, id]);
  }

  async beat(id: string): Promise<BackfillStatus | null> {
    return this.do(() =>
      this.store.transaction(async (c) => {
        const r = await c.query<{ status: BackfillStatus }>(
          `UPDATE backfills SET heartbeat_at = now() WHERE project = $1 AND id = $2 RETURNING status`,
          [this.project, id],
        );
        await c.query(
          `UPDATE partition_leases SET expires_at = now() + make_interval(secs => $3::double precision / 1000) WHERE project = $1 AND backfill_id = $2`,
          [this.project, id, leaseMs()],
        );
        return r.rows[0]?.status ?? null;
      }),
    );
  }

  async startTasks(backfillId: string, starts: readonly TaskStart[]): Promise<Map<string, StartResult>> {
    if (starts.length === 0) return new Map();
    return this.do(() =>
      this.store.transaction(async (c, changed) => {
        const out = new Map<string, StartResult>();
        // Leases first, for every partition at once: those free, expired or already this
        // backfill's (a resume) are taken; the others say who holds them.
        const assets = starts.flatMap((s) => s.keys.map(() => s.asset));
        const keys = starts.flatMap((s) => s.keys);
        await c.query(
          `INSERT INTO partition_leases AS l (project, asset, partition, backfill_id, holder, expires_at)
           SELECT $1, a, p, $2, $3, now() + make_interval(secs => $4::double precision / 1000) FROM unnest($5::text[], $6::text[]) AS t(a, p)
           ON CONFLICT (project, asset, partition) DO UPDATE SET backfill_id = EXCLUDED.backfill_id, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
           WHERE l.backfill_id = EXCLUDED.backfill_id OR l.expires_at < now()`,
          [this.project, backfillId, this.me, leaseMs(), assets, keys],
        );
        const held = await c.query<{ asset: string; partition: string; backfill_id: string; holder: string }>(
          `SELECT l.asset, l.partition, l.backfill_id, l.holder FROM partition_leases l JOIN unnest($2::text[], $3::text[]) AS t(a, p)
             ON l.asset = t.a AND l.partition = t.p
           WHERE l.project = $1 AND l.backfill_id != $4`,
          [this.project, assets, keys, backfillId],
        );
        const others = new Map(held.rows.map((r) => [`${r.asset}\u0000${r.partition}`, { backfill: r.backfill_id, by: r.holder }]));
        // Slurm jobs a runner that died left running hold their partitions too (their leases lapse).
        for (const j of await this.slurmHeld(c, backfillId, [...new Set(assets)], keys))
          others.set(`${j.asset}\u0000${j.partition}`, { backfill: j.backfill_id, by: `Slurm job ${j.job}` });
        const giveBack: Array<[string, string]> = [];
        for (const s of starts) {
          const busy = new Map<string, BusyHolder>();
          for (const k of s.keys) {
            const o = others.get(`${s.asset}\u0000${k}`);
            if (o) busy.set(k, o);
          }
          if (busy.size > 0) {
            out.set(s.taskId, { busy });
            for (const k of s.keys) giveBack.push([s.asset, k]);
            continue;
          }
          // Built since this backfill was planned (by a run that has let go of it): succeeded, not run again.
          if (s.builtSince) {
            const built = await c.query<{ n: number; built_by: string | null }>(
              `SELECT count(*)::int AS n, (array_agg(a.run_id ORDER BY a.id DESC))[1] AS built_by
               FROM partition_state ps JOIN attempts a ON a.id = ps.success_id
               WHERE ps.project = $1 AND ps.asset = $2 AND ps.partition = ANY($3::text[])
                 AND ps.success_end_seq > $4 AND ps.success_code_version IS NOT DISTINCT FROM $5`,
              [this.project, s.asset, s.keys, s.builtSince.since, s.builtSince.code],
            );
            const row = built.rows[0]!;
            if (row.n === s.keys.length) {
              await c.query(
                `UPDATE backfill_tasks SET status = 'succeeded', ended_at = $4, message = $5 WHERE project = $1 AND backfill_id = $2 AND task_id = $3`,
                [this.project, backfillId, s.taskId, s.at, builtMessage(row.built_by)],
              );
              for (const k of s.keys) giveBack.push([s.asset, k]);
              out.set(s.taskId, { builtBy: row.built_by });
              continue;
            }
          }
          // Keyed by the try: a start already written (its answer lost with the connection) is not written again.
          const updated = await c.query(
            `UPDATE backfill_tasks SET status = 'running', tries = $4, started_at = $5, ended_at = NULL, exit_code = NULL, message = NULL, job = NULL
             WHERE project = $1 AND backfill_id = $2 AND task_id = $3 AND tries = $4 - 1`,
            [this.project, backfillId, s.taskId, s.tryNo, s.at],
          );
          if (updated.rowCount === 0) {
            const before = await c.query<{ attempt_ids: string | null; tries: number }>(
              `SELECT attempt_ids, tries FROM backfill_tasks WHERE project = $1 AND backfill_id = $2 AND task_id = $3`,
              [this.project, backfillId, s.taskId],
            );
            const row = before.rows[0];
            if (row && row.tries === s.tryNo && row.attempt_ids) {
              out.set(s.taskId, { ids: JSON.parse(row.attempt_ids) as number[] });
              continue;
            }
            throw new Error(`internal: task ${s.taskId} of backfill ${backfillId} is not at try ${s.tryNo - 1}`);
          }
          const ids: number[] = [];
          for (const a of s.attempts) ids.push(await this.store.insertAttempt(c, changed, a));
          await c.query(`UPDATE backfill_tasks SET attempt_ids = $4 WHERE project = $1 AND backfill_id = $2 AND task_id = $3`, [
            this.project,
            backfillId,
            s.taskId,
            JSON.stringify(ids),
          ]);
          out.set(s.taskId, { ids });
        }
        // A task that waits does not hold some of its partitions meanwhile.
        if (giveBack.length > 0)
          await c.query(
            `DELETE FROM partition_leases l USING unnest($3::text[], $4::text[]) AS t(a, p)
             WHERE l.project = $1 AND l.backfill_id = $2 AND l.asset = t.a AND l.partition = t.p`,
            [this.project, backfillId, giveBack.map((g) => g[0]), giveBack.map((g) => g[1])],
          );
        return out;
      }),
    );
  }

  async setTaskJobs(backfillId: string, jobs: ReadonlyMap<string, string>): Promise<void> {
    await this.q(
      `UPDATE backfill_tasks t SET job = x.job FROM unnest($3::text[], $4::text[]) AS x(task_id, job)
       WHERE t.project = $1 AND t.backfill_id = $2 AND t.task_id = x.task_id`,
      [this.project, backfillId, [...jobs.keys()], [...jobs.values()]],
    );
  }

  async setTaskPid(backfillId: string, taskId: string, pid: number): Promise<void> {
    await this.q(`UPDATE backfill_tasks SET pid = $4, pid_start = $5 WHERE project = $1 AND backfill_id = $2 AND task_id = $3`, [
      this.project,
      backfillId,
      taskId,
      pid,
      processStart(pid),
    ]);
  }

  async setCommands(backfillId: string, tasks: ReadonlyArray<TaskCommand>): Promise<void> {
    await this.q(
      `UPDATE backfill_tasks t SET command = x.command, cwd = x.cwd, env = x.env
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x(task_id, command, cwd, env)
       WHERE t.project = $1 AND t.backfill_id = $2 AND t.task_id = x.task_id`,
      [
        this.project,
        backfillId,
        tasks.map((t) => t.taskId),
        tasks.map((t) => t.command),
        tasks.map((t) => t.cwd),
        tasks.map((t) => JSON.stringify(t.env)),
      ],
    );
  }

  async finishTask(backfillId: string, taskId: string, f: TaskFinish): Promise<void> {
    await this.do(() =>
      this.store.transaction(async (c, changed) => {
        // A runner cut off from the server long enough to be taken for dead (its attempts canceled by
        // another machine's recovery) still records what its commands did when it is back.
        for (const a of f.attempts ?? []) await this.store.finishAttemptIn(c, changed, a.id, a.result, a.result.status !== 'canceled');
        const r = await c.query<{ asset: string; partitions: string }>(
          `UPDATE backfill_tasks SET status = $4, ended_at = $5, exit_code = $6, message = $7
           WHERE project = $1 AND backfill_id = $2 AND task_id = $3 RETURNING asset, partitions`,
          [this.project, backfillId, taskId, f.status, f.at, f.exitCode ?? null, f.message ?? null],
        );
        const row = r.rows[0];
        if (!row) return;
        const keys = JSON.parse(row.partitions) as string[];
        await c.query(
          `DELETE FROM partition_leases WHERE project = $1 AND backfill_id = $2 AND asset = $3 AND partition = ANY($4::text[])`,
          [this.project, backfillId, row.asset, keys.length ? keys : ['']],
        );
      }),
    );
  }

  async runningElsewhere(asset: string, keys: readonly string[], backfillId: string): Promise<Map<string, BusyHolder>> {
    const r = await this.q<{ partition: string; backfill_id: string; holder: string }>(
      `SELECT partition, backfill_id, holder FROM partition_leases
       WHERE project = $1 AND asset = $2 AND partition = ANY($3::text[]) AND backfill_id != $4 AND expires_at >= now()`,
      [this.project, asset, [...keys], backfillId],
    );
    const out = new Map<string, BusyHolder>(r.rows.map((x) => [x.partition, { backfill: x.backfill_id, by: x.holder }]));
    const jobs = await this.do(() => this.store.transaction((c) => this.slurmHeld(c, backfillId, [asset], keys)));
    for (const j of jobs) out.set(j.partition, { backfill: j.backfill_id, by: `Slurm job ${j.job}` });
    return out;
  }

  /** The partitions among these that other backfills' tasks still run as Slurm jobs (also after their runner died). */
  private async slurmHeld(
    c: pg.PoolClient,
    backfillId: string,
    assets: readonly string[],
    keys: readonly string[],
  ): Promise<Array<{ backfill_id: string; asset: string; partition: string; job: string }>> {
    const r = await c.query<{ backfill_id: string; asset: string; partition: string; job: string }>(
      `SELECT t.backfill_id, t.asset, p.k AS partition, t.job FROM backfill_tasks t
         CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN t.partitions = '[]' THEN '[""]' ELSE t.partitions END::jsonb) AS p(k)
       WHERE t.project = $1 AND t.status = 'running' AND t.job IS NOT NULL AND t.backfill_id != $2
         AND t.asset = ANY($3::text[]) AND p.k = ANY($4::text[])`,
      [this.project, backfillId, [...assets], [...keys]],
    );
    return r.rows;
  }

  /** Alive: on this machine, the same process as it was (stopped or not); elsewhere, it beat within the lease time. */
  alive(b: BackfillRecord): boolean {
    if (b.host === this.host) return runnerAlive(b.pid, b.pidStart, b.heartbeatAt);
    return b.heartbeatAt !== null && Date.now() - b.heartbeatAt <= leaseMs();
  }

  async recoverInterrupted(): Promise<string[]> {
    const r = await this.q(`SELECT ${BACKFILL_COLUMNS} FROM backfills WHERE project = $1 AND status = 'running'`, [this.project]);
    const dead = (await this.records(r.rows)).filter((b) => !this.alive(b));
    for (const b of dead) await this.interrupt(b.id);
    return dead.map((b) => b.id);
  }

  async interrupt(id: string): Promise<void> {
    const b = await this.get(id);
    if (!b) return;
    await this.do(() =>
      this.store.transaction(async (c, changed) => {
        // Commands a dead runner of this machine left behind would race the resumed ones.
        if (b.host === this.host) {
          const orphans = await c.query<{ pid: number; pid_start: string | null }>(
            `SELECT pid, pid_start FROM backfill_tasks WHERE project = $1 AND backfill_id = $2 AND status = 'running' AND pid IS NOT NULL`,
            [this.project, id],
          );
          killOrphans(orphans.rows);
        }
        // Slurm jobs outlive the runner: their tasks stay running (and leased), for a resume to re-attach to.
        const running = await c.query<{ attempt_ids: string | null }>(
          `UPDATE backfill_tasks SET status = 'pending' WHERE project = $1 AND backfill_id = $2 AND status = 'running' AND job IS NULL RETURNING attempt_ids`,
          [this.project, id],
        );
        const now = Date.now();
        for (const t of running.rows)
          for (const a of t.attempt_ids ? (JSON.parse(t.attempt_ids) as number[]) : [])
            await this.store.finishAttemptIn(c, changed, a, { status: 'canceled', endedAt: now });
        await c.query(`UPDATE backfills SET status = 'interrupted', pid = NULL WHERE project = $1 AND id = $2`, [this.project, id]);
      }),
    );
  }

  async cancelJobTasks(id: string): Promise<void> {
    await this.do(() =>
      this.store.transaction(async (c, changed) => {
        const r = await c.query<{ attempt_ids: string | null }>(
          `UPDATE backfill_tasks SET status = 'canceled', ended_at = $3, message = 'canceled (scancel)', job = NULL
           WHERE project = $1 AND backfill_id = $2 AND status = 'running' AND job IS NOT NULL RETURNING attempt_ids`,
          [this.project, id, Date.now()],
        );
        for (const t of r.rows)
          for (const a of t.attempt_ids ? (JSON.parse(t.attempt_ids) as number[]) : [])
            await this.store.finishAttemptIn(c, changed, a, { status: 'canceled', endedAt: Date.now() });
      }),
    );
  }

  async reset(id: string, statuses: readonly TaskStatus[]): Promise<number> {
    const r = await this.q(
      `UPDATE backfill_tasks SET status = 'pending' WHERE project = $1 AND backfill_id = $2 AND status = ANY($3::text[])
         AND status != 'succeeded' AND NOT (status = 'running' AND job IS NOT NULL)`,
      [this.project, id, [...statuses]],
    );
    return r.rowCount ?? 0;
  }

  async delete(id: string): Promise<boolean> {
    await this.q(`DELETE FROM partition_leases WHERE project = $1 AND backfill_id = $2`, [this.project, id]);
    const r = await this.q(`DELETE FROM backfills WHERE project = $1 AND id = $2`, [this.project, id]);
    return (r.rowCount ?? 0) > 0;
  }

  transient(e: unknown): boolean {
    return isConnectionError(e);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private async records(rows: Array<Record<string, unknown>>): Promise<BackfillRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r['id'] as string);
    const counts = await this.q<{ backfill_id: string; status: TaskStatus; n: number; p: number }>(
      `SELECT backfill_id, status, count(*)::int AS n, sum(partition_count)::int AS p FROM backfill_tasks
       WHERE project = $1 AND backfill_id = ANY($2::text[]) GROUP BY backfill_id, status`,
      [this.project, ids],
    );
    const now = Date.now();
    return rows.map((row) => {
      const id = row['id'] as string;
      const c = zeroCounts();
      const p = zeroCounts();
      for (const r of counts.rows)
        if (r.backfill_id === id) {
          c[r.status] = r.n;
          p[r.status] = r.p;
        }
      const age = row['heartbeat_age'] as number | null;
      // The server's age of the heartbeat, on this machine's clock.
      return backfillRecord({ ...row, heartbeat_at: age === null ? null : now - Math.round(age) }, c, p);
    });
  }
}
