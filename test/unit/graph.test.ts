import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssetGraph } from '../../src/core/graph.ts';
import { buildMapping } from '../../src/core/mappings/build.ts';
import type { AssetDefinition } from '../../src/core/model.ts';
import { buildPartitionsDefinition } from '../../src/core/partitions/build.ts';
import { UnpartitionedDefinition, keysOf } from '../../src/core/partitions/definition.ts';
import { PartitionSubset } from '../../src/core/partitions/subset.ts';

const NOW = new Date('2024-02-01T00:00:00Z');

interface Spec {
  partitions?: unknown;
  deps?: Array<string | { asset: string; mapping?: unknown }>;
}

/** Assets built straight from specs (the YAML loader is tested on its own). */
function graph(specs: Record<string, Spec>): AssetGraph {
  const assets = new Map<string, AssetDefinition>();
  for (const [name, s] of Object.entries(specs)) {
    assets.set(name, {
      name,
      location: { file: '/ws/a.assets.yaml', line: 1, column: 1 },
      group: 'default',
      partitions: s.partitions === undefined ? UnpartitionedDefinition.INSTANCE : buildPartitionsDefinition(s.partitions, NOW).value,
      deps: [],
    });
  }
  for (const [name, s] of Object.entries(specs)) {
    const down = assets.get(name)!;
    for (const d of s.deps ?? []) {
      const dep = typeof d === 'string' ? { asset: d } : d;
      const up = assets.get(dep.asset)!;
      const mapping = buildMapping(dep.mapping, up.partitions, down.partitions, { self: up === down, upstreamName: up.name }).value;
      down.deps.push({ asset: dep.asset, mapping, location: down.location });
    }
  }
  return new AssetGraph(assets.values());
}

const daily = { daily: { start: '2024-01-01' } };
const weekly = { weekly: { start: '2024-01-01' } };

describe('AssetGraph order and cycles', () => {
  it('orders upstream first, ties by name', () => {
    const g = graph({ c: { deps: ['b'] }, b: { deps: ['a'] }, a: {}, z: {}, d: { deps: ['a'] } });
    assert.deepEqual(
      g.order.map((a) => a.name),
      ['a', 'b', 'c', 'd', 'z'],
    );
    assert.deepEqual(g.cycles, []);
  });
  it('names each cycle', () => {
    const g = graph({ a: { deps: ['c'] }, b: { deps: ['a'] }, c: { deps: ['b'] }, d: { deps: ['c'] }, e: {} });
    assert.deepEqual(g.cycles, [['a', 'c', 'b']]);
    assert.deepEqual(
      g.order.map((x) => x.name),
      ['e', 'a', 'b', 'c', 'd'],
    );
  });
  it('a self-dependency on earlier partitions is not a cycle; on the same partition it is', () => {
    assert.deepEqual(graph({ cum: { partitions: daily, deps: [{ asset: 'cum', mapping: { offset: -1 } }] } }).cycles, []);
    assert.deepEqual(graph({ loop: { partitions: daily, deps: ['loop'] } }).cycles, [['loop']]);
  });
});

describe('impact', () => {
  it('follows mappings downstream through mixed granularities', () => {
    const g = graph({
      raw: { partitions: daily },
      events: { partitions: daily, deps: ['raw'] },
      weekly_users: { partitions: weekly, deps: ['events'] },
      model: { deps: ['weekly_users'] },
      unrelated: { partitions: daily },
    });
    const raw = g.get('raw')!;
    const impacted = g.impact('raw', PartitionSubset.of([raw.partitions.indexOf('2024-01-09')]));
    assert.deepEqual(
      impacted.map((i) => [i.asset.name, keysOf(i.asset.partitions, i.partitions)]),
      [
        ['raw', ['2024-01-09']],
        ['events', ['2024-01-09']],
        ['weekly_users', ['2024-01-07']],
        ['model', ['']],
      ],
    );
  });
  it('through an offset -1 self-dependency, every later partition is impacted', () => {
    const g = graph({ cum: { partitions: daily, deps: [{ asset: 'cum', mapping: { offset: -1 } }] } });
    const cum = g.get('cum')!;
    const [only] = g.impact('cum', PartitionSubset.of([cum.partitions.indexOf('2024-01-29')]));
    assert.deepEqual(keysOf(cum.partitions, only!.partitions), ['2024-01-29', '2024-01-30', '2024-01-31']);
  });
  it('through an offset -7 self-dependency, every seventh partition', () => {
    const g = graph({ wk: { partitions: daily, deps: [{ asset: 'wk', mapping: { offset: -7 } }] } });
    const wk = g.get('wk')!;
    const [only] = g.impact('wk', PartitionSubset.of([wk.partitions.indexOf('2024-01-10')]));
    assert.deepEqual(keysOf(wk.partitions, only!.partitions), ['2024-01-10', '2024-01-17', '2024-01-24', '2024-01-31']);
  });
  it('a downstream reached by two paths gets the union', () => {
    const g = graph({
      a: { partitions: daily },
      b: { partitions: daily, deps: ['a'] },
      c: { partitions: daily, deps: [{ asset: 'a', mapping: { offset: -1 } }] },
      d: { partitions: daily, deps: ['b', 'c'] },
    });
    const a = g.get('a')!;
    const out = g.impact('a', PartitionSubset.of([a.partitions.indexOf('2024-01-05')]));
    const d = out.find((x) => x.asset.name === 'd')!;
    assert.deepEqual(keysOf(d.asset.partitions, d.partitions), ['2024-01-05', '2024-01-06']);
  });
});
