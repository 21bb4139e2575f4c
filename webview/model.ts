// The webview's copy of the graph: assets, their statuses, and the graph as drawn (assets, or
// whole groups when collapsed), with lineage and search. Pure: no DOM.
import { countsByName, describeCounts as describeByName } from '../src/shared/statuses.ts';
import { decodeStatuses, type AssetStatusWire, type GraphAsset, type StatusCounts } from '../src/shared/graphProtocol.ts';

/** Prefix of a collapsed group's node id (asset names never contain a NUL). */
export const GROUP_PREFIX = '\u0000group:';

export interface ViewNode {
  id: string;
  kind: 'asset' | 'group';
  /** Asset name, or group name. */
  label: string;
  group: string;
  /** The asset's partitions text, or `12 assets`. */
  subtitle: string;
  /** Assets drawn by this node (one for an asset). */
  members: string[];
  /** Mapping of a self-dependency (`offset -1`), drawn on the node rather than as a loop. */
  selfDep?: string;
  unpartitioned: boolean;
}

export interface ViewEdge {
  source: string;
  target: string;
  /** The mapping when it is not the default (several: joined; aggregated group edges: null). */
  label: string | null;
  /** Dependencies this edge stands for (more than one between collapsed groups). */
  count: number;
}

export interface GraphViewModel {
  nodes: ViewNode[];
  edges: ViewEdge[];
  /** The view node drawing each asset. */
  nodeOf: Map<string, string>;
  byId: Map<string, ViewNode>;
  /** Neighbours by view node id. */
  upstream: Map<string, string[]>;
  downstream: Map<string, string[]>;
}

export class AssetStore {
  assets: GraphAsset[] = [];
  byName = new Map<string, GraphAsset>();
  statuses = new Map<string, Uint8Array>();
  counts = new Map<string, StatusCounts>();
  revision = -1;

  setGraph(assets: GraphAsset[], statuses: AssetStatusWire[], revision: number): void {
    this.assets = assets;
    this.byName = new Map(assets.map((a) => [a.name, a]));
    this.statuses.clear();
    this.counts.clear();
    this.revision = revision;
    this.applyStatuses(statuses);
  }

  /** Applies status updates; returns the names that changed (bad or unknown entries are skipped). */
  applyStatuses(wires: readonly AssetStatusWire[]): string[] {
    const changed: string[] = [];
    for (const w of wires) {
      const asset = this.byName.get(w.name);
      if (!asset) continue;
      const status = decodeStatuses(w.statuses, asset.size);
      if (!status) continue;
      this.statuses.set(w.name, status);
      this.counts.set(w.name, w.counts);
      changed.push(w.name);
    }
    return changed;
  }

  /** Counts of a view node: its asset's, or the sum over a group's members. */
  countsOf(node: ViewNode): StatusCounts {
    const out: StatusCounts = [0, 0, 0, 0, 0];
    for (const m of node.members) {
      const c = this.counts.get(m);
      if (c) for (let k = 0; k < 5; k++) out[k as 0] += c[k as 0];
    }
    return out;
  }
}

/** The graph as drawn: assets of the `collapsed` groups merged into one node per group. */
export function buildView(assets: readonly GraphAsset[], collapsed: ReadonlySet<string>): GraphViewModel {
  const nodes: ViewNode[] = [];
  const nodeOf = new Map<string, string>();
  const groups = new Map<string, ViewNode>();
  for (const a of assets) {
    if (collapsed.has(a.group)) {
      let g = groups.get(a.group);
      if (!g) {
        g = { id: GROUP_PREFIX + a.group, kind: 'group', label: a.group, group: a.group, subtitle: '', members: [], unpartitioned: false };
        groups.set(a.group, g);
        nodes.push(g);
      }
      g.members.push(a.name);
      nodeOf.set(a.name, g.id);
    } else {
      const self = a.deps.find((d) => d.asset === a.name);
      const node: ViewNode = {
        id: a.name,
        kind: 'asset',
        label: a.name,
        group: a.group,
        subtitle: a.partitionsText,
        members: [a.name],
        unpartitioned: a.kind === 'unpartitioned',
      };
      if (self) node.selfDep = self.mapping ?? 'self';
      nodes.push(node);
      nodeOf.set(a.name, a.name);
    }
  }
  for (const g of groups.values()) g.subtitle = `${g.members.length} asset${g.members.length === 1 ? '' : 's'}`;

  const edgeMap = new Map<string, ViewEdge>();
  for (const a of assets) {
    const target = nodeOf.get(a.name)!;
    for (const d of a.deps) {
      const source = nodeOf.get(d.asset);
      if (source === undefined || source === target) continue;
      const key = `${source}\u0000${target}`;
      const e = edgeMap.get(key);
      if (e) {
        e.count++;
        const both = target.startsWith(GROUP_PREFIX) || source.startsWith(GROUP_PREFIX);
        e.label = both ? null : [e.label, d.mapping].filter((l): l is string => !!l).join(', ') || null;
      } else {
        edgeMap.set(key, { source, target, label: d.mapping, count: 1 });
      }
    }
  }
  for (const e of edgeMap.values())
    if (e.source.startsWith(GROUP_PREFIX) || e.target.startsWith(GROUP_PREFIX)) e.label = e.count > 1 ? `×${e.count}` : e.label;
  const edges = [...edgeMap.values()];
  const upstream = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  const downstream = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    upstream.get(e.target)!.push(e.source);
    downstream.get(e.source)!.push(e.target);
  }
  return { nodes, edges, nodeOf, byId: new Map(nodes.map((n) => [n.id, n])), upstream, downstream };
}

export interface Lineage {
  upstream: Set<string>;
  downstream: Set<string>;
}

/** Every node upstream and downstream of `id`, transitively (not `id` itself, unless in a cycle). */
export function lineageOf(view: GraphViewModel, id: string): Lineage {
  const walk = (adj: Map<string, string[]>): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(adj.get(id) ?? [])];
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const w of adj.get(v) ?? []) if (!seen.has(w)) stack.push(w);
    }
    return seen;
  };
  return { upstream: walk(view.upstream), downstream: walk(view.downstream) };
}

/** Whether an edge lies on the lineage of the selected node. */
export function onLineage(e: ViewEdge, selected: string, l: Lineage): boolean {
  const up = (v: string): boolean => v === selected || l.upstream.has(v);
  const down = (v: string): boolean => v === selected || l.downstream.has(v);
  return (up(e.source) && up(e.target) && e.source !== selected) || (down(e.source) && down(e.target) && e.target !== selected);
}

/** Assets whose name contains the text (case-insensitive): prefix matches first, then by name. */
export function searchAssets(assets: readonly GraphAsset[], text: string): string[] {
  const q = text.trim().toLowerCase();
  if (!q) return [];
  const hits = assets.filter((a) => a.name.toLowerCase().includes(q)).map((a) => a.name);
  return hits.sort(
    (a, b) => Number(!a.toLowerCase().startsWith(q)) - Number(!b.toLowerCase().startsWith(q)) || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/** Names what the layout depends on: a new layout is needed only when it changes. */
export function layoutKey(view: GraphViewModel): string {
  let key = '';
  for (const n of view.nodes) key += n.id + '\n';
  key += '\u0001';
  for (const e of view.edges) key += `${e.source}>${e.target}\n`;
  return key;
}

/** `12 stale · 3 missing · 1 failed`, `all 62 fresh`; one word for an unpartitioned asset (as the Assets view says it). */
export function describeCounts(c: StatusCounts, unpartitioned = false): string {
  return describeByName(countsByName(c), unpartitioned);
}
