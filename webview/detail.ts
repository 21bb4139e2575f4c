// The panel under the graph for the selected asset: its partitions as a heatmap on a canvas
// (calendar, day × hour, matrix… see grid.ts), a tooltip with the key, status and stale causes,
// a range picked by dragging (or Shift+arrows), and the backfill buttons. Status updates
// repaint only the cells that changed.
import { STATUS_NAMES, type GridSpec } from '../src/shared/graphProtocol.ts';
import { gridLayout, indexAt, rangeBetween, type GridLayout } from './grid.ts';
import { describeCounts, type AssetStore, type ViewNode } from './model.ts';
import { button, type Button } from './ui.ts';

export interface DetailEvents {
  grid(asset: string): Promise<GridSpec | null>;
  describe(asset: string, indexes: number[]): Promise<{ keys: string[]; causes: string[][] }>;
  backfill(asset: string, range: { start: number; end: number } | null, downstream: boolean): void;
  openDefinition(asset: string): void;
  expandGroup(group: string): void;
  close(): void;
}

const LEFT = 58;
const TOP = 18;
const MAX_GRID_HEIGHT = 240;
const CAUSE_WORDS: Record<string, string> = {
  code: 'its code changed',
  upstream: 'an upstream partition it reads was rematerialized after it',
  dependencies: 'its dependencies changed',
  observed: 'its output exists (materialized outside Backfill)',
};

export class DetailPanel {
  readonly element: HTMLElement;
  private readonly heading = document.createElement('div');
  private readonly info = document.createElement('div');
  private readonly scroller = document.createElement('div');
  private readonly canvas = document.createElement('canvas');
  private readonly hoverBox = document.createElement('div');
  private readonly tip = document.createElement('div');
  private readonly buttons: { open: Button; backfill: Button; downstream: Button; expand: Button };

  private node: ViewNode | null = null;
  private grid: GridLayout | null = null;
  private spec: GridSpec | null = null;
  private drawnStatus: Uint8Array | null = null;
  private cell = 12;
  private gap = 1;
  private selection: { start: number; end: number } | null = null;
  private anchor = -1;
  private cursor = -1;
  private dragging = false;
  private hoverIndex = -1;
  private keys = new Map<number, { key: string; causes: string[] }>();
  private colors: string[] = [];
  private canBackfill = false;
  private generation = 0;

  constructor(
    private readonly store: AssetStore,
    private readonly events: DetailEvents,
  ) {
    this.element = document.createElement('section');
    this.element.className = 'detail-panel';
    this.element.hidden = true;
    const header = document.createElement('header');
    this.heading.className = 'heading';
    const actions = document.createElement('div');
    actions.className = 'actions';
    this.buttons = {
      open: button({ label: 'Open Definition', onClick: () => this.node && this.events.openDefinition(this.node.label) }),
      backfill: button({ label: 'Backfill…', appearance: 'primary', onClick: () => this.backfill(false) }),
      downstream: button({ label: 'Backfill Downstream…', onClick: () => this.backfill(true) }),
      expand: button({ label: 'Expand Group', onClick: () => this.node && this.events.expandGroup(this.node.group) }),
    };
    const close = button({ label: '✕', appearance: 'icon', title: 'Close partitions', onClick: () => this.events.close() });
    actions.append(
      this.buttons.open.element,
      this.buttons.backfill.element,
      this.buttons.downstream.element,
      this.buttons.expand.element,
      close.element,
    );
    header.append(this.heading, actions);
    this.info.className = 'selection-info';
    this.info.setAttribute('aria-live', 'polite');
    this.scroller.className = 'grid-scroll';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.hoverBox.className = 'cell-hover';
    this.hoverBox.hidden = true;
    this.tip.className = 'tooltip cell-tip';
    this.tip.hidden = true;
    this.scroller.append(this.canvas, this.hoverBox);
    const legend = document.createElement('div');
    legend.className = 'legend';
    legend.setAttribute('aria-hidden', 'true');
    for (const [s, name] of STATUS_NAMES.entries()) {
      const item = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.className = `swatch s${s}`;
      item.append(swatch, name);
      legend.append(item);
    }
    this.element.append(header, this.info, this.scroller, legend, this.tip);

    this.canvas.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.onPointerMove(e));
    this.canvas.addEventListener('pointerup', (e) => this.onPointerUp(e));
    this.canvas.addEventListener('pointerleave', () => this.hideHover());
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.relayout()).observe(this.scroller);
  }

  get shown(): string | null {
    return this.node?.id ?? null;
  }

  get selectedRange(): { start: number; end: number } | null {
    return this.selection;
  }

  setCanBackfill(can: boolean): void {
    this.canBackfill = can;
    this.updateButtons();
  }

  /** Shows a node's partitions (an asset) or its summary (a collapsed group). */
  async show(node: ViewNode): Promise<void> {
    const same = this.node?.id === node.id;
    this.node = node;
    this.element.hidden = false;
    if (!same) {
      this.selection = null;
      this.anchor = this.cursor = -1;
      this.keys.clear();
    }
    this.renderHeading();
    this.updateButtons();
    const gen = ++this.generation;
    if (node.kind === 'group') {
      this.grid = this.spec = null;
      this.canvas.hidden = true;
      this.info.textContent = `${node.members.length} assets of group ${node.group}, collapsed. Expand the group to see their partitions.`;
      return;
    }
    this.canvas.hidden = false;
    if (!same || !this.spec) {
      this.info.textContent = 'Loading partitions…';
      const spec = await this.events.grid(node.label);
      if (gen !== this.generation) return;
      this.spec = spec;
      if (!spec) {
        this.info.textContent = 'This asset no longer exists.';
        this.grid = null;
        this.canvas.hidden = true;
        return;
      }
    }
    this.relayout();
    this.describeSelection();
  }

  hide(): void {
    this.node = null;
    this.grid = this.spec = null;
    this.element.hidden = true;
    this.generation++;
  }

  /** After status updates: repaints the cells that changed (when the shown asset is among `assets`). */
  updateStatuses(assets: readonly string[]): number {
    if (!this.node) return 0;
    if (!this.node.members.some((m) => assets.includes(m))) return 0;
    this.updateCounts();
    if (this.node.kind !== 'asset' || !this.grid || !this.drawnStatus) return 0;
    const status = this.store.statuses.get(this.node.label);
    if (!status || status.length !== this.drawnStatus.length) {
      this.draw();
      return -1;
    }
    this.keys.clear(); // causes may have changed
    const ctx = this.canvas.getContext('2d')!;
    let n = 0;
    for (let i = 0; i < status.length; i++) {
      if (status[i] === this.drawnStatus[i]) continue;
      this.drawnStatus[i] = status[i]!;
      this.drawCell(ctx, i, status[i]!);
      n++;
    }
    return n;
  }

  /** Theme changed: colours are read again. */
  refreshTheme(): void {
    this.colors = [];
    this.draw();
  }

  private readonly countsText = document.createElement('span');

  private renderHeading(): void {
    const node = this.node!;
    this.heading.textContent = '';
    const name = document.createElement('strong');
    name.textContent = node.label;
    const sub = document.createElement('span');
    sub.className = 'muted';
    sub.textContent = node.kind === 'group' ? node.subtitle : `${node.group} · ${node.subtitle}`;
    this.countsText.className = 'counts';
    this.updateCounts();
    this.heading.append(name, sub, this.countsText);
    this.element.setAttribute('aria-label', `Partitions of ${node.label}`);
  }

  private updateCounts(): void {
    const node = this.node!;
    const text = describeCounts(this.store.countsOf(node), node.unpartitioned);
    if (this.countsText.textContent !== text) this.countsText.textContent = text;
  }

  private updateButtons(): void {
    const asset = this.node?.kind === 'asset';
    const sel = this.selection;
    this.buttons.open.setHidden(!asset);
    this.buttons.expand.setHidden(asset || !this.node);
    this.buttons.backfill.setHidden(!asset || !this.canBackfill);
    this.buttons.downstream.setHidden(!asset || !this.canBackfill);
    this.buttons.backfill.setLabel(sel ? 'Backfill Selection' : 'Backfill…');
    this.buttons.downstream.setLabel(sel ? 'Backfill Downstream' : 'Backfill Downstream…');
  }

  private backfill(downstream: boolean): void {
    if (this.node?.kind === 'asset') this.events.backfill(this.node.label, this.selection, downstream);
  }

  /** Grid for the panel's width, cell size to fit (at least 4 px; the panel scrolls past that). */
  private relayout(): void {
    if (!this.node || this.node.kind !== 'asset' || !this.spec) return;
    const size = this.store.byName.get(this.node.label)?.size ?? 0;
    const avail = Math.max(100, this.scroller.clientWidth - LEFT - 8);
    const maxCols = Math.max(1, Math.floor(avail / 12));
    this.grid = gridLayout(this.spec, size, maxCols);
    const g = this.grid;
    const byWidth = Math.floor(avail / g.cols);
    const byHeight = Math.floor(MAX_GRID_HEIGHT / g.rows);
    this.cell = g.cols * g.rows === 1 ? 24 : Math.max(4, Math.min(16, byWidth, Math.max(byHeight, 4)));
    this.gap = this.cell >= 6 ? 1 : 0;
    // Wide enough for the column labels too (a few days of hourly partitions: `Jan 1 2024` over three columns).
    if (!this.colors.length) this.readColors();
    const measure = this.canvas.getContext('2d')!;
    measure.font = `10px ${this.colors[6]}`;
    const labelsEnd = g.colLabels.reduce((end, l) => Math.max(end, LEFT + l.at * this.cell + measure.measureText(l.text).width), 0);
    const w = Math.ceil(Math.max(LEFT + g.cols * this.cell, labelsEnd) + 4);
    const h = TOP + g.rows * this.cell + 2;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(w * dpr);
    this.canvas.height = Math.ceil(h * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.canvas.setAttribute(
      'aria-label',
      `${size} partitions of ${this.node.label}, ${g.cols} × ${g.rows} grid. Arrow keys move, Shift+arrows select a range.`,
    );
    this.draw();
  }

  private readColors(): void {
    const style = getComputedStyle(this.element);
    this.colors = [0, 1, 2, 3, 4].map((s) => style.getPropertyValue(`--bf-s${s}`).trim() || '#888');
    this.colors.push(style.getPropertyValue('--bf-muted').trim() || '#999', style.getPropertyValue('--bf-font').trim() || 'sans-serif');
  }

  private draw(): void {
    const g = this.grid;
    if (!g || !this.node) return;
    if (!this.colors.length) this.readColors();
    const ctx = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = this.colors[5]!;
    ctx.font = `10px ${this.colors[6]}`;
    ctx.textBaseline = 'middle';
    let lastEnd = -Infinity;
    for (const l of g.colLabels) {
      const x = LEFT + l.at * this.cell;
      if (x < lastEnd + 6) continue;
      ctx.fillText(l.text, x, TOP / 2);
      lastEnd = x + ctx.measureText(l.text).width;
    }
    let lastRow = -Infinity;
    for (const l of g.rowLabels) {
      const y = TOP + l.at * this.cell + this.cell / 2;
      if (y < lastRow + 11) continue;
      ctx.fillText(l.text.length > 9 ? `${l.text.slice(0, 8)}…` : l.text, 2, y);
      lastRow = y;
    }
    const status = this.store.statuses.get(this.node.label) ?? new Uint8Array(g.col.length).fill(2);
    this.drawnStatus = status.slice();
    for (let i = 0; i < g.col.length; i++) this.drawCell(ctx, i, status[i]!);
  }

  private drawCell(ctx: CanvasRenderingContext2D, i: number, s: number): void {
    const g = this.grid!;
    const x = LEFT + g.col[i]! * this.cell;
    const y = TOP + g.row[i]! * this.cell;
    const size = this.cell - this.gap;
    ctx.clearRect(x, y, size, size);
    const sel = this.selection;
    ctx.globalAlpha = sel && (i < sel.start || i >= sel.end) ? 0.3 : 1;
    ctx.fillStyle = this.colors[s] ?? '#888';
    ctx.fillRect(x, y, size, size);
    ctx.globalAlpha = 1;
  }

  private cellAt(e: MouseEvent): number {
    if (!this.grid) return -1;
    const r = this.canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left - LEFT) / this.cell);
    const row = Math.floor((e.clientY - r.top - TOP) / this.cell);
    return indexAt(this.grid, col, row);
  }

  private onPointerDown(e: PointerEvent): void {
    const i = this.cellAt(e);
    if (i < 0 || e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    this.dragging = true;
    if (!e.shiftKey || this.anchor < 0) this.anchor = i;
    this.cursor = i;
    this.select(rangeBetween(this.anchor, i));
  }

  private onPointerMove(e: PointerEvent): void {
    const i = this.cellAt(e);
    if (this.dragging && i >= 0 && i !== this.cursor) {
      this.cursor = i;
      this.select(rangeBetween(this.anchor, i));
    }
    this.hover(i);
  }

  private onPointerUp(e: PointerEvent): void {
    if (!this.dragging) return;
    this.dragging = false;
    this.canvas.releasePointerCapture(e.pointerId);
    this.describeSelection();
  }

  private onKey(e: KeyboardEvent): void {
    const g = this.grid;
    if (!g) return;
    if (e.key === 'Escape') {
      // The first Escape drops the range; with none, it goes on to close the panel (main.ts).
      if (!this.selection) return;
      e.stopPropagation();
      this.select(null);
      this.anchor = -1;
      this.describeSelection();
      return;
    }
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const from = this.cursor >= 0 ? this.cursor : 0;
    let col = g.col[from]! + m[0];
    let row = g.row[from]! + m[1];
    let next = indexAt(g, col, row);
    // Skip empty cells (the days before the first in a calendar) along the direction.
    for (let k = 0; next < 0 && k < Math.max(g.cols, g.rows); k++) {
      col += m[0];
      row += m[1];
      next = indexAt(g, col, row);
    }
    if (next < 0) return;
    this.cursor = next;
    if (!e.shiftKey || this.anchor < 0) this.anchor = next;
    this.select(rangeBetween(this.anchor, next));
    this.hover(next, true);
    this.describeSelection();
  }

  private select(range: { start: number; end: number } | null): void {
    const before = this.selection;
    this.selection = range;
    this.updateButtons();
    if (before?.start === range?.start && before?.end === range?.end) return;
    this.draw();
  }

  /** `2024-01-03 … 2024-01-09 · 7 partitions` under the heading. */
  private describeSelection(): void {
    const sel = this.selection;
    const node = this.node;
    if (!node || node.kind !== 'asset') return;
    if (!sel) {
      this.info.textContent = this.canBackfill
        ? 'Drag across partitions (or Shift+arrow keys) to pick a range to backfill.'
        : 'Hover a partition for its key and status.';
      return;
    }
    const n = sel.end - sel.start;
    const gen = this.generation;
    void this.keysOf([sel.start, sel.end - 1]).then(([a, b]) => {
      if (gen !== this.generation || this.selection !== sel) return;
      this.info.textContent = n === 1 ? `Selected ${a!.key}` : `Selected ${a!.key} … ${b!.key} · ${n} partitions`;
    });
  }

  private async keysOf(indexes: number[]): Promise<Array<{ key: string; causes: string[] }>> {
    const asset = this.node!.label;
    const missing = indexes.filter((i) => !this.keys.has(i));
    if (missing.length) {
      const r = await this.events.describe(asset, missing);
      if (this.node?.label !== asset) return indexes.map(() => ({ key: '', causes: [] }));
      missing.forEach((i, k) => this.keys.set(i, { key: r.keys[k] ?? '', causes: r.causes[k] ?? [] }));
    }
    return indexes.map((i) => this.keys.get(i)!);
  }

  private hover(i: number, fromKeyboard = false): void {
    if (i === this.hoverIndex && !fromKeyboard) return;
    this.hoverIndex = i;
    const g = this.grid;
    if (i < 0 || !g || !this.node) {
      this.hideHover();
      return;
    }
    this.hoverBox.hidden = false;
    this.hoverBox.style.left = `${LEFT + g.col[i]! * this.cell - 1}px`;
    this.hoverBox.style.top = `${TOP + g.row[i]! * this.cell - 1}px`;
    this.hoverBox.style.width = this.hoverBox.style.height = `${this.cell - this.gap + 2}px`;
    const status = STATUS_NAMES[this.store.statuses.get(this.node.label)?.[i] ?? 2]!;
    this.showTip(i, '…', status, []);
    void this.keysOf([i]).then(([k]) => {
      if (this.hoverIndex === i && k) this.showTip(i, k.key || '(unpartitioned)', status, k.causes);
    });
  }

  private showTip(i: number, key: string, status: string, causes: string[]): void {
    const g = this.grid!;
    this.tip.textContent = '';
    const title = document.createElement('strong');
    title.textContent = key;
    const line = document.createElement('div');
    line.textContent = status === 'fresh' && causes.includes('observed') ? 'fresh (output observed)' : status;
    this.tip.append(title, line);
    const why = causes.filter((c) => status === 'stale' && c !== 'observed');
    if (why.length) {
      const c = document.createElement('div');
      c.className = 'muted';
      c.textContent = `Stale: ${why.map((w) => CAUSE_WORDS[w] ?? w).join('; ')}.`;
      this.tip.append(c);
    }
    const canvasBox = this.canvas.getBoundingClientRect();
    const panelBox = this.element.getBoundingClientRect();
    const x = canvasBox.left - panelBox.left + LEFT + (g.col[i]! + 1) * this.cell + 8;
    const y = canvasBox.top - panelBox.top + TOP + g.row[i]! * this.cell;
    this.tip.style.left = `${Math.min(x, panelBox.width - 280)}px`;
    this.tip.style.top = `${Math.max(0, y - 60)}px`;
    this.tip.hidden = false;
  }

  private hideHover(): void {
    this.hoverIndex = -1;
    this.hoverBox.hidden = true;
    this.tip.hidden = true;
  }
}
