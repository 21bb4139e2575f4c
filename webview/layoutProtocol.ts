// The messages between the graph page and its layout worker (webview/layoutWorker.ts), both
// directions typed here. Nodes travel by index and a layout comes back packed into typed arrays,
// which are transferred rather than copied; the page unpacks it with the node ids it sent.
// Pure: no DOM, so the packing runs in node:test as well.
import { layeredLayout, type EdgeRoute, type LayoutEdge, type LayoutNode, type LayoutOptions, type LayoutResult } from './layout.ts';

/** Page → worker: lay out this graph. */
export interface LayoutRequest {
  type: 'layout';
  id: number;
  ids: string[];
  /** Each node's group ('' for none). */
  groups: string[];
  /** Flat [source, target, …] node indexes; edges naming unknown nodes are left out. */
  edges: Int32Array;
  options: Partial<LayoutOptions>;
}

/** A LayoutResult by node index. */
export interface PackedLayout {
  /** [x, y, layer, …] per node, in request order. */
  positions: Float64Array;
  /** [source, target, …] node indexes per edge route. */
  ends: Int32Array;
  /** Route k's points are points[offsets[k]] … points[offsets[k + 1] - 1] (one more offset than routes). */
  offsets: Int32Array;
  points: Float64Array;
  reversed: Uint8Array;
  width: number;
  height: number;
  layers: number;
  crossings: number;
}

/** Worker → page: the layout of request `id`. */
export interface LayoutReply {
  type: 'layout';
  id: number;
  layout: PackedLayout;
}

/** Worker → page: laying out request `id` threw. */
export interface LayoutFailure {
  type: 'error';
  id: number;
  message: string;
}

export type WorkerReply = LayoutReply | LayoutFailure;

/** What the worker answers arrives from our own bundle: a shape check is enough. */
export function isWorkerReply(m: unknown): m is WorkerReply {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as { type?: unknown; id?: unknown; layout?: unknown; message?: unknown };
  if (typeof r.id !== 'number') return false;
  return (
    (r.type === 'layout' && typeof r.layout === 'object' && r.layout !== null) || (r.type === 'error' && typeof r.message === 'string')
  );
}

/** The request for a graph, and the buffers to transfer with it. */
export function packRequest(
  id: number,
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  options: Partial<LayoutOptions>,
): [LayoutRequest, Transferable[]] {
  const index = new Map<string, number>();
  nodes.forEach((node, i) => index.set(node.id, i));
  const flat = new Int32Array(edges.length * 2);
  let k = 0;
  for (const e of edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined) continue;
    flat[k++] = s;
    flat[k++] = t;
  }
  const packed = flat.slice(0, k);
  return [
    { type: 'layout', id, ids: nodes.map((n) => n.id), groups: nodes.map((n) => n.group ?? ''), edges: packed, options },
    [packed.buffer],
  ];
}

/** The worker's side: lays out the request; the reply and the buffers to transfer with it. */
export function answerRequest(r: LayoutRequest): [WorkerReply, Transferable[]] {
  try {
    const nodes: LayoutNode[] = r.ids.map((id, i) => (r.groups[i] ? { id, group: r.groups[i] } : { id }));
    const edges: LayoutEdge[] = [];
    for (let k = 0; k + 1 < r.edges.length; k += 2) edges.push({ source: r.ids[r.edges[k]!]!, target: r.ids[r.edges[k + 1]!]! });
    const layout = packLayout(layeredLayout(nodes, edges, r.options), r.ids);
    return [
      { type: 'layout', id: r.id, layout },
      [layout.positions.buffer, layout.ends.buffer, layout.offsets.buffer, layout.points.buffer, layout.reversed.buffer],
    ];
  } catch (e) {
    return [{ type: 'error', id: r.id, message: e instanceof Error ? (e.stack ?? e.message) : String(e) }, []];
  }
}

export function packLayout(result: LayoutResult, ids: readonly string[]): PackedLayout {
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const positions = new Float64Array(ids.length * 3);
  ids.forEach((id, i) => {
    const p = result.positions.get(id);
    if (!p) return;
    positions[i * 3] = p.x;
    positions[i * 3 + 1] = p.y;
    positions[i * 3 + 2] = p.layer;
  });
  const routes = result.edges.length;
  const ends = new Int32Array(routes * 2);
  const offsets = new Int32Array(routes + 1);
  const reversed = new Uint8Array(routes);
  result.edges.forEach((e, k) => {
    ends[k * 2] = index.get(e.source)!;
    ends[k * 2 + 1] = index.get(e.target)!;
    offsets[k + 1] = offsets[k]! + e.points.length;
    reversed[k] = e.reversed ? 1 : 0;
  });
  const points = new Float64Array(offsets[routes]!);
  result.edges.forEach((e, k) => points.set(e.points, offsets[k]!));
  return {
    positions,
    ends,
    offsets,
    points,
    reversed,
    width: result.width,
    height: result.height,
    layers: result.layers,
    crossings: result.crossings,
  };
}

/** The LayoutResult of a packed layout of the nodes `ids` (the ids of the request). */
export function unpackLayout(p: PackedLayout, ids: readonly string[]): LayoutResult {
  const positions = new Map<string, { x: number; y: number; layer: number }>();
  ids.forEach((id, i) => positions.set(id, { x: p.positions[i * 3]!, y: p.positions[i * 3 + 1]!, layer: p.positions[i * 3 + 2]! }));
  const edges: EdgeRoute[] = [];
  for (let k = 0; k < p.reversed.length; k++) {
    edges.push({
      source: ids[p.ends[k * 2]!]!,
      target: ids[p.ends[k * 2 + 1]!]!,
      points: Array.from(p.points.subarray(p.offsets[k]!, p.offsets[k + 1]!)),
      reversed: p.reversed[k] === 1,
    });
  }
  return { positions, edges, width: p.width, height: p.height, layers: p.layers, crossings: p.crossings };
}
