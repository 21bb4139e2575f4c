// Benchmark of the asset graph webview in headless Chromium (numbers go in docs/benchmarks.md):
//  1. layout + first render of 2,000 assets × 1,000 daily partitions (~4,300 edges), from the
//     host's `graph` message to the first frame painted (target < 2 s);
//  2. frame times over a scripted zoom in, pan and zoom out with the mouse wheel (frames over
//     16.7 ms counted as dropped);
//  3. one partition's status changing → the redraw (target < 16 ms): the message handler's time
//     and the frame it lands in, in the overview, close up, and with the partitions panel open;
//  4. what the layout worker buys: for 2,000 and 5,000 assets, each on a fresh page with the
//     layout forced into the worker or onto the page's thread, the time from the `graph` message
//     to the first painted frame, the longest main-thread task (Long Tasks API, ≥ 50 ms) and the
//     longest gap between frames while the layout ran.
// The page is the one the extension serves (same HTML and CSP, from graphHtml), with a fake host
// (bench/graph-harness.js) that this script drives.
// Run: npm run bench:graph [-- --screenshot DIR] [-- --layout-sizes 300,500 --layout-runs 5]
// [-- --layout-only]. Writes bench/results/graph.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { graphHtml } from '../src/extension/graphData.ts';
import {
  countStatuses,
  encodeStatuses,
  isWebviewMessage,
  type AssetStatusWire,
  type GraphAsset,
  type GraphMessage,
  type HostMessage,
} from '../src/shared/graphProtocol.ts';
import { fixtureGraph, rng } from './graphFixture.ts';

const ROOT = path.join(__dirname, '..');
const ASSETS = Number(process.env['BENCH_ASSETS'] ?? 2000);
const PARTITIONS = 1000;
const DAY = 86_400_000;
const DROPPED_MS = 16.7 * 1.5;
const START = Date.UTC(2021, 0, 1);
const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const screenshotDir = arg('--screenshot');
const LAYOUT_SIZES = (arg('--layout-sizes') ?? '2000,5000').split(',').map(Number);
const LAYOUT_RUNS = Number(arg('--layout-runs') ?? 3);
const LAYOUT_ONLY = process.argv.includes('--layout-only');

// ── the fixture ─────────────────────────────────────────────────────────────────────────────
function buildFixture(n: number): { assets: GraphAsset[]; statuses: Map<string, Uint8Array>; message: GraphMessage } {
  const random = rng(11);
  const assets: GraphAsset[] = fixtureGraph(n).map((a) => ({
    name: a.name,
    group: a.group,
    kind: 'daily',
    size: PARTITIONS,
    partitionsText: `daily · ${PARTITIONS}`,
    deps: a.deps.map((d) => ({ asset: d.asset, mapping: d.mapping })),
  }));
  /** Mostly fresh, with runs of stale, missing, failed and running partitions. */
  const statusesOf = (): Uint8Array => {
    const s = new Uint8Array(PARTITIONS);
    const runs = Math.floor(random() * 6);
    for (let r = 0; r < runs; r++) {
      const start = Math.floor(random() * PARTITIONS);
      const len = 1 + Math.floor(random() * 80);
      s.fill(1 + Math.floor(random() * 4), start, Math.min(PARTITIONS, start + len));
    }
    return s;
  };
  const statuses = new Map(assets.map((a) => [a.name, statusesOf()]));
  const wireOf = (name: string): AssetStatusWire => ({
    name,
    counts: countStatuses(statuses.get(name)!),
    statuses: encodeStatuses(statuses.get(name)!),
  });
  return {
    assets,
    statuses,
    message: { type: 'graph', revision: 1, assets, statuses: assets.map((a) => wireOf(a.name)), canBackfill: true },
  };
}
const { assets, statuses, message: graphMessage } = buildFixture(ASSETS);
const wire = (name: string): AssetStatusWire => ({
  name,
  counts: countStatuses(statuses.get(name)!),
  statuses: encodeStatuses(statuses.get(name)!),
});
const keyOf = (i: number): string => new Date(START + i * DAY).toISOString().slice(0, 10);

// ── serving the page ────────────────────────────────────────────────────────────────────────
function serve(): Promise<{ url: string; close(): void }> {
  const files: Record<string, [string, string]> = {
    '/dist/webview/graph.js': ['dist/webview/graph.js', 'text/javascript'],
    '/dist/webview/graph.css': ['dist/webview/graph.css', 'text/css'],
    '/bench/graph-harness.js': ['bench/graph-harness.js', 'text/javascript'],
    '/bench/graph-harness.css': ['bench/graph-harness.css', 'text/css'],
  };
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host}`;
    if (req.url === '/' || req.url?.startsWith('/?')) {
      const nonce = 'bench' + Math.random().toString(36).slice(2);
      let html = graphHtml({
        cspSource: origin,
        nonce,
        script: `${origin}/dist/webview/graph.js`,
        style: `${origin}/dist/webview/graph.css`,
      });
      html = html.replace('</head>', `<link rel="stylesheet" href="${origin}/bench/graph-harness.css">\n</head>`);
      html = html.replace('<script nonce', `<script nonce="${nonce}" src="${origin}/bench/graph-harness.js"></script>\n<script nonce`);
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      return;
    }
    const f = files[req.url ?? ''];
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[1] }).end(readFileSync(path.join(ROOT, f[0])));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() }),
    ),
  );
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const max = (xs: number[]): number => Math.max(...xs);

async function main(): Promise<void> {
  process.stdout.write('building the webview… ');
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
  console.log('done');
  const server = await serve();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const paths = await layoutPaths(browser, server.url);
    if (LAYOUT_ONLY) return;
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const received: unknown[] = [];
    const reply = (m: HostMessage): Promise<void> => page.evaluate((msg) => window.postMessage(msg, '*'), m);
    await page.exposeFunction('__hostReceive', (m: unknown) => {
      if (!isWebviewMessage(m)) throw new Error(`malformed message from the webview: ${JSON.stringify(m)}`);
      received.push(m);
      if (m.type === 'ready') ready();
      else if (m.type === 'gridRequest')
        void reply({
          type: 'grid',
          id: m.id,
          asset: m.asset,
          grid: { kind: 'calendar', wallStarts: Array.from({ length: PARTITIONS }, (_, i) => START + i * DAY) },
        });
      else if (m.type === 'describeRequest')
        void reply({ type: 'describe', id: m.id, asset: m.asset, keys: m.indexes.map(keyOf), causes: m.indexes.map(() => []) });
      else if (m.type === 'log') errors.push(m.message);
    });
    await page.goto(server.url);
    await isReady;

    // 1. First render.
    const first = await page.evaluate(
      (msg) =>
        new Promise<{ total: number; detail: { layoutMs: number; renderMs: number; nodes: number; edges: number; crossings: number } }>(
          (resolve) => {
            const t0 = performance.now();
            document.addEventListener(
              'backfill-graph-rendered',
              (e) => {
                // The event fires in the frame after the render; one more frame: painted.
                requestAnimationFrame(() => resolve({ total: performance.now() - t0, detail: (e as CustomEvent).detail }));
              },
              { once: true },
            );
            window.postMessage(msg, '*');
          },
        ),
      graphMessage,
    );
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'graph-overview.png') });

    // 2. Scripted zoom: wheel in at the centre, pan by dragging, wheel out.
    const frames = await scriptedZoom(page);
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'graph-after-zoom.png') });

    // 3. Status updates.
    const target = assets[Math.floor(ASSETS / 2)]!.name;
    const overview = await statusUpdates(page, target, 'overview');
    await page.evaluate((name) => window.postMessage({ type: 'focus', asset: name }, '*'), target);
    await page.waitForTimeout(600);
    const closeUp = await statusUpdates(page, target, 'close up');
    await page.click('svg.graph', {
      position: { x: 800, y: (await page.evaluate(() => document.querySelector('.graph-box')!.getBoundingClientRect().height)) / 2 },
    });
    await page.waitForFunction(() => !!document.querySelector('.detail-panel:not([hidden]) canvas'));
    await page.waitForTimeout(300);
    const panel = await statusUpdates(page, target, 'partitions panel open');
    if (screenshotDir) {
      await page.mouse.move(900, 900);
      await page.screenshot({ path: path.join(screenshotDir, 'graph-detail.png') });
    }
    const checks = await smokeChecks(page, received);
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'graph-collapsed.png') });
    const csp = await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);

    // A frame is dropped when it took more than one vsync (16.7 ms); intervals of 16.8 ms are timer jitter.
    const dropped = frames.filter((f) => f > DROPPED_MS).length;
    const rows: Array<[string, string, string]> = [
      ['assets / edges drawn', `${first.detail.nodes} / ${first.detail.edges}`, ''],
      ['layout (webview/layout.ts)', `${first.detail.layoutMs.toFixed(0)} ms`, ''],
      ['layout + first render, message to painted frame', `${first.total.toFixed(0)} ms`, first.total < 2000 ? '✓ < 2 s' : '✗ ≥ 2 s'],
      [
        'zoom/pan frames: median / p95 / max',
        `${median(frames).toFixed(1)} / ${percentile(frames, 0.95).toFixed(1)} / ${max(frames).toFixed(1)} ms`,
        '',
      ],
      ['zoom/pan frames dropped (interval over 16.7 ms by half a frame or more)', `${dropped} of ${frames.length}`, ''],
      ...[overview, closeUp, panel].map((u): [string, string, string] => [
        `status update (${u.mode}): handler median / max; frame median / max`,
        `${median(u.handler).toFixed(2)} / ${max(u.handler).toFixed(2)} ms; ${median(u.frame).toFixed(1)} / ${max(u.frame).toFixed(1)} ms`,
        median(u.frame) < DROPPED_MS ? '✓ no dropped frame' : '✗',
      ]),
      ['CSP violations / page errors', `${csp.length} / ${errors.length}`, ''],
    ];
    console.log(
      `\n| graph webview (${ASSETS} assets × ${PARTITIONS} partitions, headless Chromium, ${cpus()[0]?.model.trim()}) | | |\n| --- | ---: | --- |`,
    );
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    for (const [name, ok] of checks) console.log(`${ok ? '✓' : '✗'} ${name}`);
    if (csp.length) console.log('CSP:', csp);
    if (errors.length) console.log('errors:', errors.slice(0, 5));
    mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      path.join(ROOT, 'bench', 'results', 'graph.json'),
      JSON.stringify(
        {
          machine: cpus()[0]?.model.trim(),
          chromium: browser.version(),
          assets: ASSETS,
          partitions: PARTITIONS,
          edges: first.detail.edges,
          crossings: first.detail.crossings,
          layoutMs: first.detail.layoutMs,
          firstRenderMs: first.total,
          frames,
          droppedFrames: dropped,
          statusUpdates: { overview, closeUp, panel },
          checks: Object.fromEntries(checks),
          cspViolations: csp,
          errors,
          messagesFromWebview: received.length,
          layoutPaths: paths,
        },
        null,
        2,
      ) + '\n',
    );
    if (errors.length || csp.length || checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
}

interface LayoutRun {
  /** `graph` message to the first painted frame. */
  total: number;
  layoutMs: number;
  renderMs: number;
  inWorker: boolean;
  /** Longest main-thread task from the message to the painted frame (the Long Tasks API reports those of 50 ms and more; 0: none). */
  longestTask: number;
  /** Longest interval between two frames that overlaps the layout: how long the page could not paint while it ran. */
  longestGapDuringLayout: number;
}

interface LayoutPathResult {
  assets: number;
  path: 'worker' | 'sync';
  /** The page's first graph (a cold page: its JIT, and the worker, start with it). */
  first: LayoutRun[];
  /** Then a definition edit (one asset removed): a new graph laid out on the warm page. */
  relayout: LayoutRun[];
}

/** Layout and render of `LAYOUT_SIZES` assets, on a fresh page each time, in the worker and on the page's thread. */
async function layoutPaths(browser: Browser, url: string): Promise<LayoutPathResult[]> {
  const out: LayoutPathResult[] = [];
  for (const n of LAYOUT_SIZES) {
    const { message } = buildFixture(n);
    const edited: GraphMessage = { ...message, revision: 2, assets: message.assets.slice(0, -1), statuses: message.statuses.slice(0, -1) };
    for (const forced of ['worker', 'sync'] as const) {
      const result: LayoutPathResult = { assets: n, path: forced, first: [], relayout: [] };
      for (let r = 0; r < LAYOUT_RUNS; r++) {
        const [first, relayout] = await layoutRuns(browser, `${url}?layout=${forced}`, [message, edited]);
        result.first.push(first!);
        result.relayout.push(relayout!);
      }
      out.push(result);
    }
  }
  const ms = (xs: number[]): string => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${max(xs).toFixed(0)})`;
  console.log(
    `\n| layout + render, ms: median of ${LAYOUT_RUNS} fresh pages (min–max) | path | message → painted | layout | longest task | longest frame gap while laying out |\n| --- | --- | ---: | ---: | ---: | ---: |`,
  );
  for (const phase of ['first', 'relayout'] as const) {
    for (const p of out) {
      const runs = p[phase];
      console.log(
        `| ${p.assets} assets, ${phase === 'first' ? 'first graph' : 'after an edit'} | ${p.path} | ${ms(runs.map((x) => x.total))} | ${ms(runs.map((x) => x.layoutMs))} | ${ms(runs.map((x) => x.longestTask))} | ${ms(runs.map((x) => x.longestGapDuringLayout))} |`,
      );
    }
  }
  return out;
}

/** One fresh page, which draws the graphs one after the other. */
async function layoutRuns(browser: Browser, url: string, messages: GraphMessage[]): Promise<LayoutRun[]> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    await page.exposeFunction('__hostReceive', (m: unknown) => {
      if (!isWebviewMessage(m)) throw new Error(`malformed message from the webview: ${JSON.stringify(m)}`);
      if (m.type === 'ready') ready();
      else if (m.type === 'log') errors.push(m.message);
    });
    await page.goto(url);
    await isReady;
    const runs: LayoutRun[] = [];
    for (const message of messages) {
      await page.evaluate((m) => ((window as unknown as { __graph: GraphMessage }).__graph = m), message);
      await page.waitForTimeout(300);
      // A string, not a function: tsx would wrap the inner named functions in a helper the page lacks.
      const run = (await page.evaluate(`new Promise((resolve) => {
        const tasks = [];
        const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
        observer.observe({ type: 'longtask' });
        const frames = [];
        let beating = true;
        const beat = (t) => {
          frames.push(t);
          if (beating) requestAnimationFrame(beat);
        };
        requestAnimationFrame(beat);
        const t0 = performance.now();
        document.addEventListener('backfill-graph-rendered', (e) => {
          requestAnimationFrame(() => {
            const total = performance.now() - t0;
            // Long task entries arrive after their task: give them a moment.
            setTimeout(() => {
              beating = false;
              tasks.push(...observer.takeRecords());
              observer.disconnect();
              const d = e.detail;
              let gap = 0;
              for (let k = 1; k < frames.length; k++) {
                if (frames[k] > d.layoutStart && frames[k - 1] < d.layoutEnd) gap = Math.max(gap, frames[k] - frames[k - 1]);
              }
              const inRun = tasks.filter((x) => x.startTime >= t0 - 1 && x.startTime <= t0 + total);
              resolve({ total, layoutMs: d.layoutMs, renderMs: d.renderMs, inWorker: d.layoutInWorker, longestTask: Math.max(0, ...inRun.map((x) => x.duration)), longestGapDuringLayout: gap });
            }, 200);
          });
        }, { once: true });
        window.postMessage(window.__graph, '*');
      })`)) as LayoutRun;
      if (run.inWorker !== url.endsWith('=worker'))
        throw new Error(`the layout ran ${run.inWorker ? 'in the worker' : 'on the page'}, not as forced by ${url}`);
      runs.push(run);
    }
    if (errors.length) throw new Error(`the page reported: ${errors.join('; ')}`);
    return runs;
  } finally {
    await page.close();
  }
}

/** What a person does, checked by the messages the host receives and by what the page shows. */
async function smokeChecks(page: Page, received: unknown[]): Promise<Array<[string, boolean]>> {
  const out: Array<[string, boolean]> = [];
  const last = (type: string): Record<string, unknown> | undefined =>
    [...received].reverse().find((m) => (m as { type: string }).type === type) as Record<string, unknown> | undefined;
  // The partitions panel is open on the focused asset: drag across a week of cells.
  const canvas = (await page.$('.detail-panel canvas'))!;
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + 80, box.y + 24);
  await page.mouse.down();
  await page.mouse.move(box.x + 140, box.y + 24, { steps: 4 });
  await page.mouse.up();
  await page.waitForTimeout(200);
  const info = await page.textContent('.selection-info');
  out.push([
    'dragging across the heatmap selects a range and names its keys',
    /^Selected 2021-\d\d-\d\d … 2021-\d\d-\d\d · \d+ partitions$/.test(info ?? ''),
  ]);
  await page.click('.detail-panel vscode-button[appearance=primary]');
  const b = last('backfill') as { range?: { start: number; end: number }; downstream?: boolean } | undefined;
  out.push(['"Backfill Selection" posts the range', !!b && !!b.range && b.range.end > b.range.start && b.downstream === false]);
  // Right-click a node: the menu, then Backfill Downstream.
  const node = (await page.$('g.node.selected'))!;
  const nb = (await node.boundingBox())!;
  await page.mouse.click(nb.x + nb.width / 2, nb.y + nb.height / 2, { button: 'right' });
  const items = await page.$$eval('.context-menu:not([hidden]) .menu-item', (els) => els.map((e) => e.textContent));
  out.push([
    'right-click opens Backfill…, Backfill Downstream, Open Definition',
    ['Backfill…', 'Backfill Downstream', 'Open Definition'].every((i) => items.includes(i)),
  ]);
  await page.click('.context-menu .menu-item:nth-child(2)');
  const d = last('backfill') as { range?: unknown; downstream?: boolean } | undefined;
  out.push(['the menu posts a downstream backfill of the whole asset', !!d && d.range === null && d.downstream === true]);
  // Search, Enter: the match is selected.
  await page.click('vscode-text-field');
  const lastAsset = `asset_${ASSETS - 1}`;
  await page.keyboard.type(lastAsset);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(500);
  out.push(['search + Enter selects the match', (await page.textContent('.detail-panel .heading strong')) === lastAsset]);
  // Collapse groups: the selected asset's group takes its place, selected, with its members.
  await page.click('vscode-checkbox');
  await page.waitForTimeout(800);
  const heading = await page.textContent('.detail-panel .heading');
  // The last asset's group (bench/graphFixture.ts: 20 groups of equal size, the last one shorter).
  const perGroup = Math.ceil(ASSETS / 20);
  const g = Math.floor((ASSETS - 1) / perGroup);
  const groupText = new RegExp(`^group_${String(g).padStart(2, '0')}\\s*${ASSETS - g * perGroup} assets`);
  out.push(['collapsing groups selects the group of the selected asset', groupText.test(heading ?? '')]);
  return out;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
}

/** Frame intervals (rAF to rAF) while the wheel zooms in, the mouse pans and the wheel zooms out. */
async function scriptedZoom(page: Page): Promise<number[]> {
  await page.mouse.move(800, 450);
  // A string, not a function: tsx would wrap the inner named function in a helper the page lacks.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__recording = true;
    let last = 0;
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame((t) => { last = t; requestAnimationFrame(tick); });
  })()`);
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, -120);
    await page.waitForTimeout(16);
  }
  await page.mouse.down();
  for (let i = 0; i < 40; i++) {
    await page.mouse.move(800 - i * 12, 450 - i * 4);
    await page.waitForTimeout(16);
  }
  await page.mouse.up();
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, 120);
    await page.waitForTimeout(16);
  }
  // The redraw once the view rests counts too.
  await page.waitForTimeout(500);
  return page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __recording: boolean };
    w.__recording = false;
    return w.__frames.slice(1);
  });
}

/** One partition of `asset` changes status, 20 times: the handler's time and the frame it lands in. */
async function statusUpdates(page: Page, asset: string, mode: string): Promise<{ mode: string; handler: number[]; frame: number[] }> {
  const handler: number[] = [];
  const frame: number[] = [];
  const st = statuses.get(asset)!;
  for (let k = 0; k < 20; k++) {
    const i = 500 + k;
    st[i] = st[i] === 3 ? 0 : 3;
    const msg: HostMessage = { type: 'statuses', revision: 1, assets: [wire(asset)] };
    const r = await page.evaluate(
      (m) =>
        new Promise<{ handler: number; frame: number }>((resolve) => {
          let handlerMs = NaN;
          document.addEventListener('backfill-graph-statuses', (e) => (handlerMs = (e as CustomEvent<{ ms: number }>).detail.ms), {
            once: true,
          });
          // At the start of a frame, deliver the message synchronously; the next frame's
          // timestamp tells whether the redraw (script, style, layout, paint) fit in one frame.
          requestAnimationFrame((t0) => {
            window.dispatchEvent(new MessageEvent('message', { data: m }));
            requestAnimationFrame((t1) => resolve({ handler: handlerMs, frame: t1 - t0 }));
          });
        }),
      msg,
    );
    handler.push(r.handler);
    frame.push(r.frame);
  }
  return { mode, handler, frame };
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
