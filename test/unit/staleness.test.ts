import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { keysOf } from '../../src/core/partitions/definition.ts';
import { PartitionSubset } from '../../src/core/partitions/subset.ts';
import { ObservedOutputs } from '../../src/core/state/observed.ts';
import { indexStoreFor } from '../../src/core/state/record.ts';
import { StatusEngine, type AssetStatus } from '../../src/core/state/staleness.ts';
import { StateStore } from '../../src/core/state/store.ts';
import { codeVersions, dependencySet } from '../../src/core/state/versions.ts';
import { loadWorkspaceFromSources, type Workspace } from '../../src/core/workspace.ts';
import { removeTempDirs, tempDir } from './fixtures.ts';

const NOW = new Date('2024-01-11T00:00:00Z');
after(removeTempDirs);

interface Fixture {
  root: string;
  ws: Workspace;
  store: StateStore;
  /** Records successful materializations the way the runner will: current code version and dependency set. */
  materialize(asset: string, keys: string[]): Promise<void>;
  statuses(): Promise<Map<string, AssetStatus>>;
  reload(yaml: string): void;
}

async function fixture(yaml: string): Promise<Fixture> {
  const root = tempDir('backfill-stale-');
  const file = path.join(root, 'pipeline.assets.yaml');
  const load = (text: string): Workspace => {
    writeFileSync(file, text);
    const ws = loadWorkspaceFromSources(root, [{ path: file, text }], { now: NOW });
    assert.deepEqual(
      ws.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    return ws;
  };
  const store = StateStore.open(path.join(root, '.backfill', 'state.db'));
  let clock = Date.parse('2024-01-11T01:00:00Z');
  const f: Fixture = {
    root,
    ws: load(yaml),
    store,
    async materialize(asset, keys) {
      const a = f.ws.assets.get(asset)!;
      const cv = (await codeVersions([a])).get(asset)!;
      store.record(
        keys.map((k) => ({
          asset,
          partition: k,
          startedAt: clock++,
          endedAt: clock++,
          status: 'success',
          codeVersion: cv,
          deps: dependencySet(a),
        })),
      );
    },
    async statuses() {
      const engine = new StatusEngine({
        graph: f.ws.graph,
        store,
        codeVersions: await codeVersions(f.ws.assets.values()),
        observed: new ObservedOutputs(),
      });
      return engine.computeAll();
    },
    reload(text) {
      f.ws = load(text);
    },
  };
  return f;
}

function summary(st: AssetStatus): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < st.status.length; i++) {
    const causes = st.causesAt(i);
    const label = st.statusAt(i) + (causes.length ? `(${causes.join(',')})` : '');
    (out[label] ??= []).push(st.asset.partitions.keyAt(i));
  }
  return out;
}

const PIPELINE = `
assets:
  raw:
    partitions: { daily: { start: 2024-01-08 } }
    run: node pull.mjs {partition}
  clean:
    deps: [raw]
    partitions: { daily: { start: 2024-01-08 } }
    run: node clean.mjs {partition}
`;

describe('staleness', () => {
  it('never materialized partitions are missing; materialized ones fresh', async () => {
    const f = await fixture(PIPELINE);
    await f.materialize('raw', ['2024-01-08', '2024-01-09']);
    const s = await f.statuses();
    assert.deepEqual(summary(s.get('raw')!), { fresh: ['2024-01-08', '2024-01-09'], missing: ['2024-01-10'] });
    assert.deepEqual(s.get('raw')!.counts(), { fresh: 2, stale: 0, missing: 1, failed: 0, running: 0 });
  });

  it('a rematerialized upstream partition makes exactly the downstream partitions that read it stale', async () => {
    const f = await fixture(PIPELINE);
    await f.materialize('raw', ['2024-01-08', '2024-01-09', '2024-01-10']);
    await f.materialize('clean', ['2024-01-08', '2024-01-09', '2024-01-10']);
    await f.materialize('raw', ['2024-01-09']);
    const s = await f.statuses();
    assert.deepEqual(summary(s.get('clean')!), { fresh: ['2024-01-08', '2024-01-10'], 'stale(upstream)': ['2024-01-09'] });
    assert.equal(s.get('clean')!.worst(), 'stale');
  });

  it('a code change makes every materialized partition of that asset stale, and only those', async () => {
    const f = await fixture(PIPELINE);
    await f.materialize('raw', ['2024-01-08', '2024-01-09']);
    await f.materialize('clean', ['2024-01-08']);
    f.reload(PIPELINE.replace('node clean.mjs {partition}', 'node clean.mjs --v2 {partition}'));
    const s = await f.statuses();
    assert.deepEqual(summary(s.get('clean')!), { 'stale(code)': ['2024-01-08'], missing: ['2024-01-09', '2024-01-10'] });
    assert.deepEqual(summary(s.get('raw')!), { fresh: ['2024-01-08', '2024-01-09'], missing: ['2024-01-10'] });
  });

  it('a source file edit changes the code version', async () => {
    const f = await fixture(
      PIPELINE.replace('    run: node clean.mjs {partition}', '    run: node clean.mjs {partition}\n    source: [jobs/*.mjs]'),
    );
    mkdirSync(path.join(f.root, 'jobs'));
    writeFileSync(path.join(f.root, 'jobs', 'clean.mjs'), 'console.log(1)');
    await f.materialize('clean', ['2024-01-08']);
    assert.deepEqual(summary((await f.statuses()).get('clean')!)['fresh'], ['2024-01-08']);
    writeFileSync(path.join(f.root, 'jobs', 'clean.mjs'), 'console.log(2)');
    assert.deepEqual(summary((await f.statuses()).get('clean')!)['stale(code)'], ['2024-01-08']);
  });

  it('added or removed dependencies make materialized partitions stale', async () => {
    const f = await fixture(PIPELINE + `  other:\n    partitions: { daily: { start: 2024-01-08 } }\n`);
    await f.materialize('clean', ['2024-01-08']);
    f.reload(PIPELINE.replace('deps: [raw]', 'deps: [raw, other]') + `  other:\n    partitions: { daily: { start: 2024-01-08 } }\n`);
    assert.deepEqual(summary((await f.statuses()).get('clean')!)['stale(dependencies)'], ['2024-01-08']);
  });

  it('causes combine', async () => {
    const f = await fixture(PIPELINE);
    await f.materialize('raw', ['2024-01-08']);
    await f.materialize('clean', ['2024-01-08']);
    await f.materialize('raw', ['2024-01-08']);
    f.reload(PIPELINE.replace('node clean.mjs', 'node clean2.mjs'));
    assert.deepEqual(summary((await f.statuses()).get('clean')!)['stale(code,upstream)'], ['2024-01-08']);
  });

  it('failed after a success is failed; a later success is fresh again; running while in progress', async () => {
    const f = await fixture(PIPELINE);
    await f.materialize('raw', ['2024-01-08', '2024-01-09']);
    f.store.record([{ asset: 'raw', partition: '2024-01-08', startedAt: 1, endedAt: 2, status: 'failed', exitCode: 1 }]);
    f.store.record([{ asset: 'raw', partition: '2024-01-10', startedAt: 1, endedAt: 2, status: 'failed', exitCode: 1 }]);
    const cv = (await codeVersions([f.ws.assets.get('raw')!])).get('raw')!;
    const id = f.store.startAttempt({ asset: 'raw', partition: '2024-01-09', startedAt: 3, codeVersion: cv, deps: [] });
    let s = await f.statuses();
    assert.deepEqual(summary(s.get('raw')!), { failed: ['2024-01-08', '2024-01-10'], running: ['2024-01-09'] });
    f.store.finishAttempt(id, { status: 'success', endedAt: 4 });
    await f.materialize('raw', ['2024-01-08']);
    s = await f.statuses();
    assert.deepEqual(summary(s.get('raw')!), { fresh: ['2024-01-08', '2024-01-09'], failed: ['2024-01-10'] });
  });

  it('cross-granularity: re-running one hour makes its day stale (hourly → daily)', async () => {
    const f = await fixture(`
assets:
  clicks: { partitions: { hourly: { start: 2024-01-09-00:00 } } }
  daily_clicks: { deps: [clicks], partitions: { daily: { start: 2024-01-09 } } }
`);
    const hours = keysOf(f.ws.assets.get('clicks')!.partitions, PartitionSubset.all(48));
    await f.materialize('clicks', hours);
    await f.materialize('daily_clicks', ['2024-01-09', '2024-01-10']);
    await f.materialize('clicks', ['2024-01-10-13:00']);
    assert.deepEqual(summary((await f.statuses()).get('daily_clicks')!), { fresh: ['2024-01-09'], 'stale(upstream)': ['2024-01-10'] });
  });

  it('offsets: a cumulative asset goes stale when the previous day is rematerialized', async () => {
    const f = await fixture(`
assets:
  total:
    partitions: { daily: { start: 2024-01-08 } }
    deps: [{ asset: total, mapping: { offset: -1 } }]
`);
    await f.materialize('total', ['2024-01-08', '2024-01-09', '2024-01-10']);
    await f.materialize('total', ['2024-01-08']);
    assert.deepEqual(summary((await f.statuses()).get('total')!), {
      fresh: ['2024-01-08', '2024-01-10'],
      'stale(upstream)': ['2024-01-09'],
    });
  });

  it('unpartitioned ↔ partitioned: a model over all days goes stale when any day changes', async () => {
    const f = await fixture(PIPELINE + `  model:\n    deps: [clean]\n`);
    await f.materialize('clean', ['2024-01-08', '2024-01-09', '2024-01-10']);
    await f.materialize('model', ['']);
    assert.deepEqual(summary((await f.statuses()).get('model')!), { fresh: [''] });
    await f.materialize('clean', ['2024-01-09']);
    assert.deepEqual(summary((await f.statuses()).get('model')!), { 'stale(upstream)': [''] });
  });

  it('observed outputs count as materialized; a recorded partition whose output is gone is missing', async () => {
    const f = await fixture(
      PIPELINE.replace('    run: node pull.mjs {partition}', '    run: node pull.mjs {partition}\n    output: data/raw/{partition}.json'),
    );
    mkdirSync(path.join(f.root, 'data', 'raw'), { recursive: true });
    writeFileSync(path.join(f.root, 'data', 'raw', '2024-01-08.json'), '[]');
    await f.materialize('raw', ['2024-01-09']);
    assert.deepEqual(summary((await f.statuses()).get('raw')!), {
      'fresh(observed)': ['2024-01-08'],
      missing: ['2024-01-09', '2024-01-10'],
    });
  });

  it('statuses are the same whether the store keeps partition indexes or readers parse keys', async () => {
    const yaml = PIPELINE.replaceAll('start: 2024-01-08', 'start: 2023-01-01');
    const parsed = await fixture(yaml);
    const indexed = await fixture(yaml);
    indexStoreFor(indexed.ws, indexed.store);
    for (const f of [parsed, indexed]) {
      const raw = f.ws.assets.get('raw')!.partitions;
      // Enough at once to be folded into the snapshot (not just logged), in a scrambled order.
      const keys = Array.from({ length: raw.size }, (_, i) => raw.keyAt((i * 7) % raw.size));
      await f.materialize('raw', keys);
      await f.materialize('clean', keys.slice(0, 300));
      await f.materialize('raw', ['2023-01-01']);
    }
    const snap = indexed.store.snapshot('raw');
    assert.equal(snap.fingerprint, indexed.ws.assets.get('raw')!.partitions.fingerprint());
    assert.equal(parsed.store.snapshot('raw').fingerprint, '');
    const a = await parsed.statuses();
    const b = await indexed.statuses();
    assert.deepEqual(summary(b.get('clean')!), summary(a.get('clean')!));
    assert.deepEqual(summary(b.get('raw')!), summary(a.get('raw')!));
    assert.equal(b.get('raw')!.counts().fresh, 375);
    assert.deepEqual(summary(b.get('clean')!)['stale(upstream)'], ['2023-01-01']);
  });

  it('incremental refresh after one materialization matches a full recompute', async () => {
    const f = await fixture(PIPELINE);
    await f.materialize('raw', ['2024-01-08', '2024-01-09', '2024-01-10']);
    await f.materialize('clean', ['2024-01-08', '2024-01-09', '2024-01-10']);
    const engine = new StatusEngine({ graph: f.ws.graph, store: f.store, codeVersions: await codeVersions(f.ws.assets.values()) });
    engine.computeAll();
    await f.materialize('raw', ['2024-01-10']);
    const raw = f.ws.assets.get('raw')!;
    const changed = engine.refresh('raw', PartitionSubset.of([raw.partitions.indexOf('2024-01-10')]));
    assert.deepEqual([...changed.keys()], ['raw', 'clean']);
    assert.deepEqual(summary(engine.get('clean')!), summary((await f.statuses()).get('clean')!));
    assert.deepEqual(summary(engine.get('clean')!)['stale(upstream)'], ['2024-01-10']);
  });
});
