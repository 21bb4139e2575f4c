import type { Command } from 'commander';
import { formatCost } from '../../core/cost/units.ts';
import type { BackfillRecord, BackfillStatus } from '../../core/state/backfills.ts';
import { action, type CliContext } from '../context.ts';
import { columns, formatInstant, printJson, type Style } from '../output.ts';
import { parsePositive } from '../selection.ts';

const DEFAULT_LIMIT = 50;

export function register(program: Command): void {
  program
    .command('backfills')
    .description('list stored backfills, newest first')
    .option('--limit <n>', `how many at most (default: ${DEFAULT_LIMIT})`)
    .addHelpText(
      'after',
      `
A backfill whose process died (killed, crashed, machine restarted) is shown as interrupted:
backfill resume runs what is left. Progress is succeeded tasks of all tasks.
In JSON: {"backfills": [{"id", "status", "created", "description", "counts": {"succeeded",
"failed", "skipped", "canceled", "running", "pending"}, "partitions": {same keys}, "spent_cost",
"max_cost", "executor", "slurm_jobs", "owner"}]}; spent_cost is what its attempts cost so far (null when none
has a cost); executor is its --executor (null: each asset's); slurm_jobs the Slurm jobs of its
running tasks (array elements, 1234_5), which outlive its process; owner who ran it (user@host,
on a team database; else null); status is
running, paused, interrupted, succeeded, failed or canceled; counts are tasks, partitions the
partitions of those tasks.

Examples:
  $ backfill backfills
  $ backfill backfills --json | jq '.backfills[] | select(.status == "failed") | .id'`,
    )
    .action(action(backfills));
}

interface BackfillsOptions {
  limit?: string;
}

async function backfills(ctx: CliContext, options: BackfillsOptions): Promise<void> {
  const limit = options.limit === undefined ? DEFAULT_LIMIT : parsePositive('--limit', options.limit);
  const ws = await ctx.workspace({ announceErrors: false });
  const state = await ctx.runState(ws);
  // Dead runners first become interrupted, so that nothing looks like it is still running.
  await state.recoverInterrupted();
  const list = await state.list(limit);
  const costs: Array<{ spent_cost: number | null; max_cost: number | null }> = [];
  for (const b of list) costs.push(await spending(b));
  if (ctx.json) {
    const jobs: string[][] = [];
    for (const b of list) jobs.push(await state.runningJobs(b.id));
    printJson({
      backfills: list.map((b, i) => ({
        id: b.id,
        status: b.status,
        created: new Date(b.createdAt).toISOString(),
        description: b.description,
        counts: counts(b.counts),
        partitions: counts(b.partitionCounts),
        ...costs[i]!,
        executor: b.options['executor'] ?? null,
        slurm_jobs: jobs[i]!,
        owner: b.owner ?? null,
      })),
    });
    return;
  }
  if (list.length === 0) {
    ctx.print('no backfills yet (backfill run starts one)');
    return;
  }
  const s = ctx.style;
  // A cost column once some backfill has a known cost; who ran each on a team database.
  const withCost = costs.some((c) => c.spent_cost !== null);
  const team = list.some((b) => b.owner !== undefined);
  const header = ['id', 'status', 'progress', ...(withCost ? ['cost'] : []), ...(team ? ['by'] : []), 'created', 'description'].map((h) =>
    s.dim(h),
  );
  const rows = list.map((b, i) => {
    const total = Object.values(b.counts).reduce((a, n) => a + n, 0);
    const c = costs[i]!;
    const cost =
      c.spent_cost === null
        ? ''
        : `${formatCost(c.spent_cost, ws.costUnit)}${c.max_cost !== null ? ` of ${formatCost(c.max_cost, undefined)}` : ''}`;
    return [
      b.id,
      colourBackfill(s, b.status),
      `${b.counts.succeeded}/${total}`,
      ...(withCost ? [cost] : []),
      ...(team ? [b.owner ?? ''] : []),
      formatInstant(new Date(b.createdAt)),
      b.description,
    ];
  });
  ctx.print(...columns([header, ...rows]));
  if (list.length === limit) ctx.print(s.dim(`(the latest ${limit}: --limit N shows more)`));

  async function spending(b: BackfillRecord): Promise<{ spent_cost: number | null; max_cost: number | null }> {
    const { spent } = await state.spentCost(b.id);
    const max = b.options['maxCost'];
    return { spent_cost: (await state.hasCost(b.id)) ? spent : null, max_cost: typeof max === 'number' ? max : null };
  }
}

function counts(c: BackfillRecord['counts']): Record<string, number> {
  return { succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, canceled: c.canceled, running: c.running, pending: c.pending };
}

function colourBackfill(s: Style, status: BackfillStatus): string {
  switch (status) {
    case 'succeeded':
      return s.green(status);
    case 'failed':
      return s.red(status);
    case 'running':
      return s.cyan(status);
    case 'paused':
    case 'interrupted':
      return s.yellow(status);
    default:
      return s.dim(status);
  }
}
