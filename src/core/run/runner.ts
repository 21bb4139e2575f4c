import { availableParallelism, totalmem } from 'node:os';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../diagnostics.ts';
import type { AssetDefinition, Capacity, ExecutorName } from '../model.ts';
export type { Capacity } from '../model.ts';
import { costSampleUnit, estimateCost, taskCost } from '../cost/cost.ts';
import { formatMemory } from '../cost/units.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import { renderCommand } from '../plan/command.ts';
import type { BackfillStatus, StoredTask, TaskStatus } from '../state/backfills.ts';
import { StateFileGoneError } from '../state/database.ts';
import { inputVersions } from '../state/record.ts';
import {
  builtMessage,
  runStateOf,
  type BusyHolder,
  type RunState,
  type StartResult,
  type TaskCommand,
  type TaskFinish,
  type TaskStart,
} from '../state/runState.ts';
import type { SnapshotSource } from '../state/staleness.ts';
import type { InputVersions, StateStore } from '../state/store.ts';
import { codeVersions, defaultDataVersion, dependencySet } from '../state/versions.ts';
import type { Workspace } from '../workspace.ts';
import type { Execution, OutputLine } from './execution.ts';
import { LocalExecution } from './local.ts';
import { checkSlurm, maxArraySize, SlurmCluster } from './slurm.ts';
import { parseReportLine, type Reported } from './output.ts';

export type RunnerEvent =
  | { type: 'output'; task: StoredTask; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'task'; task: StoredTask; status: TaskStatus; message?: string; retryInMs?: number }
  | { type: 'warning'; task: StoredTask; message: string }
  /** Tasks of one asset submitted to Slurm as one job array, at most `throttle` running at once. */
  | { type: 'submitted'; tasks: StoredTask[]; job: string; throttle: number }
  /** What Slurm says of a task's job: PENDING (and why), RUNNING (and where), … */
  | { type: 'slurm'; task: StoredTask; job: string; state: string; reason: string; node: string }
  /** A problem of the run as a whole (squeue not answering, …). */
  | { type: 'notice'; message: string };

export interface RunOptions {
  /** Tasks running at once (default: the number of CPU cores); on Slurm, the job arrays' throttles add up to at most this. */
  concurrency: number;
  /** Where every task runs, whatever its asset says (default: each asset's `executor:`, else local). */
  executor?: ExecutorName;
  /** How often Slurm jobs are looked at (ms, default 1000). */
  slurmPollMs?: number;
  /** Run only a sample of this many partitions per asset (with what they need), then pause. */
  sample?: number;
  onEvent?: (event: RunnerEvent) => void;
  /** Aborting cancels the backfill: running commands are killed, nothing new starts. */
  signal?: AbortSignal;
  /** First retry delay; doubles per try, at most 60 s (default 1 s). */
  retryDelayMs?: number;
  /** How long a killed command gets between SIGTERM and SIGKILL (default 2 s). */
  killGraceMs?: number;
  /** Folder for the tasks' output logs (default: `<state folder>/logs`). */
  logDir?: string;
  /**
   * The most the backfill may cost, over all its runs (the workspace's cost unit). No task is
   * started when what was spent, plus the estimates of the running tasks and of that task,
   * would exceed it; the backfill then ends `paused`, to be resumed with a larger budget.
   */
  maxCost?: number;
  /**
   * What the running tasks' declared `resources` may add up to (default: this machine's cores
   * and memory). A task starts only while it fits, on top of concurrency and pools.
   */
  capacity?: Capacity;
}

/** This machine's cores and memory: the default capacity. */
export function machineCapacity(): Capacity {
  return { cpus: availableParallelism(), memory: totalmem() };
}

/**
 * Assets whose one task needs more than the whole capacity: such a task could never start.
 * Said before anything runs, with where the resources are declared.
 */
export function tooBig(assets: Iterable<AssetDefinition>, capacity: Capacity, root: string): string[] {
  const out: string[] = [];
  for (const a of assets) {
    const r = a.resources;
    if (!r) continue;
    const at = `${path.relative(root, a.location.file)}:${a.location.line}`;
    if (r.cpus !== undefined && r.cpus > capacity.cpus)
      out.push(`${a.name} needs ${r.cpus} cpus (resources: at ${at}), more than the ${capacity.cpus} available (--max-cpus)`);
    if (r.memory !== undefined && r.memory > capacity.memory)
      out.push(
        `${a.name} needs ${formatMemory(r.memory)} of memory (resources: at ${at}), more than the ${formatMemory(capacity.memory)} available (--max-memory)`,
      );
  }
  return out;
}

export interface BackfillReport {
  id: string;
  status: BackfillStatus;
  counts: Record<TaskStatus, number>;
  failed: Array<{ task: string; asset: string; partitions: string[]; message: string | null; log: string }>;
  /** Tasks whose processes had to be killed: left running in the background, or not stopping on SIGTERM. */
  killed: Array<{ task: string; asset: string; partitions: string[]; message: string }>;
  durationMs: number;
  /** What the backfill's attempts cost so far, over all its runs (null: no cost known). */
  spentCost: number | null;
  /** Set when the budget stopped it: the budget and the estimated cost of what is left. */
  budget?: { maxCost: number; estimatedLeft: number };
}

interface Running {
  task: StoredTask;
  exec: Execution;
  killed?: 'cancel' | 'timeout';
}

/** The slots of one Slurm job array: it holds min(unfinished elements, throttle) of the concurrency and of its pool. */
interface ArraySlots {
  remaining: number;
  throttle: number;
  pool: string;
  /** The array's Slurm job id, once submitted: its throttle can then be raised as slots free up. */
  job?: string;
}

/** How often a task whose partitions another backfill is running looks again (ms). */
const BUSY_RECHECK_MS = 500;

const BACKOFF_MAX_MS = 60_000;

/** Longest wait between tries of a write the state database could not take (unreachable). */
const WRITE_RETRY_MAX_MS = 5_000;

/**
 * Runs (or resumes) a stored backfill: child processes with a global concurrency limit and named
 * pools, retries with backoff, timeouts, checks, and skip-downstream-on-failure. Each task's
 * state is written to the store before the runner acts on it, so the backfill can be resumed
 * after the runner dies.
 */
export class BackfillRunner {
  private readonly state: RunState;
  private tasks: StoredTask[] = [];
  private byId = new Map<string, StoredTask>();
  private readonly dependents = new Map<string, StoredTask[]>();
  private readonly running = new Map<string, Running>();
  private readonly poolUse = new Map<string, number>();
  private readonly waiting = new Set<string>(); // retry timers pending
  /** Tasks whose upstream tasks all succeeded, queued per pool ('' = no pool), in plan order. */
  private readonly ready = new Map<string, StoredTask[]>();
  /** Upstream tasks of each pending task that have not succeeded yet. */
  private readonly unmet = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private codes = new Map<string, string>();
  private canceled = false;
  private selected: Set<string> | null = null;
  private wake: (() => void) | null = null;
  private readonly logDir: string;
  private readonly killedNotes = new Map<string, string>();
  /** Tasks told once that they wait for another backfill. */
  private readonly toldBusy = new Set<string>();
  /** The Slurm side, made when a task first runs there. */
  private cluster: SlurmCluster | null = null;
  /** The job array each running Slurm task belongs to. */
  private readonly arrays = new Map<string, ArraySlots>();
  /** The most elements one job array may have on this cluster (its MaxArraySize). */
  private maxArray = 1001;

  constructor(
    private readonly ws: Workspace,
    store: StateStore | RunState,
    private readonly backfillId: string,
    private readonly options: RunOptions,
  ) {
    this.state = runStateOf(store);
    this.logDir = options.logDir ?? path.join(this.state.filesDir, 'logs', backfillId);
  }

  /**
   * The tasks still to run run what their assets' definitions say now (a resume after `run:` was
   * fixed runs the fixed command, and records the code version it ran): their commands are
   * rendered again and saved when they changed.
   */
  private async currentCommands(): Promise<void> {
    const changed: TaskCommand[] = [];
    for (const t of this.tasks) {
      if (t.status !== 'pending') continue;
      const asset = this.ws.assets.get(t.asset);
      if (!asset?.run) continue;
      const indexes = asset.partitions.kind === 'unpartitioned' ? [0] : t.partitions.map((k) => asset.partitions.indexOf(k));
      if (indexes.some((i) => i < 0)) continue;
      let now: { command: string; cwd: string; env: Record<string, string> };
      try {
        now = renderCommand(asset, PartitionSubset.of(indexes), this.backfillId);
      } catch {
        continue; // e.g. {partition} in a command that now runs several: the stored one runs
      }
      if (now.command === t.command && now.cwd === t.cwd && JSON.stringify(now.env) === JSON.stringify(t.env)) continue;
      Object.assign(t, { command: now.command, cwd: now.cwd, env: now.env });
      changed.push({ taskId: t.id, command: now.command, cwd: now.cwd, env: now.env });
    }
    if (changed.length === 0) return;
    await this.state.setCommands(this.backfillId, changed);
    const assets = [...new Set(changed.map((c) => this.byId.get(c.taskId)!.asset))];
    this.emit({
      type: 'notice',
      message: `${changed.length} task${changed.length === 1 ? ' runs' : 's run'} the current run: of ${assets.join(', ')} (changed since the backfill was planned)`,
    });
  }

  /** Path of a task's output log. */
  logPath(taskId: string): string {
    return path.join(this.logDir, `${taskId}.log`);
  }

  async run(): Promise<BackfillReport> {
    const started = Date.now();
    this.tasks = await this.state.tasks(this.backfillId);
    const planned = (await this.state.get(this.backfillId))?.options['plannedAt'];
    this.plannedAt = typeof planned === 'number' ? planned : null;
    this.byId = new Map(this.tasks.map((t) => [t.id, t]));
    for (const t of this.tasks) for (const a of t.after) (this.dependents.get(a) ?? this.dependents.set(a, []).get(a)!).push(t);
    this.codes = await codeVersions(this.ws.assets.values());
    await this.currentCommands();
    mkdirSync(this.logDir, { recursive: true });
    // A task that could never start is said before the backfill is marked running.
    const big = tooBig(
      new Set(
        this.tasks
          .filter((t) => t.status === 'pending')
          .map((t) => this.ws.assets.get(t.asset)!)
          .filter(Boolean),
      ),
      this.capacity,
      this.ws.root,
    );
    if (big.length > 0) throw new UserError(`${big.join('; ')}: nothing was started`);
    // Slurm must answer and accept each asset's settings before anything is submitted.
    const onSlurm = [
      ...new Set(
        this.tasks
          .filter((t) => t.status === 'pending' && this.executorOf(t) === 'slurm')
          .map((t) => this.ws.assets.get(t.asset)!)
          .filter(Boolean),
      ),
    ];
    if (onSlurm.length > 0) {
      await checkSlurm(onSlurm, this.ws.root);
      this.maxArray = await maxArraySize();
    }
    await this.state.setStatus(this.backfillId, 'running', { pid: process.pid, endedAt: null });
    if (this.options.sample !== undefined) this.selected = this.sampleTasks(this.options.sample);
    const spent = await this.state.spentCost(this.backfillId);
    this.spent = spent.spent;
    this.anyCost = await this.state.hasCost(this.backfillId);
    if (this.options.maxCost !== undefined) await this.loadEstimates();
    this.queueAll();
    await this.reattach();
    // Tasks whose upstream already failed in an earlier run are skipped again (until retried).
    for (const t of this.tasks)
      if (t.status === 'pending' && this.blockedBy(t))
        this.finish(t, 'skipped', { message: `upstream task ${this.blockedBy(t)!.id} did not succeed` });

    const onAbort = (): void => this.cancel();
    this.options.signal?.addEventListener('abort', onAbort);
    if (this.options.signal?.aborted) this.cancel();
    const heartbeat = setInterval(() => this.beat(), 1000);
    try {
      for (;;) {
        this.schedule();
        if (this.running.size === 0 && this.waiting.size === 0 && !this.starting && this.writes === 0) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      clearInterval(heartbeat);
      for (const t of this.timers) clearTimeout(t);
      this.options.signal?.removeEventListener('abort', onAbort);
    }

    if (this.storeError) {
      try {
        await this.state.setStatus(this.backfillId, 'interrupted', { pid: null });
      } catch {
        // the database still refuses: resume finds the backfill's process gone and treats it the same
      }
      const running = countTasks(this.tasks).running;
      if (this.storeError instanceof StateFileGoneError)
        throw new UserError(
          `${this.storeError.message}\nbackfill ${this.backfillId} stopped and its commands with it: its own record went with the file, so it cannot be resumed. ` +
            `Put the file back if you still have it; otherwise plan again what is not fresh (backfill run … --only missing,failed,stale)`,
        );
      throw new UserError(
        `${this.storeError.message}\nbackfill ${this.backfillId} stopped: ${running ? `${running} task${running === 1 ? ' that was' : 's that were'} in progress ${running === 1 ? 'is' : 'are'} not recorded as done and will run again; ` : ''}` +
          `what succeeded before is kept. Once the database can be written again, resume with: backfill resume ${this.backfillId}`,
      );
    }
    const counts = countTasks(this.tasks);
    const pendingLeft = counts.pending > 0;
    const status: BackfillStatus = this.interrupted
      ? 'interrupted'
      : this.canceled
        ? 'canceled'
        : counts.failed + counts.skipped + counts.canceled > 0
          ? 'failed'
          : pendingLeft
            ? 'paused'
            : 'succeeded';
    await this.write(() => this.state.setStatus(this.backfillId, status, { pid: null, endedAt: Date.now() }));
    const left = this.tasks.filter((t) => t.status === 'pending');
    return {
      id: this.backfillId,
      status,
      counts,
      failed: this.tasks
        .filter((t) => t.status === 'failed')
        .map((t) => ({ task: t.id, asset: t.asset, partitions: t.partitions, message: t.message, log: this.logPath(t.id) })),
      killed: [...this.killedNotes].map(([id, message]) => {
        const t = this.byId.get(id)!;
        return { task: id, asset: t.asset, partitions: t.partitions, message };
      }),
      durationMs: Date.now() - started,
      spentCost: this.anyCost ? this.spent : null,
      ...(this.budgetHeld && status === 'paused' && this.options.maxCost !== undefined
        ? { budget: { maxCost: this.options.maxCost, estimatedLeft: left.reduce((sum, t) => sum + this.estimate(t), 0) } }
        : {}),
    };
  }

  /** What the backfill's attempts cost so far (all runs), or null while none has a known cost. */
  /** Tasks running (or queued) as Slurm jobs: they outlive this process unless canceled. */
  get slurmJobsInFlight(): number {
    let n = 0;
    for (const r of this.running.values()) if (r.exec.ref.job !== undefined) n++;
    return n;
  }

  get spentSoFar(): number | null {
    return this.anyCost ? this.spent : null;
  }

  /** What the backfill's attempts cost so far (all runs), and whether any had a cost. */
  private spent = 0;
  private anyCost = false;
  /** A task was held back because starting it would exceed maxCost. */
  private budgetHeld = false;
  private readonly estimates = new Map<string, { samples: number[]; medianMs: number | null }>();

  /** The past costs and durations of the backfill's assets, for estimating what a task will cost (with a budget). */
  private async loadEstimates(): Promise<void> {
    for (const name of new Set(this.tasks.map((t) => t.asset))) {
      const asset = this.ws.assets.get(name);
      if (!asset) continue;
      const samples = await this.state.costSamples(name, costSampleUnit(asset));
      this.estimates.set(name, { samples, medianMs: median(await this.state.durationSamples(name)) });
    }
  }

  /** The expected cost of one task, from its asset's history or rate (0 when unknown). */
  private estimate(t: StoredTask): number {
    const asset = this.ws.assets.get(t.asset);
    if (!asset) return 0;
    const h = this.estimates.get(t.asset) ?? { samples: [], medianMs: null };
    return estimateCost(asset, Math.max(1, t.partitions.length), 1, h.samples, h.medianMs).expected ?? 0;
  }

  private get capacity(): Capacity {
    return this.options.capacity ?? machineCapacity();
  }

  /** Whether `t`'s declared resources fit beside the running and already chosen tasks'. */
  private fits(t: StoredTask, chosen: StoredTask[]): boolean {
    const need = this.ws.assets.get(t.asset)?.resources;
    if (!need || this.executorOf(t) === 'slurm') return true; // the cluster's resources, Slurm's business
    let cpus = need.cpus ?? 0;
    let memory = need.memory ?? 0;
    const local = [...this.running].filter(([k]) => !this.arrays.has(k)).map(([, r]) => r.task);
    for (const other of [...local, ...chosen.filter((c) => this.executorOf(c) !== 'slurm')]) {
      const r = this.ws.assets.get(other.asset)?.resources;
      cpus += r?.cpus ?? 0;
      memory += r?.memory ?? 0;
    }
    const cap = this.capacity;
    return cpus <= cap.cpus + 1e-9 && memory <= cap.memory;
  }

  /** Whether starting `t` now keeps the backfill within maxCost (counting running and already chosen tasks). */
  private withinBudget(t: StoredTask, chosen: StoredTask[]): boolean {
    const max = this.options.maxCost;
    if (max === undefined) return true;
    let committed = this.spent + this.estimate(t);
    for (const [k, r] of this.running) if (!k.includes('#')) committed += this.estimate(r.task);
    for (const c of chosen) committed += this.estimate(c);
    if (committed <= max + 1e-9) return true;
    this.budgetHeld = true;
    return false;
  }

  /**
   * The runner's process is going away (the editor is closing): kill the commands like cancel,
   * but leave the backfill `interrupted`, to be resumed.
   */
  interrupt(): void {
    this.interrupted = true;
    this.cancel();
  }

  /** Where a task runs: the backfill's --executor, else its asset's `executor:`, else here. */
  private executorOf(t: StoredTask): ExecutorName {
    return this.options.executor ?? this.ws.assets.get(t.asset)?.executor ?? 'local';
  }

  /** Concurrency in use: one per local command, and per Slurm array its throttle (or fewer once fewer are left). */
  private slotsUsed(): number {
    let n = 0;
    const counted = new Set<ArraySlots>();
    for (const k of this.running.keys()) {
      const a = this.arrays.get(k);
      if (!a) n++;
      else if (!counted.has(a)) {
        counted.add(a);
        n += Math.min(a.remaining, a.throttle);
      }
    }
    return n;
  }

  /** A task ended: its slot (and its pool's) is free again; a Slurm array frees one once fewer elements than its throttle are left. */
  private releaseSlot(t: StoredTask, pool: string): void {
    const a = this.arrays.get(t.id);
    this.arrays.delete(t.id);
    if (a) {
      a.remaining--;
      if (a.remaining >= a.throttle) return;
    }
    this.poolUse.set(pool, this.poolUse.get(pool)! - 1);
  }

  private slurm(): SlurmCluster {
    this.cluster ??= new SlurmCluster(
      path.join(this.state.filesDir, 'slurm', this.backfillId),
      {
        onState: (taskId, job, st) => {
          const t = this.byId.get(taskId);
          if (t) this.emit({ type: 'slurm', task: t, job, state: st.state, reason: st.reason, node: st.node });
        },
        onWarning: (message) => this.emit({ type: 'notice', message }),
      },
      this.options.slurmPollMs,
    );
    return this.cluster;
  }

  /** Tasks an earlier run left running as Slurm jobs: followed again, not run again. */
  private async reattach(): Promise<void> {
    for (const t of this.tasks) {
      if (t.status !== 'running' || t.job === null) continue;
      const asset = this.ws.assets.get(t.asset);
      const inputs: InputVersions[] = [];
      for (const id of t.attemptIds) inputs.push((await this.state.attempt(id))?.inputs ?? {});
      const pool = asset?.pool ?? '';
      this.poolUse.set(pool, (this.poolUse.get(pool) ?? 0) + 1);
      const job = t.job;
      this.emit({
        type: 'notice',
        message: `re-attached to Slurm job ${job} (${t.asset}${t.partitions.length ? ` ${t.partitions.join(' ')}` : ''})`,
      });
      this.start(t, asset, inputs, (onLine) => this.slurm().reattach(t.id, job, onLine));
    }
  }

  private interrupted = false;

  /** Cancels: kills running commands (their process groups) and starts nothing new. */
  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    for (const r of this.running.values()) {
      // The runner going away leaves submitted Slurm jobs running (a resume re-attaches to them);
      // a cancel cancels them, and local commands are stopped either way.
      if (this.interrupted && r.exec.ref.job !== undefined) r.exec.detach();
      else this.kill(r, 'cancel');
    }
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const id of this.waiting) {
      const t = this.byId.get(id)!;
      this.finish(t, 'canceled', { message: 'canceled' });
    }
    this.waiting.clear();
    this.poke();
  }

  /**
   * The process is about to exit at once (a second Ctrl-C): every local command's process group
   * gets SIGKILL now, without the grace period, so that none outlives it (a command that traps
   * SIGTERM would). Slurm jobs are left to `backfill cancel`. Returns how many were killed.
   */
  killNow(): number {
    let n = 0;
    for (const r of this.running.values()) {
      const pid = r.exec.ref.pid;
      if (pid === undefined || r.exec.ref.job !== undefined) continue;
      try {
        process.kill(-pid, 'SIGKILL');
        n++;
      } catch {
        // already gone
      }
    }
    return n;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Heartbeat, and cancellation requested by another process (`backfill cancel`). */
  private beat(): void {
    if (this.beating) return;
    this.beating = true;
    // (The commands' process groups are saved as they start, in start().)
    this.state
      .beat(this.backfillId)
      .then((status) => {
        if (status === 'canceled') this.cancel();
      })
      // a busy or unreachable database is no reason to stop the backfill; the next beat will do
      .catch(() => {})
      .finally(() => (this.beating = false));
  }

  private beating = false;
  /** The store's sequence when the backfill was planned: what others built after it is not built again. */
  private plannedAt: number | null = null;
  /** A batch of tasks is being recorded as started (schedule waits for it: its slots are taken). */
  private starting = false;
  /** Writes in flight (task results): the run ends only once they are written. */
  private writes = 0;
  /** The state database could not be reached since (ms), while writes wait for it. */
  private unreachableSince: number | null = null;

  /**
   * Runs a write; while the database cannot be reached (a team database's server restarting, the
   * network gone) it is tried again, with the commands running on: their results wait here and
   * are written in order when it is back (writes are idempotent, so one that committed before its
   * answer was lost counts once). A refusal (disk full, permissions) is thrown.
   */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    this.writes++;
    try {
      for (let delay = 250; ; delay = Math.min(WRITE_RETRY_MAX_MS, delay * 2)) {
        try {
          const result = await fn();
          if (this.unreachableSince !== null) {
            const s = Math.round((Date.now() - this.unreachableSince) / 1000);
            this.unreachableSince = null;
            this.emit({ type: 'notice', message: `the state database ${this.state.location} is back after ${s} s: results written` });
          }
          return result;
        } catch (e) {
          if (!this.state.transient(e) || this.storeError) throw e;
          if (this.unreachableSince === null) {
            this.unreachableSince = Date.now();
            this.emit({
              type: 'notice',
              message: `${e instanceof Error ? e.message : String(e)} — running tasks go on; their results are kept and written when it is back`,
            });
          }
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      this.writes--;
    }
  }

  private blockedBy(t: StoredTask): StoredTask | undefined {
    return t.after
      .map((a) => this.byId.get(a)!)
      .find((u) => u && (u.status === 'failed' || u.status === 'skipped' || u.status === 'canceled'));
  }

  /** Queues a pending task whose upstream tasks have all succeeded. */
  private enqueue(t: StoredTask): void {
    if (this.selected && !this.selected.has(t.id)) return;
    const pool = this.ws.assets.get(t.asset)?.pool ?? '';
    (this.ready.get(pool) ?? this.ready.set(pool, []).get(pool)!).push(t);
  }

  /** Builds the ready queues from the stored task states (at start). */
  private queueAll(): void {
    for (const t of this.tasks) {
      if (t.status !== 'pending') continue;
      const n = t.after.filter((a) => this.byId.get(a)?.status !== 'succeeded').length;
      this.unmet.set(t.id, n);
      if (n === 0) this.enqueue(t);
    }
  }

  /** After a task succeeded: its dependents with nothing else to wait for become ready. */
  private release(t: StoredTask): void {
    for (const d of this.dependents.get(t.id) ?? []) {
      if (d.status !== 'pending') continue;
      const n = (this.unmet.get(d.id) ?? 1) - 1;
      this.unmet.set(d.id, n);
      if (n === 0) this.enqueue(d);
    }
  }

  /**
   * Starts ready tasks while the concurrency limit and the pools allow. Ready Slurm tasks of one
   * asset go as one job array whose throttle is the slots it gets (at least one).
   */
  private schedule(): void {
    if (this.canceled || this.starting) return;
    const batch: StoredTask[] = [];
    const groups: Array<{ tasks: StoredTask[]; slots: ArraySlots }> = [];
    let free = this.options.concurrency - this.slotsUsed();
    // Slots freed since an array was submitted go first to arrays with elements still held back by
    // their throttle (raised with scontrol), in the order they were submitted.
    for (const a of new Set(this.arrays.values())) {
      if (free <= 0) break;
      const limit = a.pool ? (this.ws.pools.get(a.pool) ?? Infinity) : Infinity;
      const give = Math.min(free, a.remaining - a.throttle, limit - (this.poolUse.get(a.pool) ?? 0));
      if (give <= 0 || a.job === undefined) continue;
      a.throttle += give;
      free -= give;
      this.poolUse.set(a.pool, (this.poolUse.get(a.pool) ?? 0) + give);
      this.slurm().setThrottle(a.job, a.throttle);
    }
    pools: for (const [pool, queue] of this.ready) {
      const limit = pool ? (this.ws.pools.get(pool) ?? Infinity) : Infinity;
      while (queue.length > 0 && free > 0 && (this.poolUse.get(pool) ?? 0) < limit) {
        const t = queue[0]!;
        if (t.status !== 'pending') {
          queue.shift();
          continue;
        }
        if (this.executorOf(t) === 'slurm') {
          // The ready tasks of this asset at the head of the queue, within the budget: one array.
          const group: StoredTask[] = [];
          while (queue.length > 0) {
            const u = queue[0]!;
            if (u.status !== 'pending') {
              queue.shift();
              continue;
            }
            if (
              u.asset !== t.asset ||
              this.executorOf(u) !== 'slurm' ||
              group.length >= this.maxArray ||
              !this.withinBudget(u, [...batch, ...group])
            )
              break;
            group.push(queue.shift()!);
          }
          if (group.length === 0) break pools;
          const throttle = Math.min(group.length, free, limit - (this.poolUse.get(pool) ?? 0));
          groups.push({ tasks: group, slots: { remaining: group.length, throttle, pool } });
          batch.push(...group);
          free -= throttle;
          this.poolUse.set(pool, (this.poolUse.get(pool) ?? 0) + throttle);
          continue;
        }
        // Over budget, or more than the free cores or memory: it stays queued (pending), and
        // nothing more starts in this pass (a big task is not overtaken forever by small ones).
        if (!this.withinBudget(t, batch) || !this.fits(t, batch)) break pools;
        queue.shift();
        batch.push(t);
        free--;
        this.poolUse.set(pool, (this.poolUse.get(pool) ?? 0) + 1);
      }
    }
    if (batch.length === 0) return;
    this.starting = true;
    void this.startBatch(batch, groups).finally(() => {
      this.starting = false;
      this.poke();
    });
  }

  /**
   * Records every task started in one scheduling pass in one transaction, before any command
   * runs; the database says which partitions another live backfill runs (those tasks wait), and
   * which tasks another run built since this backfill was planned, with the current code (those
   * succeed without running: a partition is built once).
   */
  private async startBatch(batch: StoredTask[], groups: Array<{ tasks: StoredTask[]; slots: ArraySlots }>): Promise<void> {
    const inputs = new Map<string, InputVersions[]>();
    const busy = new Map<string, Map<string, BusyHolder>>();
    let results: Map<string, StartResult>;
    try {
      const upstream = new Set(batch.flatMap((t) => this.ws.assets.get(t.asset)?.deps.map((d) => d.asset) ?? []));
      const snapshots = await this.write(() => this.state.snapshots([...upstream]));
      const starts: TaskStart[] = [];
      for (const t of batch) {
        const read = this.inputsOf(t, snapshots);
        inputs.set(t.id, read);
        starts.push(this.startOf(t, read));
      }
      results = await this.write(() => this.state.startTasks(this.backfillId, starts));
    } catch (e) {
      // Rolled back: these tasks are still pending in the database, and in memory; nothing more starts.
      this.storeFailed(e);
      return;
    }
    const now = Date.now();
    for (const t of batch) {
      const r = results.get(t.id);
      if (!r) continue;
      if ('busy' in r) busy.set(t.id, r.busy);
      else if ('ids' in r) Object.assign(t, { status: 'running', tries: t.tries + 1, startedAt: now, attemptIds: r.ids });
      else {
        // Another run built its partitions since this backfill was planned: a partition is built once.
        busy.set(t.id, new Map());
        Object.assign(t, { status: 'succeeded', endedAt: now, message: builtMessage(r.builtBy) });
        this.emit({ type: 'task', task: t, status: 'succeeded', message: t.message ?? undefined });
        this.release(t);
      }
    }
    if (this.canceled) {
      // Canceled while the batch was being recorded: nothing starts; the tasks recorded as started end canceled.
      for (const t of batch)
        if (t.status === 'running')
          this.finish(
            t,
            'canceled',
            { message: 'canceled' },
            t.attemptIds.map((id) => ({ id, result: { status: 'canceled', endedAt: Date.now() } })),
          );
      return;
    }
    const inGroup = new Set(groups.flatMap((g) => g.tasks.map((t) => t.id)));
    for (const t of batch) {
      if (inGroup.has(t.id)) continue;
      const taken = busy.get(t.id);
      if (taken) this.waitForOtherBackfill(t, taken);
      else this.start(t, this.ws.assets.get(t.asset), inputs.get(t.id)!);
    }
    for (const g of groups) this.submit(g.tasks, g.slots, busy, inputs);
  }

  /** Submits a group of Slurm tasks of one asset as one job array (those another backfill runs wait). */
  private submit(
    group: StoredTask[],
    slots: ArraySlots,
    busy: Map<string, Map<string, BusyHolder>>,
    inputs: Map<string, InputVersions[]>,
  ): void {
    const tasks = group.filter((t) => !busy.has(t.id));
    // The slots of the tasks that wait for another backfill go back (waitForOtherBackfill gives one back each).
    const keep = Math.min(slots.throttle, Math.max(1, tasks.length));
    const waiting = group.filter((t) => busy.has(t.id));
    this.poolUse.set(slots.pool, this.poolUse.get(slots.pool)! - (slots.throttle - keep) + waiting.length);
    for (const t of waiting) this.waitForOtherBackfill(t, busy.get(t.id)!);
    if (tasks.length === 0) {
      this.poolUse.set(slots.pool, this.poolUse.get(slots.pool)! - keep);
      return;
    }
    Object.assign(slots, { remaining: tasks.length, throttle: keep });
    const asset = this.ws.assets.get(tasks[0]!.asset)!;
    const lines: OutputLine[] = [];
    const made = new Map<string, Execution>();
    for (const t of tasks) this.arrays.set(t.id, slots);
    const executions = this.slurm().submit(
      asset,
      tasks.map((t) => ({ taskId: t.id, command: t.command, cwd: t.cwd, env: t.env })),
      keep,
      // Each task's line handler is made by start() below; the array's elements call through this.
      tasks.map((_, i) => (stream, line) => lines[i]?.(stream, line)),
      // Saved before the array is released: a resume after this process dies re-attaches to it.
      async (jobs) => {
        await this.write(() => this.state.setTaskJobs(this.backfillId, jobs));
        for (const t of tasks) t.job = jobs.get(t.id) ?? null;
        slots.job = jobs.get(tasks[0]!.id)!.split('_')[0]!;
        this.emit({ type: 'submitted', tasks, job: slots.job, throttle: keep });
      },
    );
    tasks.forEach((t, i) => made.set(t.id, executions[i]!));
    tasks.forEach((t, i) =>
      this.start(t, asset, inputs.get(t.id)!, (onLine) => {
        lines[i] = onLine;
        return made.get(t.id)!;
      }),
    );
  }

  /**
   * A task some of whose partitions another backfill is running now waits (pending) and looks
   * again shortly: a partition never runs in two backfills at once.
   */
  private waitForOtherBackfill(t: StoredTask, taken: Map<string, BusyHolder>): void {
    const pool = this.ws.assets.get(t.asset)?.pool ?? '';
    this.poolUse.set(pool, this.poolUse.get(pool)! - 1);
    if (taken.size === 0) return; // done elsewhere meanwhile: finished already
    if (!this.toldBusy.has(t.id)) {
      this.toldBusy.add(t.id);
      const keys = [...taken.keys()];
      const by = [...new Set([...taken.values()].map((o) => `${o.backfill} (${o.by})`))].join(', ');
      const what =
        keys.length === 1 && keys[0] === ''
          ? 'it is'
          : `${keys.length === 1 ? `partition ${keys[0]} is` : `${keys.length} of its partitions are`}`;
      this.emit({ type: 'warning', task: t, message: `waiting: ${what} being run by backfill ${by}` });
    }
    this.requeueAfter(t, BUSY_RECHECK_MS);
  }

  /** The task waits (pending, keeping the run alive) and is queued again after `ms`. */
  private requeueAfter(t: StoredTask, ms: number): void {
    this.waiting.add(t.id);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.waiting.delete(t.id);
      this.enqueue(t);
      this.poke();
    }, ms);
    this.timers.add(timer);
  }

  /** The data versions each partition of `t` reads now (one entry per partition, or one for an unpartitioned asset). */
  private inputsOf(t: StoredTask, snapshots: SnapshotSource): InputVersions[] {
    const asset = this.ws.assets.get(t.asset);
    return (t.partitions.length ? t.partitions : ['']).map((key) => {
      const index = asset ? (asset.partitions.kind === 'unpartitioned' ? 0 : asset.partitions.indexOf(key)) : -1;
      return asset && index >= 0 ? inputVersions(this.ws, snapshots, asset, index) : {};
    });
  }

  /** The task going running with its partitions' attempts started (code version, dependencies, inputs). */
  private startOf(t: StoredTask, inputs: InputVersions[]): TaskStart {
    const asset = this.ws.assets.get(t.asset);
    const now = Date.now();
    const code = asset ? (this.codes.get(asset.name) ?? null) : null;
    const deps = asset ? dependencySet(asset) : [];
    const keys = t.partitions.length ? t.partitions : [''];
    return {
      taskId: t.id,
      tryNo: t.tries + 1,
      at: now,
      asset: t.asset,
      keys,
      ...(this.plannedAt !== null ? { builtSince: { since: this.plannedAt, code } } : {}),
      attempts: keys.map((key, i) => ({
        asset: t.asset,
        partition: key,
        runId: this.backfillId,
        startedAt: now,
        codeVersion: code,
        deps,
        inputs: inputs[i]!,
      })),
    };
  }

  private start(
    t: StoredTask,
    asset: AssetDefinition | undefined,
    inputs: InputVersions[],
    make: (onLine: OutputLine) => Execution = (onLine) => this.launch(t, onLine),
  ): void {
    this.emit({ type: 'task', task: t, status: 'running' });
    const code = asset ? (this.codes.get(asset.name) ?? null) : null;
    const pool = asset?.pool ?? '';
    const log = createWriteStream(this.logPath(t.id), { flags: t.tries > 1 ? 'a' : 'w' });
    // A log that cannot be written (disk full) loses the log, not the task: its output still streams.
    log.on('error', (e) => this.emit({ type: 'warning', task: t, message: `cannot write its log ${this.logPath(t.id)}: ${e.message}` }));
    if (t.tries > 1) log.write(`\n--- try ${t.tries} ---\n`);
    const reported: Reported = { metadata: {} };
    const tail: string[] = [];
    const onLine = (stream: 'stdout' | 'stderr', line: string): void => {
      if (stream === 'stdout' && parseReportLine(line, reported)) return;
      log.write(line + '\n');
      tail.push(line);
      if (tail.length > 5) tail.shift();
      this.emit({ type: 'output', task: t, stream, line });
    };
    const r: Running = { task: t, exec: make(onLine) };
    this.running.set(t.id, r);
    // Its process group saved at once (on SQLite before anything else runs), not at the next
    // heartbeat: a runner killed right after this leaves a resume that stops it.
    const pid = r.exec.ref.pid;
    if (pid !== undefined) void this.write(() => this.state.setTaskPid(this.backfillId, t.id, pid)).catch(() => {});
    const timeoutS = asset?.timeout;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    // The timeout counts from when the command runs (a Slurm job's time in the queue does not count).
    if (timeoutS)
      void r.exec.started.then(() => {
        if (!ended) timer = setTimeout(() => this.kill(r, 'timeout'), timeoutS * 1000);
      });
    void r.exec.done.then(async (exit) => {
      ended = true;
      if (timer) clearTimeout(timer);
      if (exit.detached) {
        // Left running (a Slurm job) by a runner that is going away: the resume re-attaches to it.
        await new Promise<void>((resolve) => (log.destroyed ? resolve() : log.end(() => resolve())));
        this.running.delete(t.id);
        this.releaseSlot(t, pool);
        this.poke();
        return;
      }
      let status: TaskStatus = exit.code === 0 && r.killed !== 'timeout' ? 'succeeded' : 'failed';
      let message: string | null = null;
      if (r.killed === 'timeout') message = `timed out after ${timeoutS} s`;
      else if (r.killed === 'cancel') {
        status = 'canceled';
        message = 'canceled';
      } else if (exit.error)
        message = existsSync(t.cwd)
          ? `could not start: ${exit.error.message}`
          : `could not start: its working folder ${t.cwd} does not exist (check cwd: in the asset's definition)`;
      else if (exit.reason) message = exit.reason;
      else if (exit.code !== 0) message = `exit code ${exit.code ?? exit.signal}${tail.length ? `: ${tail[tail.length - 1]}` : ''}`;
      if (status === 'succeeded' && asset?.checks?.length && !this.canceled) {
        const checkResult = await this.runChecks(t, asset, log);
        if (checkResult.failed) {
          status = 'failed';
          message = checkResult.failed;
        }
        if (checkResult.warnings.length) reported.metadata['check_warnings'] = checkResult.warnings;
      }
      const killedNote = r.exec.note();
      if (killedNote) {
        this.killedNotes.set(t.id, killedNote);
        if (status === 'succeeded') this.emit({ type: 'warning', task: t, message: killedNote });
        else message = `${message ?? 'failed'}; ${killedNote}`;
        log.write(`[backfill] ${killedNote}\n`);
      }
      await new Promise<void>((resolve) => (log.destroyed ? resolve() : log.end(() => resolve())));
      // Counted as a write in flight until the result is recorded and acted on: the run waits for it.
      this.writes++;
      this.running.delete(t.id);
      this.releaseSlot(t, pool);
      try {
        await this.completed(t, asset, status, message, exit.code, code, reported, inputs, exit.ranMs);
      } catch (e) {
        this.storeFailed(e);
      } finally {
        this.writes--;
      }
      this.poke();
    });
  }

  /**
   * The state database refused a write (disk full, folder made read-only, file deleted): the
   * transaction rolled back, so nothing of it is recorded. Nothing more can be recorded either:
   * stop the commands, start nothing, and let run() say what happened and how to resume.
   */
  private storeFailed(e: unknown): void {
    if (this.storeError) return;
    this.storeError = e instanceof Error ? e : new Error(String(e));
    this.canceled = true;
    for (const r of this.running.values()) this.kill(r, 'cancel');
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
    this.ready.clear();
    this.poke();
  }

  private storeError: Error | null = null;

  private async completed(
    t: StoredTask,
    asset: AssetDefinition | undefined,
    status: TaskStatus,
    message: string | null,
    exitCode: number | null,
    code: string | null,
    reported: Reported,
    inputs: InputVersions[],
    /** How long the command itself ran, when the executor knows better than submission-to-end (a Slurm job's queue time excluded). */
    ranMs?: number,
  ): Promise<void> {
    const retries = asset?.retries ?? 0;
    const willRetry = status === 'failed' && !this.canceled && t.tries <= retries;
    const at = Date.now();
    const metadata = Object.keys(reported.metadata).length ? reported.metadata : null;
    // What this run of the command cost, shared equally by the partitions it materialized.
    // A failed or canceled run costs too (the warehouse bills the query, the cloud the hours).
    const cost = taskCost(asset, t.partitions.length, ranMs ?? at - (t.startedAt ?? at), reported.cost);
    const share = cost ? cost.cost / Math.max(1, t.attemptIds.length) : null;
    if (cost) {
      this.spent += cost.cost;
      this.anyCost = true;
      // The next tasks of this asset are estimated with what this one cost, too.
      const h = this.estimates.get(t.asset);
      if (h && asset && costSampleUnit(asset) === 'task') h.samples.unshift(cost.cost);
      else if (h) h.samples.unshift(...t.attemptIds.map(() => share!));
    }
    for (const p of reported.problems ?? []) this.emit({ type: 'warning', task: t, message: p });
    // The attempts end in the same transaction as the task (failed attempts stay in history even when retried).
    const attemptStatus = status === 'succeeded' ? 'success' : status === 'canceled' ? 'canceled' : 'failed';
    const attempts = t.attemptIds.map((id, i) => ({
      id,
      result: {
        status: attemptStatus,
        endedAt: at,
        ...(ranMs !== undefined ? { durationMs: ranMs } : {}),
        exitCode,
        dataVersion: status === 'succeeded' ? (reported.dataVersion ?? defaultDataVersion(code ?? '', inputs[i] ?? {})) : null,
        metadata,
        cost: share,
        costSource: cost?.source ?? null,
      } as const,
    }));
    await this.write(() =>
      this.state.finishTask(this.backfillId, t.id, { status: willRetry ? 'pending' : status, at, exitCode, message, attempts }),
    );
    Object.assign(t, { status: willRetry ? 'pending' : status, endedAt: at, exitCode, message });
    if (willRetry) {
      const delay = Math.min(BACKOFF_MAX_MS, (this.options.retryDelayMs ?? 1000) * 2 ** (t.tries - 1));
      this.emit({ type: 'task', task: t, status: 'failed', message: message ?? undefined, retryInMs: delay });
      this.requeueAfter(t, delay);
      return;
    }
    this.emit({ type: 'task', task: t, status, message: message ?? undefined });
    if (status === 'succeeded') this.release(t);
    else this.skipDownstream(t);
  }

  /** A task ends without its command ending (skipped, canceled): recorded in the background, in memory now. */
  private finish(t: StoredTask, status: TaskStatus, result: { message: string }, attempts: TaskFinish['attempts'] = []): void {
    const at = Date.now();
    void this.write(() => this.state.finishTask(this.backfillId, t.id, { status, at, message: result.message, attempts }))
      .catch((e) => this.storeFailed(e))
      .finally(() => this.poke());
    Object.assign(t, { status, message: result.message });
    this.emit({ type: 'task', task: t, status, message: result.message });
    if (status !== 'succeeded') this.skipDownstream(t);
  }

  /** Everything downstream of a task that did not succeed is skipped; independent tasks go on. */
  private skipDownstream(t: StoredTask): void {
    for (const d of this.dependents.get(t.id) ?? []) {
      if (d.status !== 'pending') continue;
      this.waiting.delete(d.id);
      this.finish(d, 'skipped', { message: `upstream task ${t.id} (${t.asset} ${t.partitions.join(' ') || ''}) ${t.status}`.trim() });
    }
  }

  /** Runs the asset's checks after a success; a failing blocking check fails the task. */
  private async runChecks(t: StoredTask, asset: AssetDefinition, log: WriteStream): Promise<{ failed: string | null; warnings: string[] }> {
    const warnings: string[] = [];
    for (const check of asset.checks ?? []) {
      const indexes =
        t.partitions.length === 0 ? PartitionSubset.of([0]) : PartitionSubset.of(t.partitions.map((k) => asset.partitions.indexOf(k)));
      const rendered = renderCommand(asset, indexes, this.backfillId, check.run);
      const lines: string[] = [];
      const onLine = (_stream: 'stdout' | 'stderr', line: string): void => {
        log.write(`[check ${check.name}] ${line}\n`);
        lines.push(line);
        if (lines.length > 3) lines.shift();
        this.emit({ type: 'output', task: t, stream: 'stdout', line: `[check ${check.name}] ${line}` });
      };
      const exec = new LocalExecution(rendered.command, rendered.cwd, rendered.env, onLine, this.options.killGraceMs ?? 2000);
      this.running.set(`${t.id}#check`, { task: t, exec });
      const { code } = await exec.done;
      this.running.delete(`${t.id}#check`);
      if (code === 0) continue;
      const what = `check ${check.name} failed${lines.length ? `: ${lines[lines.length - 1]}` : ''}`;
      if (check.blocking) return { failed: what, warnings };
      warnings.push(what);
      this.emit({ type: 'warning', task: t, message: what });
    }
    return { failed: null, warnings };
  }

  /** Runs a task's command where its executor says (a child process here, or a Slurm job). */
  private launch(t: StoredTask, onLine: OutputLine): Execution {
    return new LocalExecution(t.command, t.cwd, t.env, onLine, this.options.killGraceMs ?? 2000);
  }

  private kill(r: Running, why: 'cancel' | 'timeout'): void {
    if (r.killed) return;
    r.killed = why;
    r.exec.stop(why);
  }

  /** Sample: N tasks per asset (first, last, evenly between), plus the upstream tasks they need. */
  private sampleTasks(n: number): Set<string> {
    const byAsset = new Map<string, StoredTask[]>();
    for (const t of this.tasks) if (t.status === 'pending') (byAsset.get(t.asset) ?? byAsset.set(t.asset, []).get(t.asset)!).push(t);
    const chosen = new Set<string>();
    for (const list of byAsset.values()) {
      const k = Math.min(n, list.length);
      for (let i = 0; i < k; i++) chosen.add(list[k === 1 ? 0 : Math.round((i * (list.length - 1)) / (k - 1))]!.id);
    }
    const stack = [...chosen];
    while (stack.length) {
      for (const a of this.byId.get(stack.pop()!)!.after) {
        if (!chosen.has(a)) {
          chosen.add(a);
          stack.push(a);
        }
      }
    }
    return chosen;
  }

  private emit(e: RunnerEvent): void {
    this.options.onEvent?.(e);
  }
}

export function countTasks(tasks: readonly StoredTask[]): Record<TaskStatus, number> {
  const c: Record<TaskStatus, number> = { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, canceled: 0 };
  for (const t of tasks) c[t.status]++;
  return c;
}

/** The median of some numbers (null for none). */
function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
