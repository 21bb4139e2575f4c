import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.ts';
import { tooBig } from '../../core/run/runner.ts';
import { checkSlurm, slurmAssets } from '../../core/run/slurm.ts';
import { shellQuote } from '../../core/plan/command.ts';
import { saveBackfill } from '../../core/run/backfill.ts';
import { planJson, printPlan, runStored } from '../backfill-run.ts';
import { action, type CliContext, type GlobalOptions } from '../context.ts';
import { EXIT_FAILURE, plural, printJson } from '../output.ts';
import {
  addSelectionOptions,
  describeSelection,
  overBudget,
  parseCapacity,
  parseConcurrency,
  parseExecutor,
  parseMaxCost,
  parsePositive,
  planSelection,
  type SelectionOptions,
} from '../selection.ts';

export function register(program: Command): void {
  addSelectionOptions(
    program
      .command('run')
      .description('plan a backfill of the selection, store it and run it')
      .argument('<assets...>', 'asset names, group:NAME (every asset of a group), NAME+ (the asset and everything downstream)'),
  )
    .option('--concurrency <n>', 'tasks at once (default: the number of CPU cores)')
    .option(
      '--max-cost <n>',
      "the most the backfill may cost, in the workspace's cost_unit (default: its budget:): refused when estimated above it; stops starting tasks (paused) when it would be exceeded",
    )
    .option('--max-cpus <n>', "cores the running tasks' declared resources may add up to (default: this machine's)")
    .option('--max-memory <size>', "memory the running tasks' declared resources may add up to, e.g. 12GiB (default: this machine's)")
    .option(
      '--executor <name>',
      "where every task runs: local (child processes here) or slurm (jobs of the Slurm cluster); default: each asset's executor:",
    )
    .option('--sample <n>', 'run only N partitions per asset (first, last, spread between) with what they need, then pause')
    .option('--dry-run', 'print the plan (as backfill plan does) and run nothing')
    .addHelpText(
      'after',
      `
The selection is the same as for backfill plan. Each line a command prints is shown prefixed
with its task ("asset partition │ "); its full output is kept in a log file under the state
folder. Ctrl-C (or SIGTERM, SIGHUP, or the reader of its output going away) cancels: running commands are stopped; a second Ctrl-C exits at once.
Exit status: 0 when every task succeeded, 3 when a --sample run paused (backfill resume runs the
rest), 1 when a task failed or the backfill was canceled, 2 for bad input.
In JSON only the final report is printed: {"backfill": {"id", "status", "counts", "duration_ms", "failed"}}.

Examples:
  $ backfill run raw_events+ --from 2024-03-01 --to 2024-03-07
  $ backfill run group:clean --only missing,failed --concurrency 4
  $ backfill run sessions --sample 3`,
    )
    .action(action(run));
}

interface RunOptions extends SelectionOptions {
  concurrency?: string;
  maxCost?: string;
  maxCpus?: string;
  maxMemory?: string;
  sample?: string;
  dryRun?: boolean;
  executor?: string;
}

async function run(ctx: CliContext, words: string[], options: RunOptions): Promise<number> {
  const concurrency = parseConcurrency(options.concurrency);
  const sample = options.sample === undefined ? undefined : parsePositive('--sample', options.sample);
  const givenMax = parseMaxCost(options.maxCost);
  const capacity = parseCapacity(options);
  const executor = parseExecutor(options.executor);
  const ws = await ctx.workspace();
  const maxCost = givenMax ?? ws.budget;
  const planned = await planSelection(ctx, ws, words, options, concurrency, capacity);
  // A sample runs a few partitions: the whole plan's estimate does not stop it (the budget still holds while it runs).
  const over = sample === undefined ? overBudget(planned, maxCost, givenMax === undefined) : null;
  if (over && options.dryRun !== true) {
    if (!ctx.json) printPlan(ctx, ws, planned, concurrency);
    ctx.refuse(over);
    return EXIT_FAILURE;
  }
  if (options.dryRun === true) {
    if (ctx.json) printJson(planJson(ws, planned));
    else printPlan(ctx, ws, planned, concurrency);
    return 0;
  }
  const big = tooBig(new Set(planned.assets.map((a) => ws.assets.get(a.asset)!)), capacity, ws.root);
  if (big.length > 0) throw new UserError(`${big.join('; ')}: nothing was started`);
  // Slurm answers and accepts each asset's settings, or nothing is stored or submitted.
  const onSlurm = slurmAssets(
    ws.assets,
    planned.assets.map((a) => a.asset),
    executor,
  );
  if (onSlurm.length > 0) await checkSlurm(onSlurm, ws.root);
  const state = await ctx.runState(ws);
  const description = describeSelection(words, options);
  const id = await saveBackfill(state, planned, {
    description,
    workspace: ws.root,
    options: {
      concurrency,
      ...(sample !== undefined ? { sample } : {}),
      ...(maxCost !== undefined ? { maxCost } : {}),
      ...(executor !== undefined ? { executor } : {}),
      now: ctx.now.toISOString(),
    },
  });
  for (const w of planned.warnings) ctx.warn(w);
  if (!ctx.json) {
    const { summary } = planned;
    ctx.print(
      `backfill ${id}: ${plural(summary.tasks, 'task')}, ${plural(summary.partitions, 'partition')} of ${plural(summary.assets, 'asset')}, concurrency ${concurrency}${sample !== undefined ? `, sample ${sample} per asset` : ''}`,
    );
  }
  return runStored(ctx, ws, state, id, {
    concurrency,
    ...(sample !== undefined ? { sample } : {}),
    ...(maxCost !== undefined ? { maxCost } : {}),
    capacity,
    ...(executor !== undefined ? { executor } : {}),
    hintOptions: hintOptions(ctx),
  });
}

/** `--workspace`/`--state` as given on this command line, for the `resume with:` hint. */
export function hintOptions(ctx: CliContext): string[] {
  const given: GlobalOptions = ctx.options;
  const out: string[] = [];
  if (given.workspace !== undefined) out.push('--workspace', shellQuote(given.workspace));
  if (given.state !== undefined) out.push('--state', shellQuote(given.state));
  return out;
}
