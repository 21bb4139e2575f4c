import type { Command } from 'commander';
import { planJson, printPlan } from '../backfill-run.ts';
import { action, type CliContext } from '../context.ts';
import { printJson } from '../output.ts';
import { RANGE_SEPARATOR } from '../../core/select/resolve.ts';
import { EXIT_FAILURE, EXIT_OK } from '../output.ts';
import { tooBig } from '../../core/run/runner.ts';
import {
  addSelectionOptions,
  overBudget,
  parseCapacity,
  parseConcurrency,
  parseMaxCost,
  planSelection,
  type SelectionOptions,
} from '../selection.ts';

export function register(program: Command): void {
  addSelectionOptions(
    program
      .command('plan')
      .description('show the tasks a backfill of the selection would run, without running anything')
      .argument('<assets...>', 'asset names, group:NAME (every asset of a group), NAME+ (the asset and everything downstream)'),
  )
    .option('--concurrency <n>', 'tasks at once, for the time estimate (default: the number of CPU cores)')
    .option(
      '--max-cost <n>',
      "the most the backfill may cost, in the workspace's cost_unit (default: its budget:); a plan estimated above it is refused",
    )
    .option('--max-cpus <n>', "cores the running tasks' declared resources may add up to, for the estimate (default: this machine's)")
    .option('--max-memory <size>', "memory the running tasks' declared resources may add up to, e.g. 12GiB (default: this machine's)")
    .addHelpText(
      'after',
      `
Without partition options every partition of each asset is selected. --from and --to take keys
of each asset; for time partitions a value that is not a key is an ISO date/time, and the
partitions whose window starts within [from, to] are selected. --only keeps the selected
partitions with those statuses (the downstream ones are always added).
In JSON: {"backfill": {"tasks": [{"id", "asset", "partitions", "command", "after"}],
"summary": {"tasks", "partitions", "assets", "estimated_seconds", "time", "cost", "resources"}},
"assets", "warnings"}}.
The time is the runner's schedule simulated (concurrency, pools, resources) with each task taking
its asset's median past duration; the range, with the 10th and 90th percentile. The cost is
estimated per asset from its past runs' costs (median, 10th–90th percentile), else from its
declared cost: rate, else unknown; an estimate above --max-cost exits with status 1. With
declared resources, the plan shows the peak cores and memory of the tasks running at once.

Examples:
  $ backfill plan raw_events+ --from 2024-03-01 --to 2024-03-07
  $ backfill plan group:clean --only missing,failed
  $ backfill plan sessions --partition 2024-03-01${RANGE_SEPARATOR}2024-03-03 --json`,
    )
    .action(action(plan));
}

interface PlanOptions extends SelectionOptions {
  concurrency?: string;
  maxCost?: string;
  maxCpus?: string;
  maxMemory?: string;
}

async function plan(ctx: CliContext, words: string[], options: PlanOptions): Promise<number> {
  const concurrency = parseConcurrency(options.concurrency);
  const maxCost = parseMaxCost(options.maxCost);
  const capacity = parseCapacity(options);
  const ws = await ctx.workspace();
  const planned = await planSelection(ctx, ws, words, options, concurrency, capacity);
  if (ctx.json) printJson(planJson(ws, planned));
  else printPlan(ctx, ws, planned, concurrency);
  const big = tooBig(new Set(planned.assets.map((a) => ws.assets.get(a.asset)!)), capacity, ws.root);
  if (big.length > 0) {
    ctx.refuse(`${big.join('; ')}: backfill run would refuse this plan`);
    return EXIT_FAILURE;
  }
  const over = overBudget(planned, maxCost ?? ws.budget, maxCost === undefined);
  if (over) ctx.refuse(over);
  return over ? EXIT_FAILURE : EXIT_OK;
}
