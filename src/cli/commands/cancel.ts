import type { Command } from 'commander';
import { requestCancel } from '../../core/run/backfill.ts';
import { action, type CliContext } from '../context.ts';
import { printJson } from '../output.ts';
import { resolveStoredBackfill } from '../selection.ts';

export function register(program: Command): void {
  program
    .command('cancel')
    .description('stop a running backfill (from another terminal)')
    .argument('<id>', 'backfill id, or a unique prefix of one (backfill backfills lists them)')
    .addHelpText(
      'after',
      `
The process running the backfill notices within a second, stops its commands and marks their
tasks canceled; a backfill whose process is gone is marked canceled at once. Either way
backfill resume runs what is left.
In JSON: {"cancel_requested": {"id"}}.

Examples:
  $ backfill cancel bf-20240301-101500-3fa2
  $ backfill cancel bf-2024`,
    )
    .action(action(cancel));
}

async function cancel(ctx: CliContext, prefix: string): Promise<void> {
  const ws = await ctx.workspace({ announceErrors: false });
  const state = await ctx.runState(ws);
  const { id, jobs } = await requestCancel(state, (await resolveStoredBackfill(state, prefix, 'cancel')).id);
  if (ctx.json) printJson({ cancel_requested: { id, slurm_jobs: jobs } });
  else ctx.print(`cancel requested for ${id}${jobs.length ? `; canceled its Slurm jobs ${jobs.join(' ')}` : ''}`);
}
