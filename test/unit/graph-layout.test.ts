import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixtureGraph } from '../../bench/graphFixture.ts';
import type { GraphAsset } from '../../src/shared/graphProtocol.ts';
import { gridLayout, indexAt, rangeBetween } from '../../webview/grid.ts';
import { assignLayers, breakCycles, countInversions, isotonicWithGaps, layeredLayout, DEFAULT_LAYOUT } from '../../webview/layout.ts';
import { AssetStore, buildView, describeCounts, GROUP_PREFIX, layoutKey, lineageOf, onLineage, searchAssets } from '../../webview/model.ts';

const HOUR = 3_600_000;

/** Nodes of the same layer never overlap; every edge starts at its source's right side and ends at its target's left. */
function checkLayout(nodes: string[], edges: Array<[string, string]>): ReturnType<typeof layeredLayout> {
  const r = layeredLayout(
    nodes.map((id) => ({ id })),
    edges.map(([source, target]) => ({ source, target })),
  );
  const o = DEFAULT_LAYOUT;
  assert.equal(r.positions.size, nodes.length);
  const byLayer = new Map<number, Array<{ y: number }>>();
  for (const p of r.positions.values()) {
    assert.ok(Number.isFinite(p.x) && Number.isFinite(p.y));
    assert.ok(p.y >= o.nodeHeight / 2 - 1e-6 && p.y <= r.height - o.nodeHeight / 2 + 1e-6, 'inside the height');
    (byLayer.get(p.layer) ?? byLayer.set(p.layer, []).get(p.layer)!).push(p);
  }
  for (const list of byLayer.values()) {
    list.sort((a, b) => a.y - b.y);
    for (let k = 1; k < list.length; k++) assert.ok(list[k]!.y - list[k - 1]!.y >= o.nodeHeight + o.nodeSep - 1e-6, 'nodes overlap');
  }
  for (const e of r.edges) {
    const s = r.positions.get(e.source)!;
    const t = r.positions.get(e.target)!;
    const p = e.points;
    const first = [p[0], p[1]];
    const last = [p[p.length - 2], p[p.length - 1]];
    if (e.reversed) {
      // Closes a cycle: drawn backwards, from the source's left side to the target's right side.
      assert.deepEqual(
        [first, last],
        [
          [s.x - o.nodeWidth / 2, s.y],
          [t.x + o.nodeWidth / 2, t.y],
        ],
      );
    } else {
      assert.ok(t.layer > s.layer, `${e.source} → ${e.target} points backwards`);
      assert.deepEqual(
        [first, last],
        [
          [s.x + o.nodeWidth / 2, s.y],
          [t.x - o.nodeWidth / 2, t.y],
        ],
      );
    }
  }
  return r;
}

describe('layered layout', () => {
  it('lays a chain out left to right, one layer each', () => {
    const r = checkLayout(
      ['a', 'b', 'c'],
      [
        ['a', 'b'],
        ['b', 'c'],
      ],
    );
    assert.deepEqual(
      [...r.positions.values()].map((p) => p.layer),
      [0, 1, 2],
    );
    assert.equal(r.crossings, 0);
    assert.equal(r.positions.get('a')!.y, r.positions.get('c')!.y, 'a chain is straight');
  });

  it('routes long edges through the layers they cross', () => {
    const r = checkLayout(
      ['a', 'b', 'c', 'd'],
      [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'd'],
        ['a', 'd'],
      ],
    );
    const long = r.edges.find((e) => e.source === 'a' && e.target === 'd')!;
    assert.equal(long.points.length, 2 * 2 + 2 * 2 * 2, 'the two ends, and two dummies entered and left');
  });

  it('uncrosses what can be uncrossed', () => {
    // a→d, b→c drawn in input order cross; a good order does not.
    const r = checkLayout(
      ['a', 'b', 'c', 'd'],
      [
        ['a', 'd'],
        ['b', 'c'],
      ],
    );
    assert.equal(r.crossings, 0);
  });

  it('draws cycles, with the closing edge reversed', () => {
    const r = checkLayout(
      ['a', 'b', 'c'],
      [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'a'],
      ],
    );
    assert.equal(r.edges.filter((e) => e.reversed).length, 1);
  });

  it('leaves out self-loops, duplicates and unknown nodes; handles an empty graph', () => {
    const r = checkLayout(
      ['a', 'b'],
      [
        ['a', 'a'],
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'zz'],
      ],
    );
    assert.equal(r.edges.length, 1);
    const empty = layeredLayout([], []);
    assert.deepEqual([empty.positions.size, empty.width, empty.height, empty.layers], [0, 0, 0, 0]);
  });

  it('moves a source next to its only reader', () => {
    const layer = assignLayers(4, [
      [0, 1],
      [1, 2],
      [3, 2],
    ]);
    assert.deepEqual(layer, [0, 1, 2, 1]);
  });

  it('is deterministic and sound on a 300-asset pipeline', () => {
    const g = fixtureGraph(300, 6, 3);
    const nodes = g.map((a) => a.name);
    const edges = g.flatMap((a) => a.deps.map((d) => [d.asset, a.name] as [string, string]));
    const r = checkLayout(nodes, edges);
    const again = layeredLayout(
      nodes.map((id) => ({ id })),
      edges.map(([source, target]) => ({ source, target })),
    );
    assert.deepEqual([...again.positions], [...r.positions]);
  });

  it('is sound on random graphs, cycles included (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.array(fc.tuple(fc.nat(24), fc.nat(24)), { maxLength: 60 }), (n, pairs) => {
        const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
        checkLayout(
          nodes,
          pairs.filter(([a, b]) => a < n && b < n).map(([a, b]) => [`n${a}`, `n${b}`]),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('breaks every cycle', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.nat(9)), { maxLength: 40 }), (pairs) => {
        const dag = pairs.filter(([a, b]) => a !== b);
        const rev = breakCycles(10, dag);
        const edges = dag.map(([a, b], i) => (rev[i] ? [b, a] : [a, b]));
        const layer = assignLayers(10, edges as Array<[number, number]>);
        for (const [a, b] of edges) assert.ok(layer[b!]! > layer[a!]!);
      }),
    );
  });

  it('counts inversions and solves the ordered placement', () => {
    assert.equal(countInversions([2, 0, 1], 3), 2);
    assert.equal(countInversions([0, 1, 2, 2], 3), 0);
    // Three nodes that all want y = 0, 10 apart: centred on 0.
    const y = isotonicWithGaps(Float64Array.of(0, 0, 0), Float64Array.of(1, 1, 1), Float64Array.of(0, 10, 20));
    assert.deepEqual([...y], [-10, 0, 10]);
    // Already apart: unchanged.
    assert.deepEqual([...isotonicWithGaps(Float64Array.of(0, 50), Float64Array.of(1, 1), Float64Array.of(0, 10))], [0, 50]);
  });
});

describe('partition grids', () => {
  it('daily: a calendar of weeks (columns) by weekdays (rows), Monday first', () => {
    // 2024-01-03 was a Wednesday.
    const starts = Array.from({ length: 14 }, (_, i) => Date.UTC(2024, 0, 3 + i));
    const g = gridLayout({ kind: 'calendar', wallStarts: starts }, 14);
    assert.deepEqual([g.cols, g.rows], [3, 7]);
    assert.deepEqual([g.col[0], g.row[0]], [0, 2]);
    assert.deepEqual([g.col[5], g.row[5]], [1, 0], 'Monday 2024-01-08 starts the second week');
    assert.equal(indexAt(g, 0, 0), -1, 'the Monday before the first day is empty');
    for (let i = 0; i < 14; i++) assert.equal(indexAt(g, g.col[i]!, g.row[i]!), i);
    assert.equal(g.colLabels[0]!.text, 'Jan 2024');
  });

  it('hourly: days by hours; the repeated hour of a DST change gets a row of its own', () => {
    const day0 = Date.UTC(2024, 10, 3);
    const starts: number[] = [];
    for (let h = 0; h < 26; h++) starts.push(day0 + Math.min(h, 2) * HOUR - (h > 1 ? HOUR : 0) + Math.max(0, h - 2) * HOUR);
    // wall starts: 00, 01, 01 (again), 02, 03 … 23, then 00 of the next day
    const g = gridLayout({ kind: 'dayHour', wallStarts: starts }, starts.length);
    assert.equal(g.rows, 25);
    assert.deepEqual([g.col[1], g.row[1]], [0, 1]);
    assert.deepEqual([g.col[2], g.row[2]], [0, 24]);
    assert.deepEqual([g.col[25], g.row[25]], [1, 0]);
    const cells = new Set<number>();
    for (let i = 0; i < starts.length; i++) cells.add(g.row[i]! * g.cols + g.col[i]!);
    assert.equal(cells.size, starts.length, 'no two partitions share a cell');
  });

  it('monthly: years by months', () => {
    const starts = Array.from({ length: 14 }, (_, i) => Date.UTC(2023, 5 + i, 1));
    const g = gridLayout({ kind: 'months', wallStarts: starts }, 14);
    assert.deepEqual([g.cols, g.rows], [12, 2]);
    assert.deepEqual([g.col[0], g.row[0], g.col[13], g.row[13]], [5, 0, 6, 1]);
    assert.deepEqual(
      g.rowLabels.map((l) => l.text),
      ['2023', '2024'],
    );
  });

  it('multi: the largest dimension across, the others down, indexes row-major as the definition has them', () => {
    // dims: date (4) × region (2): index = date * 2 + region.
    const g = gridLayout(
      {
        kind: 'matrix',
        dims: [
          { name: 'date', size: 4, keys: ['d0', 'd1', 'd2', 'd3'] },
          { name: 'region', size: 2, keys: ['eu', 'us'] },
        ],
      },
      8,
    );
    assert.deepEqual([g.cols, g.rows], [4, 2]);
    for (let i = 0; i < 8; i++) assert.deepEqual([g.col[i], g.row[i]], [Math.floor(i / 2), i % 2]);
    assert.deepEqual(
      g.rowLabels.map((l) => l.text),
      ['eu', 'us'],
    );
    const three = gridLayout(
      {
        kind: 'matrix',
        dims: [
          { name: 'a', size: 2 },
          { name: 'b', size: 5 },
          { name: 'c', size: 3 },
        ],
      },
      30,
    );
    assert.deepEqual([three.cols, three.rows], [5, 6]);
    for (let i = 0; i < 30; i++) assert.equal(indexAt(three, three.col[i]!, three.row[i]!), i);
  });

  it('static and single: a strip wrapped to the width; one cell', () => {
    const g = gridLayout({ kind: 'strip' }, 10, 4);
    assert.deepEqual([g.cols, g.rows, g.col[9], g.row[9]], [4, 3, 1, 2]);
    assert.equal(indexAt(g, 3, 2), -1);
    const one = gridLayout({ kind: 'single' }, 1);
    assert.deepEqual([one.cols, one.rows, indexAt(one, 0, 0)], [1, 1, 0]);
  });

  it('a drag selects the index range between its ends, either way', () => {
    assert.deepEqual(rangeBetween(7, 3), { start: 3, end: 8 });
    assert.deepEqual(rangeBetween(3, 3), { start: 3, end: 4 });
  });
});

describe('graph view model', () => {
  const assets: GraphAsset[] = [
    { name: 'raw', group: 'ingest', kind: 'daily', size: 3, partitionsText: 'daily · 3', deps: [] },
    { name: 'raw2', group: 'ingest', kind: 'daily', size: 3, partitionsText: 'daily · 3', deps: [] },
    {
      name: 'clean',
      group: 'clean',
      kind: 'daily',
      size: 3,
      partitionsText: 'daily · 3',
      deps: [
        { asset: 'raw', mapping: null },
        { asset: 'raw2', mapping: 'offset -1' },
        { asset: 'clean', mapping: 'offset -1' },
      ],
    },
    {
      name: 'report',
      group: 'marts',
      kind: 'unpartitioned',
      size: 1,
      partitionsText: 'unpartitioned',
      deps: [{ asset: 'clean', mapping: 'all' }],
    },
    { name: 'other', group: 'marts', kind: 'unpartitioned', size: 1, partitionsText: 'unpartitioned', deps: [] },
  ];

  it('draws a self-dependency on the node, not as an edge', () => {
    const v = buildView(assets, new Set());
    assert.equal(v.nodes.length, 5);
    assert.equal(v.byId.get('clean')!.selfDep, 'offset -1');
    assert.deepEqual(
      v.edges.map((e) => [e.source, e.target, e.label]),
      [
        ['raw', 'clean', null],
        ['raw2', 'clean', 'offset -1'],
        ['clean', 'report', 'all'],
      ],
    );
  });

  it('collapses a group into one node with its members and merged edges', () => {
    const v = buildView(assets, new Set(['ingest']));
    const g = v.byId.get(GROUP_PREFIX + 'ingest')!;
    assert.deepEqual([g.kind, g.members, g.subtitle], ['group', ['raw', 'raw2'], '2 assets']);
    assert.equal(v.nodeOf.get('raw'), g.id);
    const e = v.edges.find((x) => x.source === g.id)!;
    assert.deepEqual([e.target, e.count, e.label], ['clean', 2, '×2']);
    assert.notEqual(layoutKey(v), layoutKey(buildView(assets, new Set())));
  });

  it('finds the lineage of a node, both ways, and the edges on it', () => {
    const v = buildView(assets, new Set());
    const l = lineageOf(v, 'clean');
    assert.deepEqual([...l.upstream].sort(), ['raw', 'raw2']);
    assert.deepEqual([...l.downstream], ['report']);
    assert.deepEqual(v.edges.filter((e) => onLineage(e, 'clean', l)).length, 3);
    const fromRaw = lineageOf(v, 'raw');
    assert.deepEqual([...fromRaw.downstream].sort(), ['clean', 'report']);
    assert.equal(onLineage(v.edges[1]!, 'raw', fromRaw), false, 'raw2 → clean is not on raw’s lineage');
  });

  it('sums statuses of a group and keeps only valid updates', () => {
    const store = new AssetStore();
    store.setGraph(assets, [{ name: 'raw', counts: [2, 1, 0, 0, 0], statuses: { enc: 'rle', runs: [0, 2, 1, 1] } }], 1);
    store.applyStatuses([
      { name: 'raw2', counts: [0, 0, 3, 0, 0], statuses: { enc: 'rle', runs: [2, 3] } },
      { name: 'raw2', counts: [0, 0, 3, 0, 0], statuses: { enc: 'rle', runs: [2, 4] } }, // wrong size: ignored
      { name: 'ghost', counts: [1, 0, 0, 0, 0], statuses: { enc: 'rle', runs: [0, 1] } },
    ]);
    const v = buildView(assets, new Set(['ingest']));
    assert.deepEqual(store.countsOf(v.byId.get(GROUP_PREFIX + 'ingest')!), [2, 1, 3, 0, 0]);
    assert.deepEqual([...store.statuses.get('raw')!], [0, 0, 1]);
  });

  it('searches names, prefixes first', () => {
    assert.deepEqual(searchAssets(assets, 'RAW'), ['raw', 'raw2']);
    assert.deepEqual(searchAssets(assets, 'ean'), ['clean']);
    assert.deepEqual(searchAssets(assets, 'r'), ['raw', 'raw2', 'report', 'other']);
    assert.deepEqual(searchAssets(assets, '  '), []);
  });

  it('says counts as the Assets view does', () => {
    assert.equal(describeCounts([5, 0, 0, 0, 0]), 'all 5 fresh');
    assert.equal(describeCounts([1, 2, 0, 3, 0]), '3 failed · 2 stale · 1 fresh');
    assert.equal(describeCounts([0, 0, 1, 0, 0], true), 'missing');
    assert.equal(describeCounts([0, 0, 0, 0, 0]), 'no partitions yet');
  });
});
