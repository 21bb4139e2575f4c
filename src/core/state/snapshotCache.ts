/**
 * The latest states of a workspace's assets read from a team database and kept: a notification
 * (LISTEN) names the assets another machine changed, and only those are read again. What the
 * editor computes statuses from, so that a colleague's result costs one asset's read, not the
 * whole project's.
 */
import type { PostgresStore } from './postgres.ts';
import { AssetSnapshot } from './snapshot.ts';
import type { SnapshotSource } from './staleness.ts';

export class SnapshotCache implements SnapshotSource {
  private readonly snaps = new Map<string, AssetSnapshot>();
  /** Assets changed since they were read ('all': after a reconnect, anything may have). */
  private changed: Set<string> | 'all' = 'all';

  constructor(private readonly store: PostgresStore) {}

  /** Some assets changed (null: anything may have, e.g. after the connection was lost). */
  invalidate(assets: readonly string[] | null): void {
    if (assets === null) this.changed = 'all';
    else if (this.changed !== 'all') for (const a of assets) this.changed.add(a);
  }

  /** Reads the assets among `assets` that changed or were never read; returns how many were read. */
  async refresh(assets: readonly string[]): Promise<number> {
    const changed = this.changed;
    this.changed = new Set();
    const need = changed === 'all' ? [...assets] : assets.filter((a) => changed.has(a) || !this.snaps.has(a));
    if (need.length === 0) return 0;
    try {
      for (const [asset, snap] of await this.store.snapshots(need)) this.snaps.set(asset, snap);
    } catch (e) {
      // Not read: still to be read next time (with whatever changed meanwhile).
      if (changed === 'all') this.changed = 'all';
      else this.invalidate(need);
      throw e;
    }
    return need.length;
  }

  snapshot(asset: string): AssetSnapshot {
    return this.snaps.get(asset) ?? AssetSnapshot.empty();
  }
}
