/**
 * Copying the history of one state database into another (`backfill state copy`): SQLite to a
 * team's PostgreSQL and back. Every attempt is copied with all its fields, in order, with the
 * order of its sequences kept, so that every partition's status comes out the same; the caller
 * checks that by computing statuses on both sides.
 */
import { UserError } from '../diagnostics.ts';
import type { PostgresStore } from './postgres.ts';
import type { AssetSnapshot } from './snapshot.ts';
import type { SnapshotSource } from './staleness.ts';
import { StateStore } from './store.ts';

/** Either kind of state store. */
export type AnyStore = StateStore | PostgresStore;

/** Attempts read and written per round (one transaction each). */
const BATCH = 2000;

export interface CopyResult {
  attempts: number;
  assets: number;
}

/** Where a store is, for messages: the file, or the URL without its password. */
export function describeStore(s: AnyStore): string {
  return s instanceof StateStore ? s.path : s.location;
}

/**
 * Copies every attempt of `from` into `to`, which must have none yet (for its project): a copy
 * never records anything twice. Refuses a source with attempts still running (a backfill in
 * progress, or Slurm jobs a resume would re-attach to): their outcome would be lost.
 */
export async function copyAttempts(from: AnyStore, to: AnyStore): Promise<CopyResult> {
  const present = await to.recordedAssets();
  if (present.length > 0)
    throw new UserError(
      `${describeStore(to)} already has a history for this project (${present.length} asset${present.length === 1 ? '' : 's'}, e.g. ${present[0]}): copy into an empty state database, so that nothing is recorded twice — nothing was copied`,
    );
  const running = await from.runningAttempts();
  if (running > 0)
    throw new UserError(
      `${describeStore(from)} has ${running} attempt${running === 1 ? '' : 's'} still running: let the backfill finish (or cancel it, backfill cancel), then copy — nothing was copied`,
    );
  const offset = to instanceof StateStore ? to.sequence : await to.sequence();
  let attempts = 0;
  const assets = new Set<string>();
  for (let after = 0; ;) {
    const page = await from.attemptsAfter(after, BATCH);
    if (page.length === 0) break;
    await to.importAttempts(page, offset);
    for (const a of page) assets.add(a.asset);
    attempts += page.length;
    after = page.at(-1)!.id;
  }
  return { attempts, assets: assets.size };
}

/** The latest states of `assets` from either store, read now, for computing statuses. */
export async function snapshotsOf(store: AnyStore, assets: readonly string[]): Promise<SnapshotSource> {
  if (store instanceof StateStore) return store;
  const snaps = await store.snapshots(assets);
  return {
    snapshot: (asset: string): AssetSnapshot => {
      const s = snaps.get(asset);
      if (!s) throw new Error(`internal: the snapshot of ${asset} was not read`);
      return s;
    },
  };
}
