import * as path from 'node:path';
import type { AssetGraph } from '../graph.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import { outputPath } from './observed.ts';
import { F } from './snapshot.ts';
import type { PartitionStatus, StatusEngine } from './staleness.ts';
import type { Attempt, StateStore } from './store.ts';

export interface AttemptSummary {
  id: number;
  run_id: string | null;
  status: string;
  started: string;
  ended: string | null;
  duration_ms: number | null;
  exit_code: number | null;
  code_version: string | null;
  data_version: string | null;
  metadata: Record<string, unknown> | null;
  /** This partition's share of what its task cost (the workspace's cost unit), and where that came from. */
  cost: number | null;
  cost_source: string | null;
}

export type CauseDetail =
  | { cause: 'code'; recorded: string | null; current: string }
  | { cause: 'dependencies'; recorded: string[]; current: string[]; added: string[]; removed: string[] }
  | {
      cause: 'upstream';
      /** Upstream partitions materialized after this partition's latest success started. */
      changed: Array<{
        asset: string;
        partition: string;
        materialized: string | null;
        data_version: string | null;
        read_version: string | null;
      }>;
    }
  | { cause: 'observed'; output: string };

/** The explanation of one partition's status, with the concrete versions behind each cause. */
export interface Explanation {
  asset: string;
  partition: string | null;
  status: PartitionStatus;
  causes: CauseDetail[];
  last_success: AttemptSummary | null;
  last_attempt: AttemptSummary | null;
  /** The expected output file, when the asset declares `output:`. */
  output?: { path: string; exists: boolean };
  /** A sentence for people. */
  summary: string;
}

export function summarizeAttempt(a: Attempt | null): AttemptSummary | null {
  if (!a) return null;
  return {
    id: a.id,
    run_id: a.runId,
    status: a.status,
    started: new Date(a.startedAt).toISOString(),
    ended: a.endedAt === null ? null : new Date(a.endedAt).toISOString(),
    duration_ms: a.durationMs,
    exit_code: a.exitCode,
    code_version: a.codeVersion,
    data_version: a.dataVersion,
    metadata: a.metadata,
    cost: a.cost,
    cost_source: a.costSource,
  };
}

const MAX_LISTED = 50;

export function explain(
  inputs: { graph: AssetGraph; store: Pick<StateStore, 'attempt'>; codeVersions: Map<string, string>; engine: StatusEngine },
  assetName: string,
  index: number,
): Explanation {
  const { graph, store, engine } = inputs;
  const asset = graph.get(assetName)!;
  const st = engine.get(assetName)!;
  const snap = st.snapshot;
  const row = st.rowOf[index]!;
  const key = asset.partitions.kind === 'unpartitioned' ? null : asset.partitions.keyAt(index);
  const status = st.statusAt(index);
  const lastAttempt = row >= 0 ? store.attempt(snap.get(row, F.lastAttemptId)) : null;
  const successId = row >= 0 ? snap.get(row, F.successId) : NaN;
  const lastSuccess = Number.isNaN(successId) ? null : store.attempt(successId);
  const causes: CauseDetail[] = [];

  for (const cause of st.causesAt(index)) {
    if (cause === 'code') {
      causes.push({ cause, recorded: lastSuccess?.codeVersion ?? null, current: inputs.codeVersions.get(assetName) ?? '' });
    } else if (cause === 'dependencies') {
      const recorded = lastSuccess?.deps ?? [];
      const current = [...new Set(asset.deps.map((d) => d.asset))].sort();
      causes.push({
        cause,
        recorded,
        current,
        added: current.filter((d) => !recorded.includes(d)),
        removed: recorded.filter((d) => !current.includes(d)),
      });
    } else if (cause === 'upstream' && lastSuccess) {
      const changed: Extract<CauseDetail, { cause: 'upstream' }>['changed'] = [];
      for (const dep of asset.deps) {
        const up = engine.get(dep.asset);
        if (!up) continue;
        const read = dep.mapping.upstreamFor(PartitionSubset.range(index, index + 1)).partitions;
        for (const u of read) {
          if (changed.length >= MAX_LISTED) break;
          if (!(up.endSeq[u]! > lastSuccess.startSeq)) continue;
          const r = up.rowOf[u]!;
          const upKey = up.asset.partitions.keyAt(u);
          changed.push({
            asset: dep.asset,
            partition: upKey,
            materialized: r >= 0 ? new Date(up.snapshot.get(r, F.successEndedAt)).toISOString() : null,
            data_version: r >= 0 ? up.snapshot.string(r, F.successDataVersion) : null,
            read_version: lastSuccess.inputs?.[dep.asset]?.[upKey] ?? null,
          });
        }
      }
      causes.push({ cause, changed });
    } else if (cause === 'observed' && asset.output) {
      causes.push({ cause, output: outputPath(asset, index) });
    }
  }

  const output = asset.output
    ? { path: path.resolve(path.dirname(asset.location.file), outputPath(asset, index)), exists: st.observedOutputs?.has(index) ?? false }
    : undefined;

  return {
    asset: assetName,
    partition: key,
    status,
    causes,
    last_success: summarizeAttempt(lastSuccess),
    last_attempt: summarizeAttempt(lastAttempt),
    ...(output ? { output } : {}),
    summary: sentence(status, causes, lastSuccess, lastAttempt, output),
  };
}

function sentence(
  status: PartitionStatus,
  causes: CauseDetail[],
  lastSuccess: Attempt | null,
  lastAttempt: Attempt | null,
  output: { path: string; exists: boolean } | undefined,
): string {
  switch (status) {
    case 'missing':
      if (lastSuccess && output && !output.exists)
        return `materialized ${iso(lastSuccess.endedAt)}, but its output ${output.path} no longer exists`;
      if (lastAttempt?.status === 'canceled') return 'never materialized successfully (the last attempt was canceled)';
      return 'never materialized';
    case 'failed':
      return `the latest attempt failed${lastAttempt?.exitCode !== null && lastAttempt?.exitCode !== undefined ? ` with exit code ${lastAttempt.exitCode}` : ''} at ${iso(lastAttempt?.endedAt ?? null)}${lastSuccess ? ` (last success ${iso(lastSuccess.endedAt)})` : ''}`;
    case 'running':
      return `running since ${iso(lastAttempt?.startedAt ?? null)}${lastAttempt?.runId ? ` (run ${lastAttempt.runId})` : ''}`;
    case 'fresh':
      if (causes.some((c) => c.cause === 'observed'))
        return 'its output exists (materialized outside Backfill) and nothing upstream changed';
      return `materialized ${iso(lastSuccess?.endedAt ?? null)} with the current code and inputs`;
    case 'stale': {
      const parts = causes.map((c) => {
        switch (c.cause) {
          case 'code':
            return `the code changed (${c.recorded ?? 'unknown'} → ${c.current})`;
          case 'dependencies':
            return `its dependencies changed (${[...c.added.map((a) => '+' + a), ...c.removed.map((r) => '-' + r)].join(', ')})`;
          case 'upstream': {
            const names = [...new Set(c.changed.map((x) => `${x.asset} ${x.partition}`))];
            return `upstream partitions were rematerialized after it (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`;
          }
          default:
            return '';
        }
      });
      return `stale: ${parts.filter(Boolean).join('; ')}`;
    }
  }
}

function iso(t: number | null): string {
  return t === null ? 'unknown' : new Date(t).toISOString();
}
