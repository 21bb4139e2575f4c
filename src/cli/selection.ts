import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { formatCost, parseMemory } from '../core/cost/units.ts';
import { machineCapacity, type Capacity } from '../core/run/runner.ts';
import { UserError } from '../core/diagnostics.ts';
import { planWithHistory, type BackfillPlan } from '../core/plan/planner.ts';
import { newBackfillId } from '../core/run/backfill.ts';
import { RANGE_SEPARATOR } from '../core/select/resolve.ts';
import { buildSelection, ONLY_STATUSES, type SelectionOptions } from '../core/select/selection.ts';
import type { BackfillRecord } from '../core/state/backfills.ts';
import type { RunState } from '../core/state/runState.ts';
import type { Workspace } from '../core/workspace.ts';
import { EXECUTORS, type ExecutorName } from '../core/model.ts';
import type { CliContext } from './context.ts';

export { buildSelection, ONLY_STATUSES, parseOnly, rangeOf, resolveWords, type SelectionOptions } from '../core/select/selection.ts';

// The selection shared by `backfill plan` and `backfill run`: asset words (names, `group:NAME`,
// `NAME+`), which partitions (--from/--to, --partition, or all), --only and --downstream.

/** Adds the selection's options to `plan` and `run`. */
export function addSelectionOptions(command: Command): Command {
  return command
    .option('--from <key>', 'first partition (inclusive): a key of each asset, or for time partitions an ISO date/time')
    .option('--to <key>', 'last partition (inclusive): a key of each asset, or for time partitions an ISO date/time')
    .option('--partition <key>', `a partition key or an inclusive range FIRST${RANGE_SEPARATOR}LAST of each asset; repeatable`, collect, [])
    .option('--only <statuses>', `only partitions with these statuses, comma-separated: ${ONLY_STATUSES.join(', ')}`)
    .option('--downstream', 'also every downstream partition that depends on the selected ones')
    .option(
      '--with-missing-upstream',
      'also the missing or failed upstream partitions that the planned tasks read (and theirs), so those tasks do not fail',
    )
    .option(
      '--skip-running',
      'leave out the partitions another backfill is running now (on any machine, with a team database) and what depends on them, instead of waiting for them',
    );
}

/** `--executor local|slurm`: where every task of the backfill runs (default: each asset's `executor:`). */
export function parseExecutor(text: string | undefined): ExecutorName | undefined {
  if (text === undefined) return undefined;
  if (!(EXECUTORS as readonly string[]).includes(text))
    throw new UserError(`invalid --executor "${text}": expected ${EXECUTORS.join(' or ')}`);
  return text as ExecutorName;
}

/** The most tasks at once `--concurrency` accepts (far beyond what one machine runs well). */
export const MAX_CONCURRENCY = 10_000;

/** `--concurrency N` (default: the number of CPU cores). */
export function parseConcurrency(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  return parsePositive('--concurrency', text, MAX_CONCURRENCY);
}

/**
 * The stored backfill an id or unique prefix names, refused (UserError) when empty, unknown, or
 * finished so that `verb` (resume, cancel) has nothing to do.
 */
export async function resolveStoredBackfill(state: RunState, prefix: string, verb: 'resume' | 'cancel'): Promise<BackfillRecord> {
  if (prefix.trim() === '') throw new UserError(`${verb} needs a backfill id (backfill backfills lists them)`);
  const id = await state.resolve(prefix);
  const record = id === null ? null : await state.get(id);
  if (!record) throw new UserError(`no backfill "${prefix}" (backfill backfills lists them)`);
  const finished = verb === 'resume' ? ['succeeded'] : ['succeeded', 'failed', 'canceled'];
  if (finished.includes(record.status)) {
    const hint = record.status === 'succeeded' ? 'nothing to ' + verb : `backfill resume ${record.id} runs what did not succeed`;
    throw new UserError(`backfill ${record.id} already ${record.status}: ${hint}`);
  }
  return record;
}

/** A whole number from 1 to `max`, or a UserError naming the option. */
export function parsePositive(option: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'of at least 1' : `from 1 to ${max.toLocaleString('en-US')}`;
    throw new UserError(`invalid ${option} "${text}": expected a whole number ${range}`);
  }
  return Number(text);
}

/** `--max-cpus N` and `--max-memory SIZE` over this machine's cores and memory. */
export function parseCapacity(options: { maxCpus?: string; maxMemory?: string }): Capacity {
  const capacity = machineCapacity();
  if (options.maxCpus !== undefined) {
    const n = Number(options.maxCpus.trim());
    if (options.maxCpus.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new UserError(`invalid --max-cpus "${options.maxCpus}": expected a number of cores > 0`);
    capacity.cpus = n;
  }
  if (options.maxMemory !== undefined) {
    const bytes = parseMemory(options.maxMemory);
    if (bytes === null) throw new UserError(`invalid --max-memory "${options.maxMemory}": expected a size such as 16GiB or 8000MB`);
    capacity.memory = bytes;
  }
  return capacity;
}

/** `--max-cost N`: a number > 0 in the workspace's cost unit. */
export function parseMaxCost(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw new UserError(`invalid --max-cost "${text}": expected a number > 0 (in the workspace's cost_unit)`);
  return value;
}

/**
 * The plan's estimate against the budget (--max-cost, else the workspace's `budget:`): a
 * message naming the numbers when the expected cost exceeds it, else null.
 */
export function overBudget(plan: BackfillPlan, budget: number | undefined, fromWorkspace: boolean): string | null {
  if (budget === undefined) return null;
  const c = plan.summary.cost;
  if (c.expected <= budget + 1e-9) return null;
  const u = c.unit ?? undefined;
  const what = fromWorkspace ? `the workspace's budget: ${formatCost(budget, u)}` : `--max-cost ${formatCost(budget, u)}`;
  const unknown = c.unknown.length ? ` (not counting ${c.unknown.join(', ')}, whose cost is unknown)` : '';
  return `the estimated cost ~${formatCost(c.expected, u)}${unknown} exceeds ${what}: nothing was started. Raise --max-cost, select fewer partitions, or start small with --sample N`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The selection words and options as written, to describe a stored backfill. */
export function describeSelection(words: readonly string[], options: SelectionOptions): string {
  const parts = [...words];
  if (options.from !== undefined) parts.push('--from', options.from);
  if (options.to !== undefined) parts.push('--to', options.to);
  for (const p of options.partition) parts.push('--partition', p);
  if (options.only !== undefined) parts.push('--only', options.only);
  if (options.downstream === true) parts.push('--downstream');
  if (options.withMissingUpstream === true) parts.push('--with-missing-upstream');
  if (options.skipRunning === true) parts.push('--skip-running');
  return parts.join(' ');
}

/**
 * Plans the selection: statuses from the state database (for --only and the warnings about
 * upstream partitions that are not materialized), durations from its history.
 */
export async function planSelection(
  ctx: CliContext,
  ws: Workspace,
  words: readonly string[],
  options: SelectionOptions,
  concurrency: number,
  capacity: Capacity,
): Promise<BackfillPlan> {
  const selection = buildSelection(ws, words, options, ctx.now);
  const { engine } = await ctx.status(ws);
  return planWithHistory(ws, await ctx.runState(ws), selection, { runId: newBackfillId(), concurrency, capacity, statuses: engine });
}
