// A layered (Sugiyama-style) layout for the asset graph, left to right. Written for this view
// rather than taken from a library: on 2,000 assets / 4,300 edges @dagrejs/dagre needs ~30 s
// (longest-path ranker; ~350 s with network simplex), elkjs ~35 s and d3-dag ~120 s (see
// bench/graph-layout-libs.ts); this one takes well under 100 ms. The steps are the classic
// ones, each chosen to be linear or near-linear:
//   1. cycles broken by reversing DFS back edges (cycles are definition errors, but still drawn);
//   2. longest-path layering, then nodes with more outputs than inputs moved right (shorter edges);
//   3. a dummy node per layer crossed by a long edge, so edges run between the nodes;
//   4. order in layers: median sweeps down and up, keeping the order with the fewest crossings
//      (counted with Barth–Jünger–Mutzel's accumulator tree);
//   5. y coordinates: each layer pulled toward its neighbours' positions, overlaps removed by
//      isotonic regression (pool adjacent violators), which keeps the order and the gaps.
// Pure: no DOM, so it runs in node:test and in the webview alike.

export interface LayoutNode {
  id: string;
  /** Nodes of a group start out together (the sweeps may still separate them). */
  group?: string;
}

export interface LayoutEdge {
  source: string;
  target: string;
}

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal gap between layers. */
  rankSep: number;
  /** Vertical gap between nodes of a layer. */
  nodeSep: number;
  /** Vertical room an edge passing through a layer takes. */
  edgeSep: number;
  /** Maximum ordering sweeps (down + up counts as one). */
  sweeps: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 220, nodeHeight: 64, rankSep: 90, nodeSep: 18, edgeSep: 8, sweeps: 12 };

export interface EdgeRoute {
  source: string;
  target: string;
  /** Flat [x0, y0, x1, y1, …] from the source's right side to the target's left side. */
  points: number[];
  /** Drawn against the layering: the edge closes a cycle. */
  reversed: boolean;
}

export interface LayoutResult {
  /** Centre of each node. */
  positions: Map<string, { x: number; y: number; layer: number }>;
  edges: EdgeRoute[];
  width: number;
  height: number;
  layers: number;
  crossings: number;
}

/** Lays out the graph. Edges naming unknown nodes and self-loops are left out. */
export function layeredLayout(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  options: Partial<LayoutOptions> = {},
): LayoutResult {
  const o = { ...DEFAULT_LAYOUT, ...options };
  const n = nodes.length;
  const index = new Map<string, number>();
  nodes.forEach((node, i) => index.set(node.id, i));

  // Unique edges between known, distinct nodes.
  const pairs: Array<[number, number]> = [];
  const seenPair = new Set<number>();
  for (const e of edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    const key = s * n + t;
    if (seenPair.has(key)) continue;
    seenPair.add(key);
    pairs.push([s, t]);
  }

  const reversed = breakCycles(n, pairs);
  const dag = pairs.map(([s, t], i) => (reversed[i] ? ([t, s] as [number, number]) : ([s, t] as [number, number])));
  const layer = assignLayers(n, dag);
  const L = n === 0 ? 0 : Math.max(...layer) + 1;

  // Dummy nodes: chain[i] lists the nodes an edge passes through, source to target.
  const nodeLayer: number[] = [...layer];
  const up: number[][] = Array.from({ length: n }, () => []);
  const down: number[][] = Array.from({ length: n }, () => []);
  const chains: number[][] = [];
  for (const [s, t] of dag) {
    const chain = [s];
    let prev = s;
    for (let l = layer[s]! + 1; l < layer[t]!; l++) {
      const d = nodeLayer.length;
      nodeLayer.push(l);
      up.push([prev]);
      down.push([]);
      down[prev]!.push(d);
      chain.push(d);
      prev = d;
    }
    down[prev]!.push(t);
    up[t]!.push(prev);
    chain.push(t);
    chains.push(chain);
  }
  const total = nodeLayer.length;

  // Initial order: by group, then by input order; dummies after their upstream neighbour.
  const groupRank = new Map<string, number>();
  for (const node of nodes) if (node.group !== undefined && !groupRank.has(node.group)) groupRank.set(node.group, groupRank.size);
  const initialKey = new Float64Array(total);
  for (let v = 0; v < n; v++) initialKey[v] = (groupRank.get(nodes[v]!.group ?? '') ?? 0) * (n + 1) + v;
  const byLayer: number[][] = Array.from({ length: L }, () => []);
  for (let v = 0; v < total; v++) byLayer[nodeLayer[v]!]!.push(v);
  for (let v = n; v < total; v++) initialKey[v] = initialKey[up[v]![0]!]! + 0.5;
  for (const list of byLayer) list.sort((a, b) => initialKey[a]! - initialKey[b]!);

  const order = orderLayers(byLayer, up, down, o.sweeps);
  const crossings = countAllCrossings(order.layers, down, order.pos);

  // y coordinates.
  const size = (v: number): number => (v < n ? o.nodeHeight : 0);
  // Between a node and an edge passing by: half of each gap, so that two nodes with edges between
  // them are still at least nodeSep apart.
  const gap = (a: number, b: number): number => {
    const reals = Number(a < n) + Number(b < n);
    const sep = reals === 2 ? o.nodeSep : reals === 1 ? (o.nodeSep + o.edgeSep) / 2 : o.edgeSep;
    return sep + (size(a) + size(b)) / 2;
  };
  const y = new Float64Array(total);
  for (const list of order.layers) {
    let cur = 0;
    list.forEach((v, k) => {
      if (k > 0) cur += gap(list[k - 1]!, v);
      y[v] = cur;
    });
  }
  // Dummies weigh more: long edges straighten, and nodes move toward the edges they own.
  const weight = (v: number): number => (v < n ? 1 : 4);
  const place = (list: number[], neighbours: number[][], alsoOther?: number[][]): void => {
    const m = list.length;
    if (m === 0) return;
    const desired = new Float64Array(m);
    const w = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      const v = list[k]!;
      let sum = 0;
      let cnt = 0;
      for (const u of neighbours[v]!) {
        sum += y[u]!;
        cnt++;
      }
      if (alsoOther) {
        for (const u of alsoOther[v]!) {
          sum += y[u]!;
          cnt++;
        }
      }
      desired[k] = cnt > 0 ? sum / cnt : y[v]!;
      w[k] = cnt > 0 ? weight(v) : 0.05;
    }
    const gaps = new Float64Array(m);
    for (let k = 1; k < m; k++) gaps[k] = gaps[k - 1]! + gap(list[k - 1]!, list[k]!);
    const solved = isotonicWithGaps(desired, w, gaps);
    for (let k = 0; k < m; k++) y[list[k]!] = solved[k]!;
  };
  for (let it = 0; it < 4; it++) {
    for (let l = 1; l < L; l++) place(order.layers[l]!, up);
    for (let l = L - 2; l >= 0; l--) place(order.layers[l]!, down);
  }
  for (let l = 0; l < L; l++) place(order.layers[l]!, up, down);

  let minTop = Infinity;
  let maxBottom = -Infinity;
  for (let v = 0; v < total; v++) {
    minTop = Math.min(minTop, y[v]! - size(v) / 2);
    maxBottom = Math.max(maxBottom, y[v]! + size(v) / 2);
  }
  if (total === 0) minTop = maxBottom = 0;
  const step = o.nodeWidth + o.rankSep;
  const xOf = (l: number): number => l * step + o.nodeWidth / 2;

  const positions = new Map<string, { x: number; y: number; layer: number }>();
  for (let v = 0; v < n; v++) positions.set(nodes[v]!.id, { x: xOf(layer[v]!), y: y[v]! - minTop, layer: layer[v]! });

  const routes: EdgeRoute[] = chains.map((chain, i) => {
    const points: number[] = [];
    const s = chain[0]!;
    const t = chain[chain.length - 1]!;
    points.push(xOf(layer[s]!) + o.nodeWidth / 2, y[s]! - minTop);
    for (let k = 1; k < chain.length - 1; k++) {
      const d = chain[k]!;
      const x = xOf(nodeLayer[d]!);
      points.push(x - o.nodeWidth / 2, y[d]! - minTop, x + o.nodeWidth / 2, y[d]! - minTop);
    }
    points.push(xOf(layer[t]!) - o.nodeWidth / 2, y[t]! - minTop);
    const [ps, pt] = pairs[i]!;
    return { source: nodes[ps]!.id, target: nodes[pt]!.id, points: reversed[i] ? reversePoints(points) : points, reversed: reversed[i]! };
  });

  return { positions, edges: routes, width: L === 0 ? 0 : (L - 1) * step + o.nodeWidth, height: maxBottom - minTop, layers: L, crossings };
}

function reversePoints(points: number[]): number[] {
  const out: number[] = [];
  for (let k = points.length - 2; k >= 0; k -= 2) out.push(points[k]!, points[k + 1]!);
  return out;
}

/** Marks the edges to reverse so that the graph has no cycle: back edges of an iterative DFS in input order. */
export function breakCycles(n: number, pairs: ReadonlyArray<readonly [number, number]>): boolean[] {
  const out: number[][] = Array.from({ length: n }, () => []);
  pairs.forEach(([s], i) => out[s]!.push(i));
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const reversed = pairs.map(() => false);
  const stack: Array<[number, number]> = [];
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    stack.push([root, 0]);
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [v, k] = top;
      if (k < out[v]!.length) {
        top[1]++;
        const e = out[v]![k]!;
        const w = pairs[e]![1];
        if (state[w] === 1) reversed[e] = true;
        else if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  return reversed;
}

/**
 * Longest-path layers (sources at 0), then, from the sinks back, each node with fewer inputs
 * than outputs moved as far right as its outputs allow: that shortens more edges than it
 * lengthens (a table read by one late mart sits next to it, not at the far left).
 */
export function assignLayers(n: number, dag: ReadonlyArray<readonly [number, number]>): number[] {
  const outs: number[][] = Array.from({ length: n }, () => []);
  const indeg = new Int32Array(n);
  for (const [s, t] of dag) {
    outs[s]!.push(t);
    indeg[t]!++;
  }
  const layer = new Array<number>(n).fill(0);
  const topo: number[] = [];
  const left = Int32Array.from(indeg);
  for (let v = 0; v < n; v++) if (left[v] === 0) topo.push(v);
  for (let k = 0; k < topo.length; k++) {
    const v = topo[k]!;
    for (const w of outs[v]!) {
      if (layer[v]! + 1 > layer[w]!) layer[w] = layer[v]! + 1;
      if (--left[w]! === 0) topo.push(w);
    }
  }
  for (let k = topo.length - 1; k >= 0; k--) {
    const v = topo[k]!;
    const o = outs[v]!;
    if (o.length === 0 || indeg[v]! >= o.length) continue;
    let limit = Infinity;
    for (const w of o) limit = Math.min(limit, layer[w]! - 1);
    if (limit > layer[v]!) layer[v] = limit;
  }
  return layer;
}

interface Ordering {
  layers: number[][];
  pos: Int32Array;
}

/** Median sweeps; keeps the best order seen; stops after two sweeps without improvement. */
function orderLayers(initial: number[][], up: number[][], down: number[][], sweeps: number): Ordering {
  const total = up.length;
  const pos = new Int32Array(total);
  const layers = initial.map((l) => [...l]);
  const index = (): void => {
    for (const list of layers) list.forEach((v, k) => (pos[v] = k));
  };
  index();
  let best = layers.map((l) => [...l]);
  let bestCrossings = countAllCrossings(layers, down, pos);
  let stale = 0;
  const key = new Float64Array(total);
  const sortBy = (list: number[], neighbours: number[][]): void => {
    for (const v of list) {
      const nb = neighbours[v]!;
      if (nb.length === 0) {
        key[v] = -1; // fixed: keeps its slot below
        continue;
      }
      if (nb.length === 1)
        key[v] = pos[nb[0]!]!; // a dummy, mostly
      else if (nb.length === 2) key[v] = (pos[nb[0]!]! + pos[nb[1]!]!) / 2;
      else {
        const p = Int32Array.from(nb, (u) => pos[u]!).sort();
        const mid = p.length >> 1;
        key[v] = p.length % 2 ? p[mid]! : (p[mid - 1]! + p[mid]!) / 2;
      }
    }
    // Nodes without neighbours keep their positions; the others are sorted around them.
    const movable = list.filter((v) => key[v]! >= 0).sort((a, b) => key[a]! - key[b]! || pos[a]! - pos[b]!);
    let m = 0;
    for (let k = 0; k < list.length; k++) if (key[list[k]!]! >= 0) list[k] = movable[m++]!;
    list.forEach((v, k) => (pos[v] = k));
  };
  for (let s = 0; s < sweeps && bestCrossings > 0; s++) {
    for (let l = 1; l < layers.length; l++) sortBy(layers[l]!, up);
    for (let l = layers.length - 2; l >= 0; l--) sortBy(layers[l]!, down);
    const c = countAllCrossings(layers, down, pos);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((l) => [...l]);
      stale = 0;
    } else if (++stale >= 2) break;
  }
  for (let l = 0; l < layers.length; l++) layers[l] = best[l]!;
  index();
  return { layers, pos };
}

/** Crossings between consecutive layers, each pair counted with an accumulator tree (O(E log V)). */
export function countAllCrossings(layers: number[][], down: number[][], pos: Int32Array): number {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const targets: number[] = [];
    for (const v of layers[l]!) {
      const d = down[v]!;
      if (d.length === 1) targets.push(pos[d[0]!]!);
      else if (d.length > 1) for (const p of Int32Array.from(d, (w) => pos[w]!).sort()) targets.push(p);
    }
    total += countInversions(targets, layers[l + 1]!.length);
  }
  return total;
}

/** Pairs i < j with seq[i] > seq[j], for values in [0, size). */
export function countInversions(seq: readonly number[], size: number): number {
  let first = 1;
  while (first < size) first <<= 1;
  const tree = new Int32Array(2 * first);
  first -= 1;
  let count = 0;
  for (const p of seq) {
    let i = p + first;
    tree[i]!++;
    while (i > 0) {
      if (i % 2) count += tree[i + 1]!;
      i = (i - 1) >> 1;
      tree[i]!++;
    }
  }
  return count;
}

/**
 * Positions closest (weighted least squares) to `desired` such that
 * y[k] - y[k-1] >= gaps[k] - gaps[k-1]: with z = y - gaps this is isotonic regression of
 * desired - gaps, solved by pool adjacent violators in O(m).
 */
export function isotonicWithGaps(desired: Float64Array, weights: Float64Array, gaps: Float64Array): Float64Array {
  const m = desired.length;
  const value = new Float64Array(m);
  const wsum = new Float64Array(m);
  const start = new Int32Array(m);
  let blocks = 0;
  for (let k = 0; k < m; k++) {
    value[blocks] = desired[k]! - gaps[k]!;
    wsum[blocks] = weights[k]!;
    start[blocks] = k;
    blocks++;
    while (blocks > 1 && value[blocks - 2]! > value[blocks - 1]!) {
      const w = wsum[blocks - 2]! + wsum[blocks - 1]!;
      value[blocks - 2] =
        w > 0
          ? (value[blocks - 2]! * wsum[blocks - 2]! + value[blocks - 1]! * wsum[blocks - 1]!) / w
          : (value[blocks - 2]! + value[blocks - 1]!) / 2;
      wsum[blocks - 2] = w;
      blocks--;
    }
  }
  const out = new Float64Array(m);
  for (let b = 0; b < blocks; b++) {
    const end = b + 1 < blocks ? start[b + 1]! : m;
    for (let k = start[b]!; k < end; k++) out[k] = value[b]! + gaps[k]!;
  }
  return out;
}
