/**
 * Where a task's command runs. The runner (planning, the DAG, pools, retries, timeouts, checks,
 * `::backfill` lines, the state store, resume) is the same for every executor; an Execution is
 * one run of one task's command somewhere: a child process here (local.ts), or a Slurm job
 * (slurm.ts). A Kubernetes Jobs executor would be a third implementation of this interface.
 */
export type OutputLine = (stream: 'stdout' | 'stderr', line: string) => void;

export interface ExecutionResult {
  /** The command's exit status, or null when it did not exit by itself (killed, could not start, lost). */
  code: number | null;
  signal?: string | null;
  /** It could not be started (no shell, no working folder, the cluster refused it). */
  error?: Error;
  /** Why it ended when the executor knows better than an exit status (Slurm: `TIMEOUT`, `OUT_OF_MEMORY`, …). */
  reason?: string;
  /** The runner is going away and left it running (a Slurm job): nothing is to be recorded now. */
  detached?: boolean;
  /** How long the command itself ran, when that is not the time since it was launched (a Slurm job waits in the queue first). */
  ranMs?: number;
}

export interface Execution {
  /** Resolves once the command has ended and all its output has been delivered. */
  readonly done: Promise<ExecutionResult>;
  /** Resolves when the command starts running (at once here; a Slurm job when it leaves the queue): a timeout counts from then. */
  readonly started: Promise<void>;
  /** Stops it (cancel or timeout): a process group is signalled, a Slurm job canceled. */
  stop(why: 'cancel' | 'timeout'): void;
  /** What had to be done to stop it or what it left behind, for the task's message and log; null when nothing. */
  note(): string | null;
  /** The runner is going away: leave it running if it can outlive the runner (Slurm), else stop it. */
  detach(): void;
  /** What identifies it outside this process, saved with the task so that a resume can find it. */
  readonly ref: { pid?: number; job?: string };
}
