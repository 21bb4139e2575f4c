import type { PartitionsDefinition } from '../core/partitions/definition.ts';
import { keysOf } from '../core/partitions/definition.ts';
import type { PartitionSubset } from '../core/partitions/subset.ts';
import { describeAssetCost, describePlanCost } from '../core/cost/describe.ts';
import { formatCost } from '../core/cost/units.ts';
import type { BackfillPlan } from '../core/plan/planner.ts';
import { formatSeconds } from '../core/run/duration.ts';
import { describeResources, describeTime } from '../core/plan/describe.ts';
import { describeRunning, describeSubmission, SlurmQueue } from '../core/run/slurm.ts';
import { taskLabel } from '../core/run/backfill.ts';
import type { ExecutorName } from '../core/model.ts';
import { BackfillRunner, type BackfillReport, type Capacity, type RunnerEvent } from '../core/run/runner.ts';
import type { StoredTask, TaskStatus } from '../core/state/backfills.ts';
import type { RunState } from '../core/state/runState.ts';
import type { Workspace } from '../core/workspace.ts';
import type { CliContext } from './context.ts';
import {
  columns,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_PAUSED,
  formatDuration,
  plural,
  printJson,
  RANGE,
  relativePath,
  type Style,
} from './output.ts';

// What `plan`, `run` and `resume` print: the plan, the run's events and progress, its report.

// ---------------------------------------------------------------------------------------------
// The plan

/** The plan as JSON: the contract of `backfill plan --json` (and `run --dry-run --json`). */
export function planJson(ws: Workspace, plan: BackfillPlan): unknown {
  const { tasks, partitions, assets, estimated_seconds, time, cost, resources } = plan.summary;
  return {
    backfill: {
      tasks: plan.tasks.map((t) => ({ id: t.id, asset: t.asset, partitions: t.partitions, command: t.command, after: t.after })),
      summary: { tasks, partitions, assets, estimated_seconds, time, cost, resources },
      assets: plan.assets.map((a) => {
        const def = ws.assets.get(a.asset)!.partitions;
        return { asset: a.asset, partitions: def.kind === 'unpartitioned' ? null : keysOf(def, a.partitions), reason: a.reason };
      }),
      warnings: plan.warnings,
    },
  };
}

/** The plan for a person: per asset its partitions and why, the totals, the estimate; warnings on stderr. */
export function printPlan(ctx: CliContext, ws: Workspace, plan: BackfillPlan, concurrency: number): void {
  const s = ctx.style;
  const rows = plan.assets.map((a) => {
    const def = ws.assets.get(a.asset)!.partitions;
    return [
      `  ${s.bold(a.asset)}`,
      def.kind === 'unpartitioned' ? 'unpartitioned' : plural(a.partitions.size, 'partition'),
      extentOf(def, a.partitions),
      s.dim(`(${a.reason})`),
    ];
  });
  const { summary } = plan;
  const cost = summary.cost;
  // A cost column once some asset's cost is known (else one line says it is unknown).
  if (cost.assets.some((e) => e.expected !== null)) {
    rows.forEach((row, i) => row.push(describeAssetCost(cost.assets[i]!, cost.unit)));
  }
  ctx.print(
    `plan: ${plural(summary.tasks, 'task')}, ${plural(summary.partitions, 'partition')} of ${plural(summary.assets, 'asset')}`,
    ...columns(rows),
    `estimate: ${describeTime(summary.time, concurrency)}`,
    // Said once costs are in use (a rate declared or a cost recorded); silent for workspaces without.
    ...(cost.assets.some((e) => e.source !== 'unknown') || ws.costUnit ? [`cost: ${describePlanCost(cost)}`] : []),
    ...(summary.resources ? [`resources: ${describeResources(summary.resources)}`] : []),
  );
  for (const w of plan.warnings) ctx.warn(w);
}

/** `2024-01-01…2024-01-31`, one key alone, or the empty string for an unpartitioned asset. */
function extentOf(def: PartitionsDefinition, subset: PartitionSubset): string {
  if (def.kind === 'unpartitioned' || subset.isEmpty) return '';
  const first = def.keyAt(subset.first);
  return subset.size === 1 ? first : `${first}${RANGE}${def.keyAt(subset.last)}`;
}

/** `3m`, `45s`, `2h 05m`: an ETA, coarser than a duration. */
function formatEta(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return formatSeconds(s);
}

// ---------------------------------------------------------------------------------------------
// Running

export interface RunCliOptions {
  concurrency: number;
  sample?: number;
  maxCost?: number;
  capacity?: Capacity;
  executor?: ExecutorName;
  /** `--workspace`/`--state` as given, repeated in the `resume with:` hint. */
  hintOptions: string[];
}

/**
 * Runs a stored backfill with the CLI's output: task output prefixed with the task, state
 * changes, a live progress line on a terminal, then the report. SIGINT/SIGTERM cancel it (a
 * second SIGINT exits at once). Returns the exit code: 0 succeeded, 3 paused (a sample), 1
 * otherwise.
 */
export async function runStored(ctx: CliContext, ws: Workspace, state: RunState, id: string, options: RunCliOptions): Promise<number> {
  const controller = new AbortController();
  const printer = new RunPrinter(ctx, await state.tasks(id), !ctx.json);
  const runner = new BackfillRunner(ws, state, id, {
    concurrency: options.concurrency,
    ...(options.sample !== undefined ? { sample: options.sample } : {}),
    ...(options.maxCost !== undefined ? { maxCost: options.maxCost } : {}),
    ...(options.capacity ? { capacity: options.capacity } : {}),
    ...(options.executor ? { executor: options.executor } : {}),
    ...(process.env['BACKFILL_SLURM_POLL_MS'] ? { slurmPollMs: Number(process.env['BACKFILL_SLURM_POLL_MS']) } : {}),
    onEvent: (e) => printer.event(e),
    signal: controller.signal,
  });
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1 && signal === 'SIGINT') {
      printer.stop();
      // Nothing may outlive the exit: the commands' process groups are killed first, without grace.
      const killed = runner.killNow();
      process.stderr.write(
        `backfill: interrupted again: ${killed ? `killed ${plural(killed, 'running command')} (SIGKILL) and ` : ''}exiting now; backfill resume ${id} runs what is left\n`,
      );
      process.exit(130);
    }
    if (controller.signal.aborted) return;
    printer.stop();
    process.stderr.write(`backfill: canceling ${id}: stopping the running commands (Ctrl-C again exits now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closing (SIGHUP) cancels too: its commands would otherwise run on unwatched.
  process.on('SIGHUP', onSignal);
  let report: BackfillReport;
  try {
    printer.start();
    report = await runner.run();
  } finally {
    printer.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  if (ctx.json) printJson({ backfill: reportJson(report) });
  else printReport(ctx, report, [id, ...options.hintOptions], ws.costUnit);
  return report.status === 'succeeded' ? EXIT_OK : report.status === 'paused' ? EXIT_PAUSED : EXIT_FAILURE;
}

/** The report as JSON (`run --json`, `resume --json`). */
export function reportJson(report: BackfillReport): Record<string, unknown> {
  return {
    id: report.id,
    status: report.status,
    counts: report.counts,
    duration_ms: report.durationMs,
    failed: report.failed.map((f) => ({ task: f.task, asset: f.asset, partitions: f.partitions, message: f.message, log: f.log })),
    killed: report.killed.map((k) => ({ task: k.task, asset: k.asset, partitions: k.partitions, message: k.message })),
    spent_cost: report.spentCost,
    budget: report.budget ? { max_cost: report.budget.maxCost, estimated_left: report.budget.estimatedLeft } : null,
  };
}

const COUNT_ORDER: readonly TaskStatus[] = ['succeeded', 'failed', 'skipped', 'canceled', 'running', 'pending'];
/** How many failed tasks the summary lists. */
const MAX_FAILED_SHOWN = 20;

/** The final summary: status and counts, the failed partitions with their logs, how to resume. */
function printReport(ctx: CliContext, report: BackfillReport, resumeArgs: string[], costUnit: string | undefined): void {
  const s = ctx.style;
  const statusWord =
    report.status === 'succeeded'
      ? s.green('succeeded')
      : report.status === 'paused'
        ? s.yellow(report.budget ? 'paused (budget)' : 'paused after the sample')
        : s.red(report.status);
  const counts = COUNT_ORDER.filter((k) => report.counts[k] > 0)
    .map((k) => `${report.counts[k]} ${k}`)
    .join(' · ');
  const lines = [`backfill ${report.id} ${statusWord} in ${formatDuration(report.durationMs)}: ${counts || 'no tasks'}`];
  if (report.failed.length > 0) {
    lines.push(`failed (${report.failed.length}):`);
    for (const f of report.failed.slice(0, MAX_FAILED_SHOWN)) {
      lines.push(`  ${s.red('✗')} ${taskLabel(f)}${f.message ? `: ${f.message}` : ''}`, `    log: ${relativePath(process.cwd(), f.log)}`);
    }
    if (report.failed.length > MAX_FAILED_SHOWN)
      lines.push(`  … and ${report.failed.length - MAX_FAILED_SHOWN} more (backfill backfills --json)`);
  }
  if (report.killed.length > 0) {
    lines.push(`processes had to be killed (${report.killed.length} task${report.killed.length === 1 ? '' : 's'}):`);
    for (const k of report.killed.slice(0, MAX_FAILED_SHOWN)) lines.push(`  ${s.yellow('!')} ${taskLabel(k)}: ${k.message}`);
  }
  if (report.spentCost !== null)
    lines.push(
      `cost: ${formatCost(report.spentCost, costUnit)} spent${report.budget ? ` of --max-cost ${formatCost(report.budget.maxCost, costUnit)}` : ''}`,
    );
  if (report.budget) {
    const need = roundUp(Math.max(report.budget.maxCost, (report.spentCost ?? 0) + report.budget.estimatedLeft));
    lines.push(
      `stopped starting tasks: what is left is estimated at ~${formatCost(report.budget.estimatedLeft, costUnit)}, more than the budget allows`,
      `resume with a larger budget: backfill resume ${resumeArgs.join(' ')} --max-cost ${need}`,
    );
  } else if (report.status !== 'succeeded') lines.push(`resume with: backfill resume ${resumeArgs.join(' ')}`);
  ctx.print(...lines);
}

/** Up to 3 significant digits, rounded up (a budget suggestion that is enough). */
function roundUp(x: number): number {
  if (x <= 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(x)) - 2);
  return Number((Math.ceil(x / step) * step).toPrecision(3));
}

/** Task output and state changes as lines, and a progress line on stderr at a terminal. */
class RunPrinter {
  private readonly status = new Map<string, TaskStatus>();
  private readonly counts: Record<TaskStatus, number> = { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, canceled: 0 };
  private readonly labels = new Map<string, string>();
  /** Tasks whose Slurm job is PENDING in the queue. */
  private readonly queued = new SlurmQueue();
  private readonly progress: boolean;
  private readonly style: Style;
  private shown = false;
  private redraw: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private started = Date.now();
  /** Tasks finished by this run (for the ETA). */
  private finishedHere = 0;

  constructor(
    ctx: CliContext,
    tasks: readonly StoredTask[],
    private readonly lines: boolean,
  ) {
    for (const t of tasks) {
      this.status.set(t.id, t.status);
      this.counts[t.status]++;
    }
    this.progress = process.stderr.isTTY === true;
    this.style = ctx.style;
  }

  start(): void {
    this.started = Date.now();
    if (!this.progress) return;
    this.ticker = setInterval(() => this.draw(), 1000);
    this.ticker.unref();
    this.draw();
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.redraw) clearTimeout(this.redraw);
    this.ticker = this.redraw = null;
    this.clear();
  }

  event(e: RunnerEvent): void {
    switch (e.type) {
      case 'output':
        if (this.lines)
          this.write(e.stream === 'stderr' ? process.stderr : process.stdout, `${this.style.dim(`${this.labelOf(e.task)} │`)} ${e.line}`);
        return;
      case 'warning':
        if (this.lines) this.write(process.stdout, `${this.style.yellow('!')} ${this.labelOf(e.task)}: ${e.message}`);
        return;
      case 'notice':
        if (this.lines) this.write(process.stderr, `${this.style.yellow('!')} ${e.message}`);
        return;
      case 'submitted':
        if (this.lines) this.write(process.stdout, this.style.dim(`⇢ ${describeSubmission(e.tasks, e.job, e.throttle)}`));
        return;
      case 'slurm':
        this.queued.update(e.task.id, e.state, e.reason);
        if (e.state === 'RUNNING' && this.lines)
          this.write(process.stdout, this.style.dim(`▸ ${this.labelOf(e.task)} ${describeRunning(e.job, e.node)}`));
        this.scheduleDraw();
        return;
      case 'task': {
        const retrying = e.retryInMs !== undefined;
        if (e.status !== 'running') this.queued.delete(e.task.id);
        this.set(e.task.id, retrying ? 'pending' : e.status);
        if (this.lines) {
          const line = this.stateLine(e.task, e.status, e.message, e.retryInMs);
          if (line) this.write(process.stdout, line);
        }
        this.scheduleDraw();
        return;
      }
    }
  }

  private stateLine(t: StoredTask, status: TaskStatus, message: string | undefined, retryInMs: number | undefined): string | null {
    const s = this.style;
    const what = this.labelOf(t);
    if (retryInMs !== undefined) return `${s.yellow('↻')} ${what}: ${message ?? 'failed'}; retry in ${formatDuration(retryInMs)}`;
    switch (status) {
      case 'succeeded': {
        const took = t.startedAt !== null && t.endedAt !== null ? ` ${s.dim(`(${formatDuration(t.endedAt - t.startedAt)})`)}` : '';
        return `${s.green('✓')} ${what}${message ? `: ${message}` : took}`;
      }
      case 'failed':
        return `${s.red('✗')} ${what}: ${message ?? 'failed'}`;
      case 'skipped':
        return `${s.dim('-')} ${what} skipped${message ? `: ${message}` : ''}`;
      case 'canceled':
        return `${s.dim('-')} ${what} canceled`;
      default:
        return null; // running, pending: the progress line shows them
    }
  }

  private labelOf(t: StoredTask): string {
    let l = this.labels.get(t.id);
    if (l === undefined) this.labels.set(t.id, (l = taskLabel(t)));
    return l;
  }

  private set(id: string, status: TaskStatus): void {
    const before = this.status.get(id);
    if (before === status) return;
    if (before !== undefined) this.counts[before]--;
    this.counts[status]++;
    this.status.set(id, status);
    if (status === 'succeeded' || status === 'failed' || status === 'skipped' || status === 'canceled') this.finishedHere++;
  }

  private write(stream: NodeJS.WriteStream, line: string): void {
    this.clear();
    stream.write(line + '\n');
    this.scheduleDraw();
  }

  private scheduleDraw(): void {
    if (!this.progress || this.redraw || this.ticker === null) return;
    this.redraw = setTimeout(() => {
      this.redraw = null;
      this.draw();
    }, 100);
    this.redraw.unref();
  }

  /** `[ 37/120 ] 2 running · 1 failed · eta 3m`, rewritten in place. */
  private draw(): void {
    if (!this.progress || this.ticker === null) return;
    const c = this.counts;
    const total = this.status.size;
    const done = c.succeeded + c.failed + c.skipped + c.canceled;
    // Slurm jobs waiting in the cluster's queue are counted apart from those running.
    const parts = this.queued.size > 0 ? [`${c.running - this.queued.size} running`, this.queued.describe()] : [`${c.running} running`];
    if (c.failed > 0) parts.push(`${c.failed} failed`);
    if (c.skipped > 0) parts.push(`${c.skipped} skipped`);
    if (this.finishedHere > 0 && done < total) {
      const perTask = (Date.now() - this.started) / this.finishedHere;
      parts.push(`eta ${formatEta(perTask * (total - done))}`);
    }
    const width = String(total).length;
    const text = `[ ${String(done).padStart(width)}/${total} ] ${parts.join(' · ')}`;
    // Never wider than the terminal: a wrapped line cannot be rewritten with \r.
    const cols = process.stderr.columns;
    const max = cols !== undefined && cols > 10 ? cols - 1 : Infinity;
    process.stderr.write(`\r\u001b[2K${text.length > max ? text.slice(0, max) : text}`);
    this.shown = true;
  }

  private clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\u001b[2K');
    this.shown = false;
  }
}
