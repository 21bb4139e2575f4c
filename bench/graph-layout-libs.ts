// Which DAG layout library the graph webview uses, decided by measurement: @dagrejs/dagre,
// elkjs (layered) and d3-dag (sugiyama) lay out the same 2,000-asset / ~4,000-edge graph in
// Node. Reports time, bounding box, edges pointing backwards (should be 0 in a layered layout)
// and crossings of straight node-to-node segments (a proxy for readability).
// Run: node --import tsx bench/graph-layout-libs.ts [assets]
import dagre from '@dagrejs/dagre';
import ELK from 'elkjs/lib/elk.bundled.js';
import * as d3dag from 'd3-dag';
import { layeredLayout } from '../webview/layout.ts';
import { fixtureGraph } from './graphFixture.ts';

const N = Number(process.argv[2] ?? 2000);
/** `--only=NAME`: run the libraries whose name contains NAME (the slow ones take minutes at 2,000). */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const W = 220;
const H = 64;
const graph = fixtureGraph(N);
const edges = graph.flatMap((a) => a.deps.map((d) => [d.asset, a.name] as const));
console.log(`${graph.length} nodes, ${edges.length} edges`);

type Positions = Map<string, { x: number; y: number }>;

function quality(pos: Positions): { width: number; height: number; backwards: number; crossings: number } {
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  for (const p of pos.values()) {
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  const segs = edges.map(([s, t]) => [pos.get(s)!, pos.get(t)!] as const);
  let backwards = 0;
  for (const [a, b] of segs) if (b.x <= a.x) backwards++;
  // Crossings of straight segments, sweeping by x so that only overlapping spans are compared.
  const sorted = segs.map(([a, b]) => (a.x <= b.x ? [a, b] : [b, a])).sort((p, q) => p[0]!.x - q[0]!.x);
  let crossings = 0;
  const cross = (p: { x: number; y: number }, q: { x: number; y: number }, r: { x: number; y: number }): number =>
    (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x);
  for (let i = 0; i < sorted.length; i++) {
    const [a, b] = sorted[i]!;
    for (let j = i + 1; j < sorted.length && sorted[j]![0]!.x < b!.x; j++) {
      const [c, d] = sorted[j]!;
      if (a === c || a === d || b === c || b === d) continue;
      const d1 = cross(a!, b!, c!),
        d2 = cross(a!, b!, d!),
        d3 = cross(c!, d!, a!),
        d4 = cross(c!, d!, b!);
      if (d1 * d2 < 0 && d3 * d4 < 0) crossings++;
    }
  }
  return { width: Math.round(maxX - minX), height: Math.round(maxY - minY), backwards, crossings };
}

async function timed(name: string, run: () => Positions | Promise<Positions>): Promise<void> {
  if (only && !name.includes(only)) return;
  const t0 = performance.now();
  let pos: Positions;
  try {
    pos = await run();
  } catch (e) {
    console.log(`| ${name} | failed: ${(e as Error).message.split('\n')[0]} |`);
    return;
  }
  const ms = performance.now() - t0;
  const q = quality(pos);
  console.log(`| ${name} | ${ms.toFixed(0)} | ${q.width} × ${q.height} | ${q.backwards} | ${q.crossings} |`);
}

async function main(): Promise<void> {
  console.log('| library | layout ms | extent (px) | backward edges | crossings |\n| --- | ---: | --- | ---: | ---: |');

  await timed('webview/layout.ts (this project)', () => {
    const res = layeredLayout(
      graph.map((a) => ({ id: a.name, group: a.group })),
      edges.map(([source, target]) => ({ source, target })),
      { nodeWidth: W, nodeHeight: H, rankSep: 80, nodeSep: 16 },
    );
    return new Map([...res.positions].map(([id, p]) => [id, { x: p.x, y: p.y }]));
  });

  await timed('@dagrejs/dagre (LR, network-simplex)', () => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 80 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const a of graph) g.setNode(a.name, { width: W, height: H });
    for (const [s, t] of edges) g.setEdge(s, t);
    dagre.layout(g);
    return new Map(graph.map((a) => [a.name, { x: g.node(a.name).x, y: g.node(a.name).y }]));
  });

  await timed('@dagrejs/dagre (LR, longest-path ranker)', () => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 80, ranker: 'longest-path' });
    g.setDefaultEdgeLabel(() => ({}));
    for (const a of graph) g.setNode(a.name, { width: W, height: H });
    for (const [s, t] of edges) g.setEdge(s, t);
    dagre.layout(g);
    return new Map(graph.map((a) => [a.name, { x: g.node(a.name).x, y: g.node(a.name).y }]));
  });

  await timed('elkjs layered (RIGHT, defaults)', async () => {
    const elk = new ELK();
    const res = await elk.layout({
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'RIGHT',
        'elk.spacing.nodeNode': '16',
        'elk.layered.spacing.nodeNodeBetweenLayers': '80',
      },
      children: graph.map((a) => ({ id: a.name, width: W, height: H })),
      edges: edges.map(([s, t], i) => ({ id: `e${i}`, sources: [s], targets: [t] })),
    });
    return new Map(res.children!.map((c) => [c.id, { x: c.x! + W / 2, y: c.y! + H / 2 }]));
  });

  await timed('elkjs layered (RIGHT, LINEAR_SEGMENTS, POLYLINE)', async () => {
    const elk = new ELK();
    const res = await elk.layout({
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'RIGHT',
        'elk.spacing.nodeNode': '16',
        'elk.layered.spacing.nodeNodeBetweenLayers': '80',
        'elk.layered.nodePlacement.strategy': 'LINEAR_SEGMENTS',
        'elk.edgeRouting': 'POLYLINE',
      },
      children: graph.map((a) => ({ id: a.name, width: W, height: H })),
      edges: edges.map(([s, t], i) => ({ id: `e${i}`, sources: [s], targets: [t] })),
    });
    return new Map(res.children!.map((c) => [c.id, { x: c.x! + W / 2, y: c.y! + H / 2 }]));
  });

  await timed('d3-dag sugiyama (two-layer decross, simplex coords)', () => {
    const g = d3dag.graphStratify()(graph.map((a) => ({ id: a.name, parentIds: a.deps.map((d) => d.asset) })));
    d3dag
      .sugiyama()
      .nodeSize([H + 16, W + 80])
      .decross(d3dag.decrossTwoLayer())
      .coord(d3dag.coordSimplex())(g);
    // d3-dag lays out top to bottom: y is the layer; swap to left-to-right.
    return new Map([...g.nodes()].map((n) => [n.data.id, { x: n.y, y: n.x }]));
  });

  await timed('d3-dag sugiyama (two-layer decross, greedy coords)', () => {
    const g = d3dag.graphStratify()(graph.map((a) => ({ id: a.name, parentIds: a.deps.map((d) => d.asset) })));
    d3dag
      .sugiyama()
      .nodeSize([H + 16, W + 80])
      .decross(d3dag.decrossTwoLayer())
      .coord(d3dag.coordGreedy())(g);
    return new Map([...g.nodes()].map((n) => [n.data.id, { x: n.y, y: n.x }]));
  });
}

void main();
