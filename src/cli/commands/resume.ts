import type { Command } from 'commander';
import { prepareResume } from '../../core/run/backfill.ts';
import { runStored } from '../backfill-run.ts';
import { action, type CliContext } from '../context.ts';
import { plural } from '../output.ts';
import { parseCapacity, parseConcurrency, parseExecutor, parseMaxCost, resolveStoredBackfill } from '../selection.ts';
import { hintOptions } from './run.ts';

export function register(program: Command): void {
  program
    .command('resume')
    .description('run again what a stored backfill has not done: failed, skipped, canceled and pending tasks')
    .argument('<id>', 'backfill id, or a unique prefix of one (backfill backfills lists them)')
    .option('--concurrency <n>', "tasks at once (default: the backfill's, else the number of CPU cores)")
    .option(
      '--executor <name>',
      "where the tasks run from now on: local or slurm (default: the backfill's, else each asset's executor:); Slurm jobs still running are re-attached to, not run again",
    )
    .option(
      '--max-cost <n>',
      "the most the backfill may cost in all, what earlier runs spent included (default: the backfill's, else the workspace's budget:)",
    )
    .addHelpText(
      'after',
      `
Tasks that succeeded never run again. A backfill still running in another process must be
canceled first (backfill cancel). Output and exit status as for backfill run.

Examples:
  $ backfill resume bf-20240301-101500-3fa2
  $ backfill resume bf-2024 --concurrency 2`,
    )
    .action(action(resume));
}

interface ResumeOptions {
  executor?: string;
  concurrency?: string;
  maxCost?: string;
  maxCpus?: string;
  maxMemory?: string;
}

async function resume(ctx: CliContext, prefix: string, options: ResumeOptions): Promise<number> {
  const givenMax = parseMaxCost(options.maxCost);
  const capacity = parseCapacity(options);
  const givenExecutor = parseExecutor(options.executor);
  const ws = await ctx.workspace();
  const state = await ctx.runState(ws);
  const id = await prepareResume(state, (await resolveStoredBackfill(state, prefix, 'resume')).id);
  const record = (await state.get(id))!;
  const stored = record.options['concurrency'];
  const concurrency =
    options.concurrency === undefined && typeof stored === 'number' && stored >= 1 ? stored : parseConcurrency(options.concurrency);
  const storedMax = record.options['maxCost'];
  const maxCost = givenMax ?? (typeof storedMax === 'number' && storedMax > 0 ? storedMax : ws.budget);
  if (givenMax !== undefined) await state.setOption(id, 'maxCost', givenMax);
  const storedExecutor = record.options['executor'];
  const executor = givenExecutor ?? (storedExecutor === 'local' || storedExecutor === 'slurm' ? storedExecutor : undefined);
  if (givenExecutor !== undefined) await state.setOption(id, 'executor', givenExecutor);
  if (record.workspace !== ws.root) ctx.warn(`backfill ${id} was started in workspace ${record.workspace}, not ${ws.root}`);
  if (!ctx.json) {
    const c = record.counts;
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    ctx.print(
      `resuming ${id} (${record.description}): ${plural(c.pending, 'task')} to run, ${c.running ? `${c.running} still running on Slurm (re-attached), ` : ''}${c.succeeded} of ${total} already succeeded, concurrency ${concurrency}`,
    );
  }
  return runStored(ctx, ws, state, id, {
    concurrency,
    ...(maxCost !== undefined ? { maxCost } : {}),
    capacity,
    ...(executor !== undefined ? { executor } : {}),
    hintOptions: hintOptions(ctx),
  });
}
