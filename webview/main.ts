// The asset graph webview: the page's entry point. Talks to the host only through the typed
// messages of src/shared/graphProtocol.ts (checked on receipt), keeps its viewport, selection,
// collapsed groups and search in the webview state, and wires the graph, the partitions panel
// and the toolbar together.
import './graph.css';
import {
  isHostMessage,
  type GraphAsset,
  type GraphMessage,
  type GraphViewState,
  type GridSpec,
  type HostMessage,
  type StatusesMessage,
  type WebviewMessage,
} from '../src/shared/graphProtocol.ts';
import { DetailPanel } from './detail.ts';
import { GraphView, NODE_H, NODE_W } from './graphView.ts';
import layoutWorkerSource from 'layout-worker:source';
import type { LayoutResult } from './layout.ts';
import { LayoutRunner, WORKER_MIN_NODES } from './layoutRunner.ts';
import { ContextMenu } from './menu.ts';
import { AssetStore, buildView, GROUP_PREFIX, layoutKey, searchAssets, type GraphViewModel } from './model.ts';
import { button, initUi, searchBox, toggle } from './ui.ts';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): GraphViewState | undefined;
  setState(state: GraphViewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
declare global {
  interface Window {
    /** Set by the graph benchmark before the page runs, to force one layout path: 0 (always the worker) or Infinity (never). */
    backfillLayoutWorkerMinNodes?: number;
  }
}

/** What the page reports to benchmarks and tests (as DOM events; nothing listens in VS Code). */
export interface RenderedDetail {
  /** From the graph's arrival to its layout (0: the drawn graph had not changed). */
  layoutMs: number;
  /** When the layout started and ended (performance.now()), and where it ran. */
  layoutStart: number;
  layoutEnd: number;
  layoutInWorker: boolean;
  renderMs: number;
  nodes: number;
  edges: number;
  crossings: number;
}

const vscode = acquireVsCodeApi();
const post = (m: WebviewMessage): void => vscode.postMessage(m);
window.addEventListener('error', (e) => post({ type: 'log', level: 'error', message: `${e.message} (${e.filename}:${e.lineno})` }));
window.addEventListener('unhandledrejection', (e) =>
  post({ type: 'log', level: 'error', message: String((e.reason as Error)?.stack ?? e.reason) }),
);

initUi();
const state: GraphViewState = vscode.getState() ?? {};
let saveTimer = 0;
function saveState(patch: Partial<GraphViewState>): void {
  Object.assign(state, patch);
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => vscode.setState(state), 200);
}

// ── requests to the host, matched by id ─────────────────────────────────────────────────────
let nextId = 1;
const pending = new Map<number, { type: HostMessage['type']; resolve(m: HostMessage): void }>();
function request<T extends HostMessage>(type: T['type'], message: WebviewMessage & { id: number }): Promise<T> {
  return new Promise((resolve, reject) => {
    pending.set(message.id, { type, resolve: resolve as (m: HostMessage) => void });
    post(message);
    window.setTimeout(() => {
      if (pending.delete(message.id)) reject(new Error(`no reply to ${message.type}`));
    }, 15_000);
  });
}

// ── the page ─────────────────────────────────────────────────────────────────────────────────
const store = new AssetStore();
const app = document.getElementById('app') ?? document.body;
const toolbar = document.createElement('div');
toolbar.className = 'toolbar';
toolbar.setAttribute('role', 'toolbar');
const matchInfo = document.createElement('span');
matchInfo.className = 'match-info';
matchInfo.setAttribute('aria-live', 'polite');
const graphBox = document.createElement('div');
graphBox.className = 'graph-box';
const empty = document.createElement('div');
empty.className = 'empty';
empty.textContent = 'Loading the asset graph…';
graphBox.append(empty);
app.append(toolbar, graphBox);

let view: GraphViewModel | null = null;
let layout: LayoutResult | null = null;
let lastLayoutKey = '';
let collapsed = new Set(state.collapsed ?? []);
let matches: string[] = [];
let matchAt = -1;
let canBackfill = false;
let firstGraph = true;
let rebuilds = 0;
let layoutWorkerUrl: string | undefined;
const layouts = new LayoutRunner({
  workerMinNodes: window.backfillLayoutWorkerMinNodes ?? WORKER_MIN_NODES,
  createWorker: () =>
    new Worker((layoutWorkerUrl ??= URL.createObjectURL(new Blob([layoutWorkerSource], { type: 'text/javascript' }))), {
      name: 'backfill-layout',
    }),
  log: (message) => post({ type: 'log', level: 'error', message: `graph webview: ${message}` }),
  layout: { nodeWidth: NODE_W, nodeHeight: NODE_H },
});

const graph = new GraphView(graphBox, store, {
  select: (id) => {
    select(id);
    // Once the partitions panel has taken its room: keep the clicked node in sight.
    if (id) requestAnimationFrame(() => graph.reveal(id));
  },
  activate: (id) => activate(id),
  contextMenu: (id, x, y) => openMenu(id, x, y),
  viewportChanged: (t, size) => saveState({ transform: t, size }),
});
const menu = new ContextMenu(app);
const detail = new DetailPanel(store, {
  grid: async (asset) =>
    (await request<Extract<HostMessage, { type: 'grid' }>>('grid', { type: 'gridRequest', id: nextId++, asset })).grid as GridSpec | null,
  describe: async (asset, indexes) => {
    const r = await request<Extract<HostMessage, { type: 'describe' }>>('describe', {
      type: 'describeRequest',
      id: nextId++,
      asset,
      indexes,
    });
    return { keys: r.keys, causes: r.causes };
  },
  backfill: (asset, range, downstream) => post({ type: 'backfill', asset, range, downstream }),
  openDefinition: (asset) => post({ type: 'openDefinition', asset }),
  expandGroup: (group) => setCollapsed(group, false),
  close: () => select(null),
});
app.append(detail.element);

const search = searchBox({
  placeholder: 'Find asset',
  label: 'Find an asset by name',
  value: state.search ?? '',
  onInput: (text) => runSearch(text),
  onEnter: (text, back) => {
    if (!matches.length) runSearch(text);
    if (!matches.length) return;
    matchAt = (matchAt + (back ? matches.length - 1 : 1)) % matches.length;
    const name = matches[matchAt]!;
    const id = view?.nodeOf.get(name) ?? name;
    select(id);
    graph.focus(id);
    matchInfo.textContent = `${matchAt + 1} of ${matches.length}`;
  },
  onEscape: () => {
    search.setValue('');
    runSearch('');
  },
});
const fit = button({ label: 'Fit', title: 'Fit the whole graph in view', onClick: () => graph.fit() });
const collapseToggle = toggle({
  label: 'Collapse groups',
  checked: collapsed.size > 0,
  onChange: (on) => {
    collapsed = on ? new Set(store.assets.map((a) => a.group)) : new Set();
    saveState({ collapsed: [...collapsed] });
    void rebuild({ keep: true });
  },
});
toolbar.append(search.element, matchInfo, fit.element, collapseToggle.element);

window.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
    e.preventDefault();
    search.focus();
  } else if (e.key === 'Escape' && !menu.isOpen && document.activeElement?.tagName !== 'VSCODE-TEXT-FIELD') {
    select(null);
  }
});

// Theme switches change the --vscode-* variables and the body's class: the canvas re-reads its colours.
new MutationObserver(() => detail.refreshTheme()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// ── behaviour ───────────────────────────────────────────────────────────────────────────────

function select(id: string | null): void {
  const node = id ? view?.byId.get(id) : undefined;
  graph.setSelection(node ? node.id : null);
  if (node) void detail.show(node);
  else detail.hide();
  saveState({ selected: node?.id });
}

function activate(id: string): void {
  if (id.startsWith(GROUP_PREFIX)) setCollapsed(id.slice(GROUP_PREFIX.length), false);
  else graph.focus(id);
}

function setCollapsed(group: string, on: boolean): void {
  if (on) collapsed.add(group);
  else collapsed.delete(group);
  collapseToggle.setChecked(collapsed.size > 0);
  saveState({ collapsed: [...collapsed] });
  void rebuild({ keep: true });
}

function openMenu(id: string, x: number, y: number): void {
  const node = view?.byId.get(id);
  if (!node) return;
  select(id);
  if (node.kind === 'group') {
    menu.open([{ label: 'Expand Group', run: () => setCollapsed(node.group, false) }], x, y, `Actions for group ${node.label}`);
    return;
  }
  const asset = node.label;
  const items = [
    ...(canBackfill
      ? [
          { label: 'Backfill…', run: () => post({ type: 'backfill', asset, range: null, downstream: false }) },
          { label: 'Backfill Downstream', run: () => post({ type: 'backfill', asset, range: null, downstream: true }) },
          { label: 'Backfill Stale/Missing/Failed', run: () => post({ type: 'backfillNeeded', asset }) },
        ]
      : []),
    { label: 'Open Definition', run: () => post({ type: 'openDefinition', asset }) },
    { label: 'Collapse Group', run: () => setCollapsed(node.group, true) },
  ];
  menu.open(items, x, y, `Actions for ${asset}`);
}

function runSearch(text: string): void {
  saveState({ search: text });
  matches = searchAssets(store.assets, text);
  matchAt = -1;
  graph.setMatches(matches.map((m) => view?.nodeOf.get(m) ?? m));
  matchInfo.textContent = text.trim() ? (matches.length ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : 'No match') : '';
}

/**
 * Lays out (unless the drawn graph is the same), then draws, keeping the viewport steady.
 * Null when a newer rebuild started while this one waited for its layout: that one draws.
 * Until then the page keeps showing (and answering for) the graph it drew last.
 */
async function rebuild(o: { keep: boolean; focus?: string }): Promise<RenderedDetail | null> {
  const t0 = performance.now();
  const generation = ++rebuilds;
  const groups = new Set(store.assets.map((a) => a.group));
  collapsed = new Set([...collapsed].filter((g) => groups.has(g)));
  const next = buildView(store.assets, collapsed);
  const key = layoutKey(next);
  let layoutMs = 0;
  let layoutStart = t0;
  let layoutInWorker = false;
  if (!layout || key !== lastLayoutKey) {
    if (!layout && next.nodes.length > 1000) {
      // The first layout of a large graph takes from a few hundred ms to seconds: say so first.
      empty.textContent = `Laying out ${next.nodes.length} assets…`;
      // On this thread, the message needs a frame painted before the layout blocks it.
      if (!layouts.usesWorker(next.nodes.length)) await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      if (generation !== rebuilds) return null;
    }
    layoutStart = performance.now();
    const laid = await layouts.layout(
      next.nodes.map((n) => ({ id: n.id, group: n.group })),
      next.edges,
    );
    if (!laid) return null;
    layout = laid.result;
    layoutInWorker = laid.inWorker;
    lastLayoutKey = key;
    layoutMs = performance.now() - t0;
  } else {
    layouts.cancel(); // a layout still running for an earlier rebuild is not wanted any more
  }
  const layoutEnd = performance.now();
  const anchor = o.keep ? graph.centreNode() : undefined;
  const anchorWas = anchor ? graph.positionOf(anchor) : undefined;
  view = next;
  const t1 = performance.now();
  empty.hidden = view.nodes.length > 0;
  empty.textContent = 'No assets: Backfill reads files named *.assets.yaml.';
  let viewport: Parameters<GraphView['setGraph']>[2];
  if (firstGraph && state.transform && !o.focus) viewport = { transform: state.transform, ...(state.size ? { size: state.size } : {}) };
  else if (firstGraph || !o.keep) viewport = { fit: true };
  else {
    // A collapsed group takes its members' place: keep the group (or the asset) that was in the middle.
    const anchorNow =
      anchor && !view.byId.has(anchor)
        ? (view.nodeOf.get(anchor) ?? [...view.byId.values()].find((n) => n.id === GROUP_PREFIX + anchor)?.id)
        : anchor;
    viewport = { transform: graph.viewport, anchor: anchorNow ?? anchor, anchorWas };
  }
  graph.setGraph(view, layout, viewport);
  const selectedNow = o.focus ?? state.selected;
  const sel = selectedNow ? (view.byId.has(selectedNow) ? selectedNow : view.nodeOf.get(selectedNow)) : undefined;
  select(sel ?? null);
  if (o.focus && sel) graph.focus(sel, false);
  runSearch(search.value());
  firstGraph = false;
  return {
    layoutMs,
    layoutStart,
    layoutEnd,
    layoutInWorker,
    renderMs: performance.now() - t1,
    nodes: view.nodes.length,
    edges: view.edges.length,
    crossings: layout.crossings,
  };
}

async function onGraph(m: GraphMessage): Promise<void> {
  canBackfill = m.canBackfill;
  detail.setCanBackfill(canBackfill);
  const before = new Set(store.assets.map((a: GraphAsset) => a.name));
  store.setGraph(m.assets, m.statuses, m.revision);
  const keep = !firstGraph && m.assets.some((a) => before.has(a.name));
  const result = await rebuild({ keep, focus: m.focus });
  if (!result) return; // a newer graph is on its way to the screen
  requestAnimationFrame(() => document.dispatchEvent(new CustomEvent<RenderedDetail>('backfill-graph-rendered', { detail: result })));
}

function onStatuses(m: StatusesMessage): void {
  if (m.revision !== store.revision || !view) return; // for a graph this page no longer shows
  const t0 = performance.now();
  const changed = store.applyStatuses(m.assets);
  const nodes = new Set(changed.map((name) => view!.nodeOf.get(name)!).filter(Boolean));
  graph.updateStatuses(nodes);
  const cells = detail.updateStatuses(changed);
  document.dispatchEvent(
    new CustomEvent('backfill-graph-statuses', { detail: { ms: performance.now() - t0, assets: changed.length, cells } }),
  );
}

window.addEventListener('message', (e: MessageEvent) => {
  const m: unknown = e.data;
  if (!isHostMessage(m)) {
    post({
      type: 'log',
      level: 'error',
      message: `graph webview: ignored a malformed message (${typeof m === 'object' && m ? String((m as { type?: unknown }).type) : typeof m})`,
    });
    return;
  }
  switch (m.type) {
    case 'graph':
      void onGraph(m);
      break;
    case 'statuses':
      onStatuses(m);
      break;
    case 'focus': {
      const id = view?.nodeOf.get(m.asset);
      if (id) {
        select(id);
        graph.focus(id);
      }
      break;
    }
    case 'grid':
    case 'describe': {
      const p = pending.get(m.id);
      if (p && p.type === m.type) {
        pending.delete(m.id);
        p.resolve(m);
      }
      break;
    }
  }
});

post({ type: 'ready' });
