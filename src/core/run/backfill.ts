import { randomBytes } from 'node:crypto';
import { scancel } from './slurm.ts';
import { UserError } from '../diagnostics.ts';
import type { BackfillPlan } from '../plan/planner.ts';
import { BackfillStore, processIsAlive } from '../state/backfills.ts';
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
export function saveBackfill(
  store: StateStore,
  plan: BackfillPlan,
  info: { description: string; workspace: string; options: Record<string, unknown> },
): string {
  new BackfillStore(store).create({
    id: plan.runId,
    createdAt: Date.now(),
    description: info.description,
    workspace: info.workspace,
    options: info.options,
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
export function prepareResume(store: StateStore, idOrPrefix: string, options: { only?: 'failed' } = {}): string {
  const backfills = new BackfillStore(store);
  const id = backfills.resolve(idOrPrefix);
  if (!id) throw new UserError(`no backfill "${idOrPrefix}" (backfill backfills lists them)`);
  const b = backfills.get(id)!;
  if (b.status === 'running') {
    if (b.pid !== null && b.pid !== process.pid && processIsAlive(b.pid)) {
      throw new UserError(`backfill ${id} is still running (process ${b.pid}); cancel it first with backfill cancel ${id}`);
    }
    store.transaction(() => backfills.interrupt(id));
  }
  backfills.reset(id, options.only === 'failed' ? ['failed', 'skipped'] : ['failed', 'skipped', 'canceled', 'running']);
  return id;
}

/**
 * Asks a backfill to stop. A live runner notices within a second, kills its commands (cancels
 * its Slurm jobs) and marks the tasks canceled; for a backfill whose process is gone, its Slurm
 * jobs (which outlive it) are canceled here and it is marked canceled.
 */
export async function requestCancel(store: StateStore, idOrPrefix: string): Promise<{ id: string; jobs: string[] }> {
  const backfills = new BackfillStore(store);
  const id = backfills.resolve(idOrPrefix);
  if (!id) throw new UserError(`no backfill "${idOrPrefix}" (backfill backfills lists them)`);
  const b = backfills.get(id)!;
  if (b.status === 'succeeded') throw new UserError(`backfill ${id} already succeeded`);
  const gone = b.status !== 'running' || b.pid === null || !processIsAlive(b.pid);
  const jobs = gone ? backfills.runningJobs(id) : [];
  if (jobs.length > 0) await scancel(jobs);
  store.transaction(() => {
    if (b.status === 'running' && gone) backfills.interrupt(id);
    if (jobs.length > 0) backfills.cancelJobTasks(id);
    backfills.setStatus(id, 'canceled');
  });
  return { id, jobs };
}
