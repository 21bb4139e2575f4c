/**
 * The Slurm executor: tasks as jobs of a Slurm cluster. The ready tasks of one asset go as one
 * job array (`sbatch --array=0-N%T`, T the slots the runner gives it), submitted held and
 * released once their job ids are saved, so that a runner killed at any moment leaves no job it
 * does not know of. Each element runs the task's command in its working folder with the same
 * environment as a local run, writing stdout, stderr and then its exit status to files beside the
 * state database; the runner follows those files (the output streams as it is written) and
 * `squeue`/`scontrol` for what Slurm says (pending and why, running where, and why a job that
 * left no exit status ended). Jobs outlive the runner: a resume re-attaches to them by job id.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../diagnostics.ts';
import type { AssetDefinition, SlurmOptions } from '../model.ts';
import { shellQuote } from '../plan/command.ts';
import type { Execution, ExecutionResult, OutputLine } from './execution.ts';

/** What one element of an array runs. */
export interface SlurmTaskSpec {
  taskId: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
}

/** What Slurm says about a job: PENDING (with its reason), RUNNING (on a node), … */
export interface SlurmJobState {
  state: string;
  reason: string;
  node: string;
}

export interface SlurmEvents {
  /** A job changed state (PENDING → RUNNING, …). */
  onState?: (taskId: string, job: string, state: SlurmJobState) => void;
  /** squeue could not be asked (it is retried with backoff; no job is taken as failed for it). */
  onWarning?: (message: string) => void;
}

/** How long a Slurm command may take before it counts as not answering (ms). */
const COMMAND_TIMEOUT_MS = 60_000;

/** Runs a Slurm command (no shell); rejects with its stderr. */
function slurm(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const e = error as NodeJS.ErrnoException & { killed?: boolean };
        const why =
          e.code === 'ENOENT'
            ? `${command} is not on PATH`
            : e.killed
              ? `${command} did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`
              : (stderr.trim() || e.message).replace(/^(sbatch|squeue|scontrol|scancel|sinfo): error: /gm, '');
        reject(Object.assign(new Error(why), { code: e.code }));
      } else resolve(stdout);
    });
  });
}

/** The most elements a job array may have on this cluster (MaxArraySize; Slurm's default, 1001, when it cannot be read). */
export async function maxArraySize(): Promise<number> {
  try {
    const m = /^MaxArraySize\s*=\s*(\d+)/m.exec(await slurm('scontrol', ['show', 'config']));
    return m ? Math.max(1, Number(m[1])) : 1001;
  } catch {
    return 1001;
  }
}

/** Cancels Slurm jobs (a backfill whose runner is gone); a UserError when scancel fails. */
export async function scancel(jobs: readonly string[]): Promise<void> {
  try {
    await slurm('scancel', [...jobs]);
  } catch (e) {
    throw new UserError(
      `could not cancel the backfill's Slurm jobs (${jobs.join(' ')}): ${firstLine((e as Error).message)}; nothing was changed`,
    );
  }
}

/** sbatch's options for an asset: its `slurm:` settings, `resources:` where those say nothing, `timeout:` as --time. */
export function sbatchOptions(asset: AssetDefinition): string[] {
  const o: SlurmOptions = asset.slurm ?? {};
  const args: string[] = [];
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.account) args.push(`--account=${o.account}`);
  if (o.qos) args.push(`--qos=${o.qos}`);
  const cpus = o.cpus ?? (asset.resources?.cpus !== undefined ? Math.ceil(asset.resources.cpus) : undefined);
  if (cpus !== undefined) args.push(`--cpus-per-task=${cpus}`);
  const mem = o.mem ?? asset.resources?.memory;
  if (mem !== undefined) args.push(`--mem=${Math.ceil(mem / 1024 ** 2)}M`);
  const minutes = o.time ?? (asset.timeout !== undefined ? Math.ceil(asset.timeout / 60) : undefined);
  if (minutes !== undefined) args.push(`--time=${minutes}`);
  if (o.gres) args.push(`--gres=${o.gres}`);
  args.push(...(o.extra_args ?? []));
  return args;
}

/** The assets of `names` whose tasks run on Slurm, with the backfill's --executor (if any) deciding for all. */
export function slurmAssets(
  assets: ReadonlyMap<string, AssetDefinition>,
  names: Iterable<string>,
  executor: 'local' | 'slurm' | undefined,
): AssetDefinition[] {
  const out = new Set<AssetDefinition>();
  for (const n of names) {
    const a = assets.get(n);
    if (a && (executor ?? a.executor ?? 'local') === 'slurm') out.add(a);
  }
  return [...out];
}

/**
 * Checks, before anything is submitted, that Slurm can be used and accepts each asset's
 * settings: sbatch on PATH, the controller answering, and `sbatch --test-only` with the
 * asset's options (an unknown partition, account or QOS is refused there).
 */
export async function checkSlurm(assets: readonly AssetDefinition[], root: string): Promise<void> {
  try {
    await slurm('sbatch', ['--version']);
  } catch (e) {
    throw new UserError(
      `cannot run on Slurm: ${lastLine((e as Error).message)} — install Slurm's client commands (Debian: apt-get install slurm-client) and point SLURM_CONF at the cluster's slurm.conf, or run with --executor local`,
    );
  }
  try {
    await slurm('sinfo', ['-h', '-o', '%P']);
  } catch (e) {
    const conf = process.env['SLURM_CONF'];
    throw new UserError(
      `cannot run on Slurm: the cluster does not answer (${lastLine((e as Error).message)})${conf ? ` — SLURM_CONF is ${conf}: check that it is the cluster's slurm.conf` : ' — set SLURM_CONF to the cluster’s slurm.conf'}`,
    );
  }
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const asset of assets) {
    const options = sbatchOptions(asset);
    const key = JSON.stringify(options);
    const where = `${asset.name} (${path.relative(root, asset.location.file)}:${asset.location.line})`;
    if (seen.has(key)) {
      const earlier = seen.get(key)!;
      if (earlier) problems.push(`${where}: ${earlier}`);
      continue;
    }
    try {
      await slurm('sbatch', ['--test-only', ...options, '--wrap=true']);
      seen.set(key, '');
    } catch (e) {
      const why = `Slurm refuses its settings (${options.join(' ') || 'none'}): ${firstLine((e as Error).message)}`;
      seen.set(key, why);
      problems.push(`${where}: ${why}`);
    }
  }
  if (problems.length) throw new UserError(`${problems.join('\n')}\nnothing was submitted`);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/** The files of one task's Slurm run, beside the state database. */
export function taskFiles(dir: string, taskId: string): { script: string; out: string; err: string; exit: string; start: string } {
  return {
    start: path.join(dir, `${taskId}.start`),
    script: path.join(dir, `${taskId}.sh`),
    out: path.join(dir, `${taskId}.out`),
    err: path.join(dir, `${taskId}.err`),
    exit: path.join(dir, `${taskId}.exit`),
  };
}

/**
 * The Slurm side of one backfill run: submits arrays, follows their elements, cancels them.
 * One poll loop for all the backfill's jobs (one squeue call per round, not one per job).
 */
export class SlurmCluster {
  private readonly tracked = new Map<string, SlurmExecution>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private submissions = 0;
  /** squeue failed this many rounds in a row (the poll interval backs off meanwhile). */
  private failures = 0;
  /** sacct refused once: the cluster keeps no accounting. */
  private noAccounting = false;

  constructor(
    /** Where the scripts, outputs and exit statuses go: storage the submitter and the nodes share. */
    readonly dir: string,
    private readonly events: SlurmEvents = {},
    private readonly pollMs = 1000,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Submits tasks of one asset as one job array, at most `throttle` elements running at once.
   * Returns one Execution per task (in order); `saveJobs` is called with each task's element
   * id before the array is released, so that a runner killed now leaves no job it does not know.
   */
  submit(
    asset: AssetDefinition,
    tasks: readonly SlurmTaskSpec[],
    throttle: number,
    lines: readonly OutputLine[],
    saveJobs: (jobs: Map<string, string>) => void | Promise<void>,
  ): SlurmExecution[] {
    const executions = tasks.map((t, i) => new SlurmExecution(this, t.taskId, lines[i]!));
    const tag = `${Date.now().toString(36)}-${process.pid}-${++this.submissions}`;
    const list = path.join(this.dir, `${tag}.tasks`);
    try {
      for (const t of tasks) {
        const f = taskFiles(this.dir, t.taskId);
        rmSync(f.exit, { force: true }); // a retry's earlier status
        rmSync(f.start, { force: true });
        writeFileSync(f.out, '');
        writeFileSync(f.err, '');
        writeFileSync(f.script, taskScript(t, f.exit, f.start));
      }
      writeFileSync(list, tasks.map((t) => t.taskId).join('\n') + '\n');
      writeFileSync(path.join(this.dir, `${tag}.sbatch`), arrayScript(this.dir, list));
    } catch (e) {
      for (const x of executions) x.fail(new Error(`could not write its Slurm script in ${this.dir}: ${(e as Error).message}`));
      return executions;
    }
    const args = [
      '--parsable',
      '--hold',
      `--job-name=backfill:${asset.name}`,
      `--array=0-${tasks.length - 1}%${Math.max(1, throttle)}`,
      `--output=${path.join(this.dir, `${tag}_%a.slurm`)}`,
      ...sbatchOptions(asset),
      path.join(this.dir, `${tag}.sbatch`),
    ];
    void (async () => {
      let job: string;
      try {
        job = (await slurm('sbatch', args)).trim().split(';')[0]!;
        if (!/^\d+$/.test(job)) throw new Error(`sbatch answered "${job}", not a job id`);
      } catch (e) {
        for (const x of executions) x.fail(new Error(`Slurm refused the job: ${firstLine((e as Error).message)}`));
        return;
      }
      const jobs = new Map(tasks.map((t, i) => [t.taskId, `${job}_${i}`]));
      try {
        await saveJobs(jobs);
      } catch (e) {
        await slurm('scancel', [job]).catch(() => {});
        for (const x of executions) x.fail(new Error(`could not record Slurm job ${job}, so it was canceled: ${(e as Error).message}`));
        return;
      }
      executions.forEach((x, i) => x.attach(`${job}_${i}`, path.join(this.dir, `${tag}_${i}.slurm`)));
      if (executions.every((x) => x.stopping)) return; // canceled while being submitted: attach canceled it
      try {
        await slurm('scontrol', ['release', job]);
      } catch (e) {
        this.events.onWarning?.(
          `could not release Slurm job ${job} (it stays held: scontrol release ${job}): ${firstLine((e as Error).message)}`,
        );
      }
    })();
    return executions;
  }

  /** Follows a job submitted by an earlier run of the backfill (a resume re-attaching to it). */
  reattach(taskId: string, job: string, onLine: OutputLine): SlurmExecution {
    const x = new SlurmExecution(this, taskId, onLine);
    x.attach(job, null);
    return x;
  }

  /** @internal */
  track(x: SlurmExecution): void {
    this.tracked.set(x.taskId, x);
    this.schedulePoll(50);
  }

  /** @internal */
  untrack(x: SlurmExecution): void {
    if (this.tracked.get(x.taskId) === x) this.tracked.delete(x.taskId);
    if (this.tracked.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Lets more elements of an array run at once (`scontrol update ArrayTaskThrottle`), as slots free up. */
  setThrottle(job: string, throttle: number): void {
    slurm('scontrol', ['update', `JobId=${job}`, `ArrayTaskThrottle=${throttle}`]).catch((e: Error) =>
      this.events.onWarning?.(`could not raise the throttle of Slurm job ${job} to ${throttle}: ${firstLine(e.message)}`),
    );
  }

  /** Cancels jobs (element ids), in one scancel. */
  async cancel(jobs: readonly string[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      await slurm('scancel', [...jobs]);
    } catch (e) {
      this.events.onWarning?.(`scancel ${jobs.join(' ')} failed: ${firstLine((e as Error).message)}`);
    }
  }

  /** @internal */
  stateChanged(x: SlurmExecution, state: SlurmJobState): void {
    this.events.onState?.(x.taskId, x.job!, state);
  }

  private schedulePoll(ms: number): void {
    if (this.timer || this.tracked.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, ms);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const attached = [...this.tracked.values()].filter((x) => x.job !== undefined);
      // The files first: output as it is written, and the exit statuses of what finished. An
      // element squeue last listed as pending has written nothing: its files wait for squeue.
      const open: SlurmExecution[] = [];
      for (const x of attached) if (x.pending || !x.readFiles()) open.push(x);
      if (open.length > 0) {
        let queue: Map<string, SlurmJobState> | null = null;
        try {
          queue = parseSqueue(await slurm('squeue', ['--me', '-h', '-r', '-o', '%i|%T|%r|%N']));
          if (this.failures > 0) this.events.onWarning?.('squeue answers again');
          this.failures = 0;
        } catch (e) {
          this.failures++;
          if (this.failures === 1)
            this.events.onWarning?.(`squeue does not answer (${firstLine((e as Error).message)}): retrying; the jobs keep running`);
        }
        if (queue) {
          for (const x of open) {
            const state = queue.get(x.job!);
            const wasPending = x.pending;
            if (state) {
              x.seen(state);
              if (wasPending && !x.pending) x.readFiles();
            } else if (!(wasPending && x.readFiles())) await x.missing();
          }
        }
      }
    } finally {
      this.polling = false;
      // Back off while squeue does not answer: 1 s, 2 s, 4 s … at most 30 s.
      this.schedulePoll(Math.min(30_000, this.pollMs * 2 ** Math.min(this.failures, 5)));
    }
  }

  /**
   * What Slurm says of a job that is no longer in the queue: `scontrol show job` while the
   * controller remembers it (MinJobAge, 5 minutes by default), else `sacct` where the cluster
   * keeps accounting; null when neither knows it.
   */
  async jobInfo(job: string): Promise<{ state: string; reason: string; exitCode: string } | null> {
    let text: string;
    try {
      text = await slurm('scontrol', ['show', 'job', '-o', job]);
    } catch (e) {
      if (/invalid job id/i.test((e as Error).message)) return this.accounting(job);
      throw e;
    }
    const field = (name: string): string => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(text)?.[1] ?? '';
    return { state: field('JobState'), reason: field('Reason'), exitCode: field('ExitCode') };
  }

  /** sacct's record of a job (null without accounting: sacct then refuses, or knows nothing). */
  private async accounting(job: string): Promise<{ state: string; reason: string; exitCode: string } | null> {
    if (this.noAccounting) return null;
    try {
      const line = (await slurm('sacct', ['-n', '-P', '-X', '-j', job, '-o', 'JobID,State,Reason,ExitCode']))
        .split('\n')
        .map((l) => l.trim().split('|'))
        .find((f) => f[0] === job);
      if (!line) return null;
      // `CANCELLED by 0` → CANCELLED, as scontrol says it.
      return { state: (line[1] ?? '').split(' ')[0]!, reason: line[2] ?? '', exitCode: line[3] ?? '' };
    } catch {
      this.noAccounting = true; // "Slurm accounting storage is disabled", or no sacct at all
      return null;
    }
  }
}

/** `123_4|PENDING|JobArrayTaskLimit|` lines → element id → state. */
function parseSqueue(text: string): Map<string, SlurmJobState> {
  const out = new Map<string, SlurmJobState>();
  for (const line of text.split('\n')) {
    const [id, state, reason, node] = line.trim().split('|');
    if (id && state) out.set(id, { state, reason: reason ?? '', node: node ?? '' });
  }
  return out;
}

/** Slurm job states after which a job will not write anything more. */
const ENDED = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
]);

/** One task's run as an element of a Slurm job array. */
export class SlurmExecution implements Execution {
  readonly done: Promise<ExecutionResult>;
  readonly started: Promise<void>;
  job: string | undefined;
  private resolve!: (r: ExecutionResult) => void;
  private markStarted!: () => void;
  /** Since when scontrol has been failing about this job (0: it answers). */
  private unknownSince = 0;
  private ended = false;
  private readonly offsets = { out: 0, err: 0 };
  private readonly partial = { out: '', err: '' };
  private state = '';
  private stopWhy: 'cancel' | 'timeout' | undefined;
  /** Rounds in a row the job was neither in the queue nor done: Slurm is asked about it after two. */
  private absent = 0;
  private slurmLog: string | null = null;
  private stopNote: string | null = null;

  constructor(
    private readonly cluster: SlurmCluster,
    readonly taskId: string,
    private readonly onLine: OutputLine,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  /** squeue last listed it as waiting in the queue (it has not started, so it has written nothing). */
  get pending(): boolean {
    return this.state === 'PENDING';
  }

  /** Asked to stop (cancel or timeout). */
  get stopping(): boolean {
    return this.stopWhy !== undefined;
  }

  get ref(): { job?: string } {
    return this.job === undefined ? {} : { job: this.job };
  }

  /** @internal The job id is known (and saved): follow it. */
  attach(job: string, slurmLog: string | null): void {
    if (this.ended) return;
    this.job = job;
    this.slurmLog = slurmLog;
    this.cluster.track(this);
    if (this.stopWhy) void this.cluster.cancel([job]);
  }

  /** @internal */
  fail(error: Error): void {
    this.end({ code: null, error });
  }

  stop(why: 'cancel' | 'timeout'): void {
    if (this.stopWhy || this.ended) return;
    this.stopWhy = why;
    if (why === 'timeout') this.stopNote = 'its Slurm job was canceled (scancel) at the timeout (counted from when it started running)';
    if (this.job) void this.cluster.cancel([this.job]);
    // Not submitted yet: canceled as soon as its id is known (attach).
  }

  /** The job keeps running on the cluster; a resume re-attaches to it. */
  detach(): void {
    if (!this.job) {
      // Not even submitted as far as we know: stop it when it is (nothing will follow it).
      this.stop('cancel');
      return;
    }
    this.end({ code: null, detached: true });
  }

  note(): string | null {
    return this.stopNote;
  }

  /** @internal Reads new output; true once the exit status is there (and the task ended). */
  readFiles(): boolean {
    if (this.ended) return true;
    const f = taskFiles(this.cluster.dir, this.taskId);
    const finished = existsSync(f.exit);
    const before = this.offsets.out + this.offsets.err;
    this.tail('out', f.out, finished);
    this.tail('err', f.err, finished);
    if (finished || this.offsets.out + this.offsets.err > before) this.markStarted(); // it ran, even if squeue never showed it running
    if (!finished) return false;
    const text = readFileSync(f.exit, 'utf8').trim();
    const code = Number(text);
    const ranMs = this.ranMs(f.start, f.exit);
    const run = ranMs === undefined ? {} : { ranMs };
    this.end(Number.isInteger(code) ? { code, ...run } : { code: null, reason: `its exit status file says "${text}"`, ...run });
    return true;
  }

  /** @internal squeue lists it. */
  seen(state: SlurmJobState): void {
    this.absent = 0;
    if (state.state !== 'PENDING' && state.state !== 'CONFIGURING') this.markStarted();
    if (state.state !== this.state) {
      this.state = state.state;
      this.cluster.stateChanged(this, state);
    }
  }

  /** @internal squeue no longer lists it and it left no exit status (yet). */
  async missing(): Promise<void> {
    if (++this.absent < 2 || this.ended) return; // just finished: its exit status may be on its way
    let info: { state: string; reason: string; exitCode: string } | null;
    try {
      info = await this.cluster.jobInfo(this.job!);
      this.unknownSince = 0;
    } catch (e) {
      // scontrol does not answer: ask again next round; a job it keeps failing on for a minute is taken as gone.
      this.unknownSince ||= Date.now();
      if (Date.now() - this.unknownSince < 60_000) return;
      info = null;
      this.onLine('stderr', `scontrol show job ${this.job}: ${firstLine((e as Error).message)}`);
    }
    if (this.readFiles()) return;
    if (info && !ENDED.has(info.state)) return; // e.g. COMPLETING
    const slurmSays = this.slurmLines();
    for (const l of slurmSays) this.onLine('stderr', l);
    if (this.stopWhy === 'cancel') return this.end({ code: null, reason: 'canceled' });
    const reason = info
      ? `Slurm ended job ${this.job} ${info.state}${info.reason && info.reason !== 'None' ? ` (${info.reason})` : ''}${info.exitCode && info.exitCode !== '0:0' ? `, exit ${info.exitCode}` : ''} without an exit status from the command`
      : `Slurm job ${this.job} is gone from the queue without an exit status from the command`;
    this.end({ code: null, reason: slurmSays.length ? `${reason}: ${slurmSays[slurmSays.length - 1]}` : reason });
  }

  /** From the job's start (the time it wrote when it began) to its exit status file: its run time, without the queue. */
  private ranMs(startFile: string, exitFile: string): number | undefined {
    try {
      const started = Number(readFileSync(startFile, 'utf8').trim());
      const ended = statSync(exitFile).mtimeMs;
      return Number.isFinite(started) && started > 0 && ended >= started ? Math.round(ended - started) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Slurm's own messages about the job (`slurmstepd: error: *** JOB … CANCELLED … DUE TO TIME LIMIT ***`). */
  private slurmLines(): string[] {
    if (!this.slurmLog || !existsSync(this.slurmLog)) return [];
    try {
      return readFileSync(this.slurmLog, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-5);
    } catch {
      return [];
    }
  }

  private tail(which: 'out' | 'err', file: string, final: boolean): void {
    let fd: number;
    try {
      if (statSync(file).size <= this.offsets[which]) {
        if (final && this.partial[which]) this.flushPartial(which);
        return;
      }
      fd = openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, this.offsets[which]);
        if (n <= 0) break;
        this.offsets[which] += n;
        const text = this.partial[which] + buffer.subarray(0, n).toString('utf8');
        const lines = text.split('\n');
        this.partial[which] = lines.pop()!;
        for (const l of lines) this.onLine(which === 'out' ? 'stdout' : 'stderr', l.replace(/\r$/, ''));
      }
    } finally {
      closeSync(fd);
    }
    if (final && this.partial[which]) this.flushPartial(which);
  }

  private flushPartial(which: 'out' | 'err'): void {
    const l = this.partial[which];
    this.partial[which] = '';
    this.onLine(which === 'out' ? 'stdout' : 'stderr', l);
  }

  private end(r: ExecutionResult): void {
    if (this.ended) return;
    this.ended = true;
    this.markStarted();
    this.cluster.untrack(this);
    this.resolve(r);
  }
}

/** One task: into its folder, its environment, its command; then its exit status, atomically. */
function taskScript(t: SlurmTaskSpec, exitFile: string, startFile: string): string {
  const q = shellQuote;
  const tmp = `${exitFile}.tmp`;
  const exports = Object.entries(t.env).map(([k, v]) => `export ${k}=${q(v)}`);
  return [
    '#!/bin/sh',
    `# Backfill task ${t.taskId}, run by Slurm (written by the Backfill runner).`,
    // When it started running (epoch ms): its run time is recorded without its time in the queue.
    `date +%s%3N > ${q(startFile)}`,
    `cd ${q(t.cwd)} || { echo "backfill: cannot enter its working folder ${t.cwd.replace(/["`$\\]/g, '')}" >&2; echo 127 > ${q(tmp)}; mv ${q(tmp)} ${q(exitFile)}; exit 127; }`,
    ...exports,
    `/bin/sh -c ${q(t.command)}`,
    'status=$?',
    `echo "$status" > ${q(tmp)} && mv ${q(tmp)} ${q(exitFile)}`,
    'exit "$status"',
    '',
  ].join('\n');
}

/** The array's batch script: element i runs the i-th task's script, its output into the task's files. */
function arrayScript(dir: string, list: string): string {
  const q = shellQuote;
  return [
    '#!/bin/sh',
    '# A Backfill job array: element i runs the task on line i+1 of the list (written by the Backfill runner).',
    `task=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${q(list)})`,
    `[ -n "$task" ] || { echo "backfill: no task $SLURM_ARRAY_TASK_ID in ${path.basename(list)}" >&2; exit 1; }`,
    `exec /bin/sh ${q(dir)}/"$task".sh > ${q(dir)}/"$task".out 2> ${q(dir)}/"$task".err`,
    '',
  ].join('\n');
}

/** `submitted 40 tasks of raw_events as Slurm job 123 (at most 8 at once)`: the same words in the CLI and the editor. */
export function describeSubmission(tasks: readonly { asset: string }[], job: string, throttle: number): string {
  const n = tasks.length;
  return `submitted ${n === 1 ? '1 task' : `${n} tasks`} of ${tasks[0]?.asset ?? '?'} as Slurm job ${job}${n > 1 ? ` (at most ${throttle} at once)` : ''}`;
}

/**
 * The tasks waiting in the Slurm queue (PENDING) and Slurm's reasons, for progress lines:
 * `3 queued in Slurm (BeginTime)`. The same words in the CLI and the editor.
 */
export class SlurmQueue {
  private readonly reasons = new Map<string, string>();

  /** A task's Slurm state changed (the runner's 'slurm' event). */
  update(taskId: string, state: string, reason: string): void {
    if (state === 'PENDING') this.reasons.set(taskId, reason && reason !== 'None' ? reason : '');
    else this.reasons.delete(taskId);
  }

  /** A task ended (or is no longer Slurm's). */
  delete(taskId: string): void {
    this.reasons.delete(taskId);
  }

  get size(): number {
    return this.reasons.size;
  }

  /** `12 queued in Slurm (Priority, Resources)`: the reasons, most frequent first (at most 3). */
  describe(): string {
    const counts = new Map<string, number>();
    for (const r of this.reasons.values()) if (r) counts.set(r, (counts.get(r) ?? 0) + 1);
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
    return `${this.size} queued in Slurm${top.length ? ` (${top.map(([r]) => r).join(', ')})` : ''}`;
  }
}

/** `running on node1 (Slurm job 123_4)`: where a task's job started. */
export function describeRunning(job: string, node: string): string {
  return `running${node ? ` on ${node}` : ''} (Slurm job ${job})`;
}
