import * as path from 'node:path';
import type { AssetDefinition } from '../model.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import type { Workspace } from '../workspace.ts';
import { snapshotsOf, type AnyStore } from './copy.ts';
import { F, type AssetSnapshot } from './snapshot.ts';
import type { SnapshotSource } from './staleness.ts';
import type { AttemptInput, AttemptStatus, InputVersions, StateStore } from './store.ts';
import { codeVersion, defaultDataVersion, dependencySet, SourceHashCache } from './versions.ts';

/** `<workspace>/.backfill/state.db` unless a path is given (relative to the workspace). */
export function statePath(root: string, override?: string): string {
  return override ? path.resolve(root, override) : path.join(root, '.backfill', 'state.db');
}

/** The current data versions of the upstream partitions that partition `index` of `asset` reads. */
export function inputVersions(
  ws: Workspace,
  store: SnapshotSource,
  asset: AssetDefinition,
  index: number,
  snapshots = new Map<string, AssetSnapshot>(),
): InputVersions {
  const inputs: InputVersions = {};
  for (const dep of asset.deps) {
    const up = ws.assets.get(dep.asset);
    if (!up) continue;
    let snap = snapshots.get(up.name);
    if (!snap) snapshots.set(up.name, (snap = store.snapshot(up.name)));
    const read = dep.mapping.upstreamFor(PartitionSubset.range(index, index + 1)).partitions;
    const versions: Record<string, string> = {};
    for (const u of read) {
      const key = up.partitions.keyAt(u);
      const r = snap.index.get(key);
      const v = r === undefined ? null : snap.string(r, F.successDataVersion);
      if (v !== null) versions[key] = v;
    }
    inputs[dep.asset] = versions;
  }
  return inputs;
}

export interface RecordOptions {
  status?: Exclude<AttemptStatus, 'running'>;
  dataVersion?: string;
  metadata?: Record<string, unknown>;
  runId?: string;
  at: number;
}

/**
 * Records materializations done outside Backfill (and sets up state in tests): each with the
 * asset's current code version, dependency set and the data versions of what it reads now,
 * so that it is fresh against the current upstream.
 */
export async function recordMaterializations(
  ws: Workspace,
  store: AnyStore,
  asset: AssetDefinition,
  indexes: number[],
  options: RecordOptions,
): Promise<number[]> {
  const code = await codeVersion(asset, new SourceHashCache());
  const deps = dependencySet(asset);
  const snapshots = new Map<string, AssetSnapshot>();
  const upstream = await snapshotsOf(
    store,
    asset.deps.map((d) => d.asset).filter((n) => ws.assets.has(n)),
  );
  const status = options.status ?? 'success';
  const attempts: AttemptInput[] = indexes.map((i) => {
    const inputs = inputVersions(ws, upstream, asset, i, snapshots);
    return {
      asset: asset.name,
      partition: asset.partitions.keyAt(i),
      runId: options.runId ?? null,
      startedAt: options.at,
      endedAt: options.at,
      status,
      codeVersion: code,
      dataVersion: status === 'success' ? (options.dataVersion ?? defaultDataVersion(code, inputs)) : null,
      inputs,
      deps,
      metadata: options.metadata ?? null,
    };
  });
  return await store.record(attempts);
}

/** Lets the store keep partition indexes for the workspace's definitions (see StateStore.setIndexer). */
export function indexStoreFor(ws: Workspace, store: StateStore): void {
  store.setIndexer((name) => {
    const def = ws.assets.get(name)?.partitions;
    return def ? { fingerprint: def.fingerprint(), indexOf: (key) => def.indexOf(key) } : undefined;
  });
}
