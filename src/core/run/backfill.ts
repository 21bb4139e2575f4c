import { randomBytes } from 'node:crypto';
import { scancel } from './slurm.ts';
import { UserError } from '../diagnostics.ts';
import type { BackfillPlan } from '../plan/planner.ts';
import { runStateOf, type RunState } from '../state/runState.ts';
import type { StateStore } from '../state/store.ts';

/** `asset 2024-01-01`, `asset 2024-01-01…2024-01-07`, `asset` (unpartitioned): a task in output lines, the same in the CLI and the editor. */
export function taskLabel(t: { asset: string; partitions: readonly string[] }): string {
  const p = t.partitions;
  if (p.length === 0) return t.asset;
  return p.length === 1 ? `${t.asset} ${p[0]}` : `${t.asset} ${p[0]}…${p[p.length - 1]}`;
}

/** A new backfill id: sortable by time, unique enough to type a prefix of (`bf-20240301-101500-3fa2`). */
export function newBackfillId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `bf-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Stores a plan as a new backfill (all tasks pending). */
export async function saveBackfill(
  store: StateStore | RunState,
  plan: BackfillPlan,
  info: { description: string; workspace: string; options: Record<string, unknown> },
): Promise<string> {
  const state = runStateOf(store);
  // What another run builds after this moment is not built again by this backfill (runner.ts).
  const plannedAt = await state.sequence();
  await state.create({
    id: plan.runId,
    createdAt: Date.now(),
    description: info.description,
    workspace: info.workspace,
    options: { ...info.options, plannedAt },
    pid: process.pid,
    tasks: plan.tasks.map((t) => ({
      id: t.id,
      asset: t.asset,
      partitions: t.partitions,
      command: t.command,
      cwd: t.cwd,
      env: t.env,
      after: t.after,
    })),
  });
  return plan.runId;
}

/**
 * Makes a stored backfill ready to run again: refuses while another live process runs it;
 * otherwise every task that did not succeed (failed, skipped, canceled, or running when its
 * process died) goes back to pending. Succeeded tasks never run again.
 */
export async function prepareResume(store: StateStore | RunState, idOrPrefix: string, options: { only?: 'failed' } = {}): Promise<string> {
  const state = runStateOf(store);
  const id = await state.resolve(idOrPrefix);
  if (!id) throw new UserError(`no backfill "${idOrPrefix}" (backfill backfills lists them)`);
  const b = (await state.get(id))!;
  if (b.status === 'running') {
    if (b.pid !== process.pid && state.alive(b)) {
      throw new UserError(
        `backfill ${id} is still running (${b.host && b.owner ? `by ${b.owner}, ` : ''}process ${b.pid}); cancel it first with backfill cancel ${id}`,
      );
    }
    await state.interrupt(id);
  }
  await state.reset(id, options.only === 'failed' ? ['failed', 'skipped'] : ['failed', 'skipped', 'canceled', 'running']);
  return id;
}

/**
 * Asks a backfill to stop. A live runner notices within a second, kills its commands (cancels
 * its Slurm jobs) and marks the tasks canceled; for a backfill whose process is gone, its Slurm
 * jobs (which outlive it) are canceled here and it is marked canceled.
 */
export async function requestCancel(store: StateStore | RunState, idOrPrefix: string): Promise<{ id: string; jobs: string[] }> {
  const state = runStateOf(store);
  const id = await state.resolve(idOrPrefix);
  if (!id) throw new UserError(`no backfill "${idOrPrefix}" (backfill backfills lists them)`);
  const b = (await state.get(id))!;
  if (b.status === 'succeeded') throw new UserError(`backfill ${id} already succeeded`);
  const gone = b.status !== 'running' || !state.alive(b);
  const jobs = gone ? await state.runningJobs(id) : [];
  if (jobs.length > 0) await scancel(jobs);
  if (b.status === 'running' && gone) await state.interrupt(id);
  if (jobs.length > 0) await state.cancelJobTasks(id);
  await state.setStatus(id, 'canceled');
  return { id, jobs };
}
