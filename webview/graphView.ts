// Draws the laid-out graph with d3 in SVG, in two levels of detail chosen by zoom:
//  - close up (scale ≥ DETAIL_SCALE): one <g> per node (name, group and partitions, health
//    bar) and one path per edge (mapping label), only for what lies in or near the viewport;
//  - overview: every node at once, but batched: all edges in one path, all health segments of
//    one status in one path, so a 2,000-asset graph is a dozen elements to paint per frame.
// Panning and zooming move the drawn layer on the compositor and redraw once the view rests (see
// onZoom); nodes are re-joined when the viewport leaves the drawn region or the level of detail
// changes. Pointer hits are computed from the layout, not
// from the DOM, so both levels behave alike.
import { select, zoom, zoomIdentity, type D3ZoomEvent, type Selection, type ZoomBehavior } from 'd3';
import type { StatusCounts } from '../src/shared/graphProtocol.ts';
import { STATUS_CODE, STATUS_NAMES } from '../src/shared/statuses.ts';
import {
  centreOf,
  centreOn,
  DETAIL_SCALE,
  fitTransform,
  keepCentre,
  panIntoView,
  visibleRegion,
  zoomExtent,
  type Transform,
} from './camera.ts';
import type { LayoutResult } from './layout.ts';
import { describeCounts, lineageOf, onLineage, type AssetStore, type GraphViewModel, type Lineage, type ViewNode } from './model.ts';

export const NODE_W = 220;
export const NODE_H = 64;
const PAD = 10;
const BAR_Y = 44;
const BAR_H = 10;
export { DETAIL_SCALE } from './camera.ts';
/** How far past the viewport close-up nodes are drawn, as a fraction of its size. */
const MARGIN = 0.5;
/** The health bar's segments, left to right: every status code in code order. */
const BAR_ORDER = STATUS_NAMES.map((n) => STATUS_CODE[n]);
const MAX_NAME = 27;

export type { Transform } from './camera.ts';

export interface GraphViewEvents {
  /** A node was clicked (null: the background). */
  select(id: string | null): void;
  /** Right-click or the context-menu key on a node; client coordinates. */
  contextMenu(id: string, clientX: number, clientY: number): void;
  /** Double-click or Enter on a node. */
  activate(id: string): void;
  /** The view panned or zoomed (for the saved state), with the graph area's size then. */
  viewportChanged(t: Transform, size: { width: number; height: number }): void;
}

interface Placed {
  node: ViewNode;
  x: number;
  y: number;
}

interface EdgeDatum {
  key: string;
  source: string;
  target: string;
  d: string;
  label: string | null;
  labelX: number;
  labelY: number;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export class GraphView {
  readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly root: Selection<SVGGElement, unknown, null, undefined>;
  private readonly overview: Selection<SVGGElement, unknown, null, undefined>;
  private readonly overviewEdges: Selection<SVGGElement, unknown, null, undefined>;
  private readonly overviewNodes: Selection<SVGGElement, unknown, null, undefined>;
  private readonly detail: Selection<SVGGElement, unknown, null, undefined>;
  private readonly edgeLayer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly labelLayer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly nodeLayer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoomBehavior: ZoomBehavior<SVGSVGElement, unknown>;
  private readonly tooltip: HTMLDivElement;

  private view: GraphViewModel | null = null;
  private placed: Placed[] = [];
  private placedById = new Map<string, Placed>();
  private edges: EdgeDatum[] = [];
  private bounds = { width: 0, height: 0 };
  private transform: Transform = { x: 0, y: 0, k: 1 };
  private mode: 'overview' | 'detail' | null = null;
  /** Graph-space region the close-up nodes were drawn for. */
  private drawn = { x0: 0, y0: 0, x1: -1, y1: -1 };
  private nodeElements = new Map<string, SVGGElement>();
  private selected: string | null = null;
  private lineage: Lineage | null = null;
  private matches = new Set<string>();
  private hoverFrame = 0;
  /** Overview nodes in chunks (one per layer), so that a status update repaints one column. */
  private chunks: Placed[][] = [];
  private chunkOf = new Map<string, number>();
  private chunkEls: SVGGElement[] = [];
  private dirtyChunks = new Set<number>();
  private restTimer = 0;
  /** The transform the SVG content was last drawn with (see onZoom). */
  private committed: Transform | null = null;

  constructor(
    private readonly container: HTMLElement,
    private readonly store: AssetStore,
    private readonly events: GraphViewEvents,
  ) {
    this.svg = select(container)
      .append('svg')
      .attr('class', 'graph')
      .attr('tabindex', 0)
      .attr('role', 'group')
      .attr('aria-label', 'Asset graph. Tab to the assets shown, Enter to select, Shift+F10 for actions.');
    const defs = this.svg.append('defs');
    for (const [id, cls] of [
      ['arrow', 'arrow'],
      ['arrow-hl', 'arrow hl'],
    ] as const) {
      defs
        .append('marker')
        .attr('id', id)
        .attr('viewBox', '0 0 10 10')
        .attr('refX', 9)
        .attr('refY', 5)
        .attr('markerWidth', 7)
        .attr('markerHeight', 7)
        .attr('orient', 'auto-start-reverse')
        .append('path')
        .attr('class', cls)
        .attr('d', 'M0,0L10,5L0,10z');
    }
    this.root = this.svg.append('g').attr('class', 'viewport');
    this.overview = this.root.append('g').attr('class', 'overview');
    this.overviewEdges = this.overview.append('g');
    this.overviewNodes = this.overview.append('g');
    this.detail = this.root.append('g').attr('class', 'detail');
    this.edgeLayer = this.detail.append('g').attr('class', 'edges');
    this.labelLayer = this.detail.append('g').attr('class', 'edge-labels');
    this.nodeLayer = this.detail.append('g').attr('class', 'nodes');

    this.zoomBehavior = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.01, 3])
      .on('zoom', (e: D3ZoomEvent<SVGSVGElement, unknown>) => this.onZoom(e));
    this.svg.call(this.zoomBehavior).on('dblclick.zoom', null);

    const node = this.svg.node()!;
    node.addEventListener('click', (e) => {
      const hit = this.hit(e);
      this.events.select(hit);
    });
    node.addEventListener('dblclick', (e) => {
      const hit = this.hit(e);
      if (hit) this.events.activate(hit);
    });
    node.addEventListener('contextmenu', (e) => {
      const hit = this.hit(e);
      if (!hit) return;
      e.preventDefault();
      this.events.contextMenu(hit, e.clientX, e.clientY);
    });
    node.addEventListener('pointermove', (e) => this.onHover(e));
    node.addEventListener('pointerleave', () => this.hideTooltip());
    node.addEventListener('keydown', (e) => this.onKey(e));

    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.setAttribute('role', 'tooltip');
    this.tooltip.hidden = true;
    container.appendChild(this.tooltip);
    new ResizeObserver(() => this.onResize()).observe(container);
  }

  /** The current pan and zoom. */
  get viewport(): Transform {
    return { ...this.transform };
  }

  /**
   * Shows a new graph and layout. Keeps the viewport (moved so that `anchor` stays put on screen)
   * unless told to fit; a transform saved at another `size` of the graph area keeps its centre.
   */
  setGraph(
    view: GraphViewModel,
    layout: LayoutResult,
    viewport:
      | { fit: true }
      | { transform: Transform; size?: { width: number; height: number }; anchor?: string; anchorWas?: { x: number; y: number } },
  ): void {
    this.view = view;
    this.placed = view.nodes.map((node) => {
      const p = layout.positions.get(node.id) ?? { x: 0, y: 0 };
      return { node, x: p.x, y: p.y };
    });
    this.placedById = new Map(this.placed.map((p) => [p.node.id, p]));
    this.chunks = [];
    this.chunkOf.clear();
    for (const node of view.nodes) {
      const layer = layout.positions.get(node.id)?.layer ?? 0;
      (this.chunks[layer] ??= []).push(this.placedById.get(node.id)!);
      this.chunkOf.set(node.id, layer);
    }
    for (let c = 0; c < this.chunks.length; c++) this.chunks[c] ??= [];
    const label = new Map(view.edges.map((e) => [`${e.source}\u0000${e.target}`, e.label]));
    this.edges = layout.edges.map((r) => {
      const p = r.points;
      let minX = Infinity,
        minY = Infinity,
        maxX = -Infinity,
        maxY = -Infinity;
      for (let k = 0; k < p.length; k += 2) {
        minX = Math.min(minX, p[k]!);
        maxX = Math.max(maxX, p[k]!);
        minY = Math.min(minY, p[k + 1]!);
        maxY = Math.max(maxY, p[k + 1]!);
      }
      const n = p.length;
      const key = `${r.source}\u0000${r.target}`;
      return {
        key,
        source: r.source,
        target: r.target,
        d: edgePath(p),
        label: label.get(key) ?? null,
        labelX: (p[n - 4]! + p[n - 2]!) / 2,
        labelY: (p[n - 3]! + p[n - 1]!) / 2,
        minX,
        minY,
        maxX,
        maxY,
      };
    });
    this.bounds = { width: layout.width, height: layout.height };
    if (this.selected && !this.placedById.has(this.selected)) this.selected = null;
    this.lineage = this.selected ? lineageOf(view, this.selected) : null;
    this.nodeLayer.selectAll('*').remove();
    this.edgeLayer.selectAll('*').remove();
    this.labelLayer.selectAll('*').remove();
    this.nodeElements.clear();
    this.mode = null;
    this.overviewNodes.selectAll('*').remove();
    this.chunkEls = this.chunks.map(() => this.overviewNodes.append('g').attr('class', 'o-chunk').node()!);
    this.drawOverviewEdges();
    this.drawOverviewNodes();
    if ('fit' in viewport) this.fit(false);
    else {
      let t = viewport.transform;
      const now = this.size();
      if (viewport.size && now.width && now.height)
        t = { k: t.k, x: t.x + (now.width - viewport.size.width) / 2, y: t.y + (now.height - viewport.size.height) / 2 };
      const a = viewport.anchor ? this.placedById.get(viewport.anchor) : undefined;
      if (a && viewport.anchorWas) t = { k: t.k, x: t.x + (viewport.anchorWas.x - a.x) * t.k, y: t.y + (viewport.anchorWas.y - a.y) * t.k };
      this.setTransform(t, false);
    }
    this.render();
  }

  /** Position of a node in graph space (to keep it in place across a new layout). */
  positionOf(id: string): { x: number; y: number } | undefined {
    const p = this.placedById.get(id);
    return p ? { x: p.x, y: p.y } : undefined;
  }

  /** The node nearest the centre of the viewport. */
  centreNode(): string | undefined {
    const { x: cx, y: cy } = centreOf(this.transform, this.size());
    let best: string | undefined;
    let bestD = Infinity;
    for (const p of this.placed) {
      const d = (p.x - cx) ** 2 + (p.y - cy) ** 2;
      if (d < bestD) {
        bestD = d;
        best = p.node.id;
      }
    }
    return best;
  }

  setSelection(id: string | null): void {
    this.selected = id && this.placedById.has(id) ? id : null;
    this.lineage = this.selected && this.view ? lineageOf(this.view, this.selected) : null;
    this.svg.classed('has-selection', !!this.selected);
    this.drawOverviewEdges();
    this.drawOverviewNodes();
    this.restyleDetail();
  }

  setMatches(ids: Iterable<string>): void {
    this.matches = new Set(ids);
    this.drawOverviewNodes();
    this.restyleDetail();
  }

  /**
   * Redraws the health of these nodes only: their close-up elements (if drawn) and the overview
   * columns holding them (now, or when the overview shows next).
   */
  updateStatuses(nodeIds: Iterable<string>): void {
    for (const id of nodeIds) {
      const el = this.nodeElements.get(id);
      const p = this.placedById.get(id);
      if (el && p) this.drawHealth(el, p.node);
      const c = this.chunkOf.get(id);
      if (c !== undefined) this.dirtyChunks.add(c);
    }
    if (this.mode === 'overview') this.drawDirtyChunks();
  }

  fit(animate = true): void {
    const size = this.size();
    if (!this.bounds.width || !size.width || !size.height) return;
    const t = fitTransform(this.bounds, size);
    this.zoomBehavior.scaleExtent(zoomExtent(t.k));
    this.setTransform(t, animate);
  }

  /** Centres a node, zoomed in close enough to read it. */
  focus(id: string, animate = true): void {
    const p = this.placedById.get(id);
    if (!p) return;
    this.setTransform(centreOn(p, this.size(), Math.max(this.transform.k, 1)), animate);
  }

  /**
   * Pans (at the same zoom) just enough for a node to be wholly in view: after a click selects
   * it, the partitions panel takes the bottom of the page and may cover it.
   */
  reveal(id: string, animate = true): void {
    this.following = id;
    const t = this.animTarget ?? this.transform;
    const d = this.outOfView(id, this.size(), t);
    if (d && (d.dx || d.dy)) this.setTransform({ k: t.k, x: t.x + d.dx, y: t.y + d.dy }, animate);
  }

  /** How far to pan for a node to be wholly in an area of `size` (16 px in from its edges) at transform `t`; 0, 0 when it is. */
  private outOfView(id: string, size: { width: number; height: number }, t: Transform): { dx: number; dy: number } | undefined {
    const p = this.placedById.get(id);
    return p ? panIntoView({ x: p.x, y: p.y, width: NODE_W, height: NODE_H }, size, t) : undefined;
  }

  /** Client coordinates of a node's box (for menus opened from the keyboard). */
  clientPoint(id: string): { x: number; y: number } | undefined {
    const p = this.placedById.get(id);
    if (!p) return undefined;
    const r = this.container.getBoundingClientRect();
    return { x: r.left + this.transform.x + p.x * this.transform.k, y: r.top + this.transform.y + (p.y + NODE_H / 2) * this.transform.k };
  }

  private size(): { width: number; height: number } {
    const r = this.container.getBoundingClientRect();
    return { width: r.width, height: r.height };
  }

  private setTransform(t: Transform, animate: boolean): void {
    // Computed for the area's size now: a resize noticed later is measured from this size.
    const now = this.size();
    if (now.width && now.height) this.lastSize = now;
    const target = zoomIdentity.translate(t.x, t.y).scale(t.k);
    const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    if (animate && !reduced) {
      const goal = { ...t };
      this.animTarget = goal;
      this.svg
        .transition()
        .duration(350)
        .call(this.zoomBehavior.transform, target)
        .on('end interrupt', () => {
          if (this.animTarget === goal) this.animTarget = null;
        });
    } else {
      this.animTarget = null;
      this.svg.call(this.zoomBehavior.transform, target);
      this.commit();
    }
  }

  /**
   * Pan and zoom move the drawn SVG as one composited layer (a CSS transform relative to the
   * transform it was drawn with): no repaint per frame, which matters without a GPU, where
   * repainting thousands of curves and labels takes 50–300 ms. Once the view rests (or leaves
   * the region drawn close up), the content is redrawn at the new transform.
   */
  private onZoom(e: D3ZoomEvent<SVGSVGElement, unknown>): void {
    const { x, y, k } = e.transform;
    this.transform = { x, y, k };
    this.hideTooltip();
    if (e.sourceEvent) this.following = null; // the user moved the view: it no longer follows the selection
    this.events.viewportChanged(this.viewport, this.lastSize ?? this.size());
    const c = this.committed;
    if (!c) {
      this.commit();
      return;
    }
    const s = k / c.k;
    this.svg.style('transform', `translate(${x - s * c.x}px,${y - s * c.y}px) scale(${s})`);
    if (this.restTimer) clearTimeout(this.restTimer);
    this.restTimer = window.setTimeout(() => this.commit(), 150);
    if (this.mode === 'detail' && k >= DETAIL_SCALE && !this.viewportInside()) this.commit();
  }

  private lastSize: { width: number; height: number } | undefined;
  /** Where a running pan/zoom animation is going. */
  private animTarget: Transform | null = null;
  /** The node clicked last, kept in view through resizes until the user pans or zooms. */
  private following: string | null = null;

  /**
   * The graph area changed size (the partitions panel opened, the terminal panel took room, the
   * editor group was resized): the view keeps its centre rather than its top-left corner, so
   * what was in the middle stays in sight, and so does a node just clicked (until the user pans
   * or zooms) if it was in view. A hidden page (size 0) changes nothing.
   */
  private onResize(): void {
    const now = this.size();
    const was = this.lastSize;
    if (!now.width || !now.height) return;
    this.lastSize = now;
    if (!was || (was.width === now.width && was.height === now.height) || !this.bounds.width) return this.commit();
    // While an animation runs (a focus, a fit), its goal is what moves: the animation goes on.
    const animating = this.animTarget;
    const base = animating ?? this.transform;
    const follow = this.following && this.following === this.selected ? this.following : null;
    const before = follow ? this.outOfView(follow, was, base) : undefined;
    let next = keepCentre(base, was, now);
    const d = follow && before && !before.dx && !before.dy ? this.outOfView(follow, now, next) : undefined;
    if (d) next = { k: next.k, x: next.x + d.dx, y: next.y + d.dy };
    this.setTransform(next, !!animating);
  }

  /** Draws the content at the current transform and drops the interim CSS transform. */
  private commit(): void {
    if (this.restTimer) clearTimeout(this.restTimer);
    this.restTimer = 0;
    const { x, y, k } = this.transform;
    this.committed = { x, y, k };
    this.root.attr('transform', `translate(${x},${y}) scale(${k})`);
    this.svg.style('transform', null);
    this.render();
  }

  /** The visible region in graph space. */
  private visibleRegion(margin: number): { x0: number; y0: number; x1: number; y1: number } {
    return visibleRegion(this.transform, this.size(), margin);
  }

  private viewportInside(): boolean {
    const v = this.visibleRegion(0);
    const d = this.drawn;
    return v.x0 >= d.x0 && v.y0 >= d.y0 && v.x1 <= d.x1 && v.y1 <= d.y1;
  }

  /** Draws the level of detail the scale asks for. */
  render(): void {
    if (!this.view) return;
    const mode = this.transform.k >= DETAIL_SCALE ? 'detail' : 'overview';
    if (mode !== this.mode) {
      this.mode = mode;
      this.overview.attr('display', mode === 'overview' ? null : 'none');
      this.detail.attr('display', mode === 'detail' ? null : 'none');
      this.svg.classed('is-overview', mode === 'overview');
      if (mode === 'overview') this.drawDirtyChunks();
    }
    if (mode === 'detail') this.renderDetail();
  }

  // ── overview ──────────────────────────────────────────────────────────────────────────────

  private drawOverviewEdges(): void {
    let all = '';
    let hl = '';
    const sel = this.selected;
    for (const e of this.edges) {
      if (sel && this.lineage && this.isLineageEdge(e)) hl += e.d;
      else all += e.d;
    }
    this.overviewEdges
      .selectAll('path.o-edges')
      .data([all, hl])
      .join('path')
      .attr('class', (_, i) => (i === 0 ? 'o-edges' : 'o-edges hl'))
      .attr('d', (d) => d || null);
  }

  /** Every overview column (after a new graph, selection or search). */
  private drawOverviewNodes(): void {
    for (let c = 0; c < this.chunks.length; c++) this.dirtyChunks.add(c);
    this.drawDirtyChunks();
  }

  private drawDirtyChunks(): void {
    for (const c of this.dirtyChunks) {
      const list = this.chunks[c];
      const el = this.chunkEls[c];
      if (!list || !el) continue;
      const bright = this.overviewPaths(
        list.filter((p) => !this.dimmed(p.node.id)),
        '',
      );
      const dim = this.selected
        ? this.overviewPaths(
            list.filter((p) => this.dimmed(p.node.id)),
            ' o-dim',
          )
        : [];
      select(el)
        .selectAll('path')
        .data([...dim, ...bright].filter((d) => d.d))
        .join('path')
        .attr('class', (d) => d.cls)
        .attr('d', (d) => d.d);
    }
    this.dirtyChunks.clear();
  }

  private overviewPaths(list: Placed[], extra: string): Array<{ cls: string; d: string }> {
    const seg = ['', '', '', '', ''];
    let stale = '';
    let failed = '';
    let match = '';
    let selected = '';
    for (const p of list) {
      const x0 = round(p.x - NODE_W / 2);
      const y0 = round(p.y - NODE_H / 2);
      const counts = this.store.countsOf(p.node);
      const total = counts.reduce((a, b) => a + b, 0);
      let x = x0;
      for (const s of BAR_ORDER) {
        if (!counts[s]) continue;
        const w = total ? (counts[s] / total) * NODE_W : 0;
        seg[s] += `M${round(x)},${y0}h${round(w)}v${NODE_H}h${-round(w)}z`;
        x += w;
      }
      if (!total) seg[STATUS_CODE.missing] += rectPath(x0, y0, NODE_W, NODE_H);
      const box = rectPath(x0, y0, NODE_W, NODE_H);
      if (counts[STATUS_CODE.failed]) failed += box;
      else if (counts[STATUS_CODE.stale]) stale += box;
      if (this.matches.has(p.node.id)) match += rectPath(x0 - 12, y0 - 12, NODE_W + 24, NODE_H + 24);
      if (p.node.id === this.selected) selected += rectPath(x0 - 20, y0 - 20, NODE_W + 40, NODE_H + 40);
    }
    return [
      ...seg.map((d, s) => ({ cls: `o-seg s${s}${extra}`, d })),
      { cls: `o-stale${extra}`, d: stale },
      { cls: `o-failed${extra}`, d: failed },
      { cls: `o-match${extra}`, d: match },
      { cls: `o-selected${extra}`, d: selected },
    ];
  }

  private dimmed(id: string): boolean {
    return !!this.selected && id !== this.selected && !this.lineage!.upstream.has(id) && !this.lineage!.downstream.has(id);
  }

  private isLineageEdge(e: { source: string; target: string }): boolean {
    return !!this.selected && !!this.lineage && onLineage(e as never, this.selected, this.lineage);
  }

  // ── close up ──────────────────────────────────────────────────────────────────────────────

  private renderDetail(): void {
    const r = this.visibleRegion(MARGIN);
    this.drawn = r;
    const visible = this.placed.filter(
      (p) => p.x + NODE_W / 2 >= r.x0 && p.x - NODE_W / 2 <= r.x1 && p.y + NODE_H / 2 >= r.y0 && p.y - NODE_H / 2 <= r.y1,
    );
    const edges = this.edges.filter((e) => e.maxX >= r.x0 && e.minX <= r.x1 && e.maxY >= r.y0 && e.minY <= r.y1);

    this.edgeLayer
      .selectAll<SVGPathElement, EdgeDatum>('path')
      .data(edges, (d) => d.key)
      .join((enter) =>
        enter
          .append('path')
          .attr('class', 'edge')
          .attr('data-edge', (d) => `${d.source}→${d.target}`)
          .attr('d', (d) => d.d),
      );
    this.labelLayer
      .selectAll<SVGTextElement, EdgeDatum>('text')
      .data(
        edges.filter((e) => e.label),
        (d) => d.key,
      )
      .join((enter) =>
        enter
          .append('text')
          .attr('class', 'edge-label')
          .attr('x', (d) => d.labelX)
          .attr('y', (d) => d.labelY - 4)
          .attr('text-anchor', 'middle')
          .text((d) => d.label!),
      );

    const joined = this.nodeLayer
      .selectAll<SVGGElement, Placed>('g.node')
      .data(visible, (d) => d.node.id)
      .join(
        (enter) => {
          const g = enter
            .append('g')
            .attr('class', (d) => `node ${d.node.kind}`)
            .attr('transform', (d) => `translate(${round(d.x - NODE_W / 2)},${round(d.y - NODE_H / 2)})`)
            .attr('tabindex', 0)
            .attr('role', 'button')
            .attr('data-id', (d) => d.node.id);
          g.append('rect')
            .attr('class', 'halo')
            .attr('x', -5)
            .attr('y', -5)
            .attr('width', NODE_W + 10)
            .attr('height', NODE_H + 10)
            .attr('rx', 9);
          g.append('rect').attr('class', 'box').attr('width', NODE_W).attr('height', NODE_H).attr('rx', 5);
          g.append('text')
            .attr('class', 'title')
            .attr('x', PAD)
            .attr('y', 19)
            .text((d) => truncate(d.node.kind === 'group' ? `▸ ${d.node.label}` : d.node.label, d.node.selfDep ? MAX_NAME - 5 : MAX_NAME));
          g.append('text')
            .attr('class', 'sub')
            .attr('x', PAD)
            .attr('y', 36)
            .text((d) => truncate(d.node.kind === 'group' ? d.node.subtitle : `${d.node.group} · ${d.node.subtitle}`, 34));
          g.filter((d) => !!d.node.selfDep)
            .append('text')
            .attr('class', 'self')
            .attr('x', NODE_W - PAD)
            .attr('y', 19)
            .attr('text-anchor', 'end')
            .text((d) => `↻ ${truncate(d.node.selfDep!, 9)}`);
          const bar = g.append('g').attr('class', 'bar').attr('transform', `translate(${PAD},${BAR_Y})`);
          bar
            .append('rect')
            .attr('class', 'bar-bg')
            .attr('width', NODE_W - 2 * PAD)
            .attr('height', BAR_H)
            .attr('rx', 2);
          for (const s of BAR_ORDER) bar.append('rect').attr('class', `seg s${s}`).attr('height', BAR_H);
          g.append('title');
          g.each((d, i, els) => this.drawHealth(els[i]!, d.node));
          return g;
        },
        (update) => update,
        (exit) => exit.remove(),
      );
    this.nodeElements.clear();
    joined.each((d, i, els) => this.nodeElements.set(d.node.id, els[i]!));
    this.restyleDetail();
  }

  /** The health bar, outline and accessible name of one close-up node. */
  private drawHealth(el: SVGGElement, node: ViewNode): void {
    const g = select(el);
    const counts = this.store.countsOf(node);
    const total = counts.reduce((a, b) => a + b, 0);
    const width = NODE_W - 2 * PAD;
    let x = 0;
    g.selectAll<SVGRectElement, unknown>('rect.seg').each(function (_, s) {
      const w = total ? (counts[s as 0]! / total) * width : 0;
      this.setAttribute('x', String(round(x)));
      this.setAttribute('width', String(round(w)));
      x += w;
    });
    g.classed('stale', counts[STATUS_CODE.stale] > 0 && counts[STATUS_CODE.failed] === 0).classed('failed', counts[STATUS_CODE.failed] > 0);
    const text = `${node.label}: ${node.kind === 'group' ? `${node.subtitle}, ` : ''}${describeCounts(counts, node.unpartitioned)}`;
    g.attr('aria-label', text);
    // The tooltip says in full what the node's lines may cut short (name, group · kind, self-dependency).
    const lines =
      node.kind === 'group'
        ? [text]
        : [text, `${node.group} · ${node.subtitle}`, ...(node.selfDep ? [`reads its own partitions: ${node.selfDep}`] : [])];
    g.select('title').text(lines.join('\n'));
  }

  private restyleDetail(): void {
    if (this.mode !== 'detail') return;
    const sel = this.selected;
    this.nodeLayer
      .selectAll<SVGGElement, Placed>('g.node')
      .classed('selected', (d) => d.node.id === sel)
      .classed('dim', (d) => this.dimmed(d.node.id))
      .classed('match', (d) => this.matches.has(d.node.id))
      .attr('aria-pressed', (d) => String(d.node.id === sel));
    this.edgeLayer
      .selectAll<SVGPathElement, EdgeDatum>('path')
      .classed('hl', (d) => this.isLineageEdge(d))
      .classed('dim', (d) => !!sel && !this.isLineageEdge(d))
      .attr('marker-end', (d) => (this.isLineageEdge(d) ? 'url(#arrow-hl)' : 'url(#arrow)'));
    this.labelLayer.selectAll<SVGTextElement, EdgeDatum>('text').classed('dim', (d) => !!sel && !this.isLineageEdge(d));
  }

  // ── pointer and keyboard ──────────────────────────────────────────────────────────────────

  /** The node under a pointer event, from the layout. */
  private hit(e: MouseEvent): string | null {
    // The container, not the SVG: the SVG itself moves while a pan is under way.
    const r = this.container.getBoundingClientRect();
    const gx = (e.clientX - r.left - this.transform.x) / this.transform.k;
    const gy = (e.clientY - r.top - this.transform.y) / this.transform.k;
    for (const p of this.placed) {
      if (Math.abs(gx - p.x) <= NODE_W / 2 && Math.abs(gy - p.y) <= NODE_H / 2) return p.node.id;
    }
    return null;
  }

  private onHover(e: PointerEvent): void {
    if (e.buttons) return;
    if (this.hoverFrame) cancelAnimationFrame(this.hoverFrame);
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      const id = this.hit(e);
      this.svg.classed('over-node', !!id);
      if (!id || this.mode === 'detail') {
        // Close up, the node shows it all (and has a native title).
        this.hideTooltip();
        return;
      }
      const p = this.placedById.get(id)!;
      const counts: StatusCounts = this.store.countsOf(p.node);
      this.tooltip.textContent = '';
      const title = document.createElement('strong');
      title.textContent = p.node.label;
      const sub = document.createElement('div');
      sub.textContent = p.node.kind === 'group' ? p.node.subtitle : `${p.node.group} · ${p.node.subtitle}`;
      const health = document.createElement('div');
      health.textContent = describeCounts(counts, p.node.unpartitioned);
      this.tooltip.append(title, sub, health);
      const box = this.container.getBoundingClientRect();
      this.tooltip.style.left = `${Math.min(e.clientX - box.left + 14, box.width - 260)}px`;
      this.tooltip.style.top = `${e.clientY - box.top + 14}px`;
      this.tooltip.hidden = false;
    });
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
  }

  private onKey(e: KeyboardEvent): void {
    const target = e.target as Element;
    const id = target instanceof SVGGElement ? target.getAttribute('data-id') : null;
    if (id && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      if (this.selected === id && e.key === 'Enter') this.events.activate(id);
      else this.events.select(id);
    } else if (id && (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey))) {
      e.preventDefault();
      const p = this.clientPoint(id)!;
      this.events.contextMenu(id, p.x, p.y);
    } else if (e.key === '+' || e.key === '=' || e.key === '-') {
      this.svg.call(this.zoomBehavior.scaleBy, e.key === '-' ? 1 / 1.25 : 1.25);
    } else if (e.key.startsWith('Arrow') && !id) {
      const d = 60;
      const dx = e.key === 'ArrowLeft' ? d : e.key === 'ArrowRight' ? -d : 0;
      const dy = e.key === 'ArrowUp' ? d : e.key === 'ArrowDown' ? -d : 0;
      this.svg.call(this.zoomBehavior.translateBy, dx / this.transform.k, dy / this.transform.k);
    }
  }
}

/** An edge through its layout points: horizontal S-curves between layers, straight through them. */
export function edgePath(p: readonly number[]): string {
  let d = `M${round(p[0]!)},${round(p[1]!)}`;
  for (let k = 2; k < p.length; k += 2) {
    const x0 = p[k - 2]!,
      y0 = p[k - 1]!,
      x1 = p[k]!,
      y1 = p[k + 1]!;
    if (Math.abs(y0 - y1) < 0.5) d += `L${round(x1)},${round(y1)}`;
    else {
      const mx = round((x0 + x1) / 2);
      d += `C${mx},${round(y0)} ${mx},${round(y1)} ${round(x1)},${round(y1)}`;
    }
  }
  return d;
}

function rectPath(x: number, y: number, w: number, h: number): string {
  return `M${round(x)},${round(y)}h${round(w)}v${round(h)}h${-round(w)}z`;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
