// End-to-end tests of the asset graph webview in a real VS Code (code-server) and Chromium:
// what a user sees in it and does with it. Assertions read the DOM inside the webview's
// iframes (`iframe.webview.ready` → `#active-frame`); gestures are real mouse and keyboard
// input. Started by test/e2e/run.sh (see extension.test.mjs for the environment).
//
// The file works in its own copy of the demo, shortened to three weeks (helpers.shortenDemo),
// with raw_events' job slowed down (`sleep 2 &&`) so that a running partition is on screen long
// enough to be seen turning blue. Before the browser opens, the CLI materializes the first week
// downstream of raw_events (weekly_summary fails: its week reads days not materialized yet),
// then clean_events' job is edited: its seven partitions are stale (code changed).
// The tests share one page and run in order: each starts from the state the previous one left.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LIVE_UPDATE_MS, cli, copyDemo, editFile, openWorkbench, shortenDemo, until } from './helpers.mjs';

const WS = copyDemo('demo-graph');
const ASSETS = ['raw_events', 'clean_events', 'daily_active_users', 'region_activity', 'weekly_summary', 'churn_model'];
/** Width of a node's partition bar in graph units (graphView.ts: NODE_W - 2 * PAD). */
const BAR_W = 200;
const RUN_MS = 120000;

describe('The asset graph in VS Code (code-server)', { timeout: 600000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;
  /** The graph page, inside the webview's two iframes. */
  let frame;

  const node = (name) => frame.locator(`g.node[data-id="${name}"]`);
  const label = (name) => node(name).getAttribute('aria-label');
  const detail = () => frame.locator('.detail-panel');
  const canvas = () => frame.locator('.detail-panel canvas');
  /** The viewport transform of the graph (pan and zoom). */
  const viewport = async () =>
    (await frame.locator('svg.graph g.viewport').getAttribute('transform')).replace(/-?\d+(\.\d+)?(e-?\d+)?/g, (n) =>
      String(Math.round(Number(n) * 100) / 100),
    );

  /** Waits until `name`'s aria-label (`name: 11 missing · 10 fresh`) matches `re`; returns it. */
  async function waitForLabel(name, re, timeout = LIVE_UPDATE_MS) {
    let last = '';
    await until(
      async () => {
        last = (await label(name).catch(() => null)) ?? '(no node)';
        return re.test(last);
      },
      () => `graph node ${name} says "${last}", expected ${re}`,
      timeout,
    );
    return last;
  }

  /** The rendered widths of a node's bar segments by status, in graph units. */
  async function bar(name) {
    return node(name).evaluate((g) =>
      Object.fromEntries(
        ['fresh', 'stale', 'missing', 'failed', 'running'].map((s, i) => [
          s,
          Number(g.querySelector(`.bar .seg.s${i}`).getAttribute('width')),
        ]),
      ),
    );
  }

  /** Opens the graph from the command palette and waits for every demo asset. */
  async function openGraph() {
    await wb.palette('Backfill: Show Asset Graph');
    frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    for (const a of ASSETS) await node(a).waitFor();
  }

  /**
   * The page position of the heatmap cell of a daily partition of January 2024. The calendar
   * has a column per week and a row per weekday (Monday first; 2024-01-01 is a Monday).
   * Hovering 2024-01-01 and the day below it gives the grid's origin and pitch (the hover box
   * outlines the cell under the pointer); the tooltip then confirms each cell's key.
   */
  let grid;
  async function cellOf(day) {
    const box = await canvas().boundingBox();
    if (!grid) {
      // Find 2024-01-01: walk the canvas diagonally until the hover box shows a cell.
      const hover = frame.locator('.cell-hover');
      let first;
      for (let d = 0; d < Math.min(box.width, box.height) && !first; d += 4) {
        await page.mouse.move(box.x + d * 3, box.y + d);
        if (await hover.isVisible())
          first = await hover.evaluate((el) => ({ left: el.offsetLeft, top: el.offsetTop, size: el.offsetWidth }));
      }
      assert.ok(first, 'no heatmap cell under the pointer anywhere on the diagonal of the canvas');
      const at = (f) => ({ x: box.x + f.left + f.size / 2, y: box.y + f.top + f.size / 2 });
      await page.mouse.move(at(first).x, at(first).y);
      assert.equal(await tipKey(), '2024-01-01');
      await page.mouse.move(at(first).x, at(first).y + first.size);
      assert.equal(await tipKey(), '2024-01-02');
      const below = await hover.evaluate((el) => el.offsetTop);
      grid = { x0: first.left + first.size / 2, y0: first.top + first.size / 2, pitch: below - first.top };
    }
    const n = Number(day.slice(8)) - 1;
    return { x: box.x + grid.x0 + Math.floor(n / 7) * grid.pitch, y: box.y + grid.y0 + (n % 7) * grid.pitch };
  }

  /** The first line of the heatmap's tooltip (the partition key), once it has one. */
  async function tipKey() {
    const tip = frame.locator('.cell-tip');
    let key = '';
    await until(
      async () => {
        key =
          (await tip
            .locator('strong')
            .textContent()
            .catch(() => '')) ?? '';
        return key && key !== '…';
      },
      () => `the heatmap tooltip shows "${key}"`,
      5000,
      50,
    );
    return key;
  }

  /** Hovers a day's cell; returns the tooltip's lines. */
  async function hoverDay(day) {
    const c = await cellOf(day);
    await page.mouse.move(c.x, c.y);
    assert.equal(await tipKey(), day);
    return (await frame.locator('.cell-tip').innerText())
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  /** A colour of the page's theme (a CSS custom property on the detail panel) as `rgb(…)`. */
  async function themeColor(variable) {
    return frame.locator('body').evaluate((body, v) => {
      const probe = document.createElement('i');
      probe.style.color = `var(${v})`;
      body.append(probe);
      const c = getComputedStyle(probe).color;
      probe.remove();
      return c;
    }, variable);
  }

  /** The colour of a heatmap cell's middle pixel, as `rgba(…)` (alpha 0–255). */
  async function cellColor(day) {
    const c = await cellOf(day);
    const box = await canvas().boundingBox();
    return canvas().evaluate(
      (el, [x, y]) => {
        const r = window.devicePixelRatio || 1;
        const [R, G, B, A] = el.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
        return `rgba(${R}, ${G}, ${B}, ${A})`;
      },
      [c.x - box.x, c.y - box.y],
    );
  }

  /**
   * A theme colour as a canvas pixel holds it, `rgba(…)` (alpha 0–255): painted on a blank canvas
   * of the page, so that translucent colours (missing is 50 % grey) round as the heatmap's do.
   */
  async function paintedColor(variable) {
    const color = await themeColor(variable);
    return frame.locator('body').evaluate((_, c) => {
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.fillStyle = c;
      ctx.fillRect(0, 0, 1, 1);
      const [R, G, B, A] = ctx.getImageData(0, 0, 1, 1).data;
      return `rgba(${R}, ${G}, ${B}, ${A})`;
    }, color);
  }

  before(async () => {
    shortenDemo(WS);
    editFile(WS, 'pipeline.assets.yaml', [
      ['run: node jobs/pull_events.mjs {partition}', 'run: sleep 2 && node jobs/pull_events.mjs {partition}'],
    ]);
    // The first week, downstream of raw_events, from the CLI. weekly_summary's week 2024-01-07
    // (Sunday 7 to Saturday 13) reads days that are not materialized: it fails.
    await cli(WS, 'run', 'raw_events+', '--to', '2024-01-07').catch((e) => {
      assert.match(e.stdout, /failed in [\d.]+s: \d+ succeeded · 1 failed/, e.stdout + e.stderr);
    });
    fs.appendFileSync(path.join(WS, 'jobs/clean_events.mjs'), '// drop more bots (a code change: clean_events is stale)\n');
    ({ browser, page, wb } = await openWorkbench(WS));
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`graph-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the demo assets with their partition health, stale and failed assets highlighted', async () => {
    await openGraph();
    assert.equal(await waitForLabel('raw_events', /^raw_events: /), 'raw_events: 14 missing · 7 fresh');
    assert.equal(await label('clean_events'), 'clean_events: 7 stale · 14 missing');
    assert.equal(await label('weekly_summary'), 'weekly_summary: 1 failed · 1 missing');
    assert.equal(await label('churn_model'), 'churn_model: missing');
    // Stale assets glow; failed ones are marked; the others are neither.
    const classes = Object.fromEntries(await Promise.all(ASSETS.map(async (a) => [a, await node(a).getAttribute('class')])));
    assert.match(classes.clean_events, /\bstale\b/);
    assert.match(classes.weekly_summary, /\bfailed\b/);
    for (const a of ['raw_events', 'daily_active_users', 'region_activity', 'churn_model'])
      assert.doesNotMatch(classes[a], /\b(stale|failed)\b/, a);
    // The glow is drawn: the stale node's halo is visible and coloured like stale partitions.
    const halo = await node('clean_events')
      .locator('.halo')
      .evaluate((el) => ({ opacity: getComputedStyle(el).opacity, stroke: getComputedStyle(el).stroke }));
    assert.ok(Number(halo.opacity) > 0, `the stale halo is invisible: ${JSON.stringify(halo)}`);
    assert.equal(halo.stroke, await themeColor('--bf-s1'));
    // Bars are proportional: 7 of 21 days fresh, 14 missing.
    const b = await bar('raw_events');
    assert.ok(Math.abs(b.fresh - (BAR_W * 7) / 21) < 0.5 && Math.abs(b.missing - (BAR_W * 14) / 21) < 0.5, JSON.stringify(b));
    assert.ok(Math.abs((await bar('clean_events')).stale - (BAR_W * 7) / 21) < 0.5);
    // Edges: five, one labelled with its non-default mapping (churn_model reads `all` weeks).
    assert.equal(await frame.locator('g.edges path.edge').count(), 5);
    assert.deepEqual(await frame.locator('g.edge-labels text').allTextContents(), ['all']);
    await wb.shot('graph-01-stale-highlighted');
  });

  it('shows an asset’s partitions as a calendar, with the status and stale cause of each on hover', async () => {
    await node('clean_events').click();
    await detail().waitFor();
    assert.match(await detail().locator('.heading').innerText(), /clean_events[\s\S]*clean · daily · 21[\s\S]*7 stale · 14 missing/);
    assert.match(await canvas().getAttribute('aria-label'), /^21 partitions of clean_events, 3 × 7 grid\./);
    // The panel takes the bottom of the page: the graph pans so that the clicked node stays above it.
    await until(async () => {
      const [n, d] = [await node('clean_events').boundingBox(), await detail().boundingBox()];
      return n.y + n.height <= d.y;
    }, 'clean_events is hidden behind the partitions panel');
    assert.deepEqual(await hoverDay('2024-01-03'), ['2024-01-03', 'stale', 'Stale: its code changed.']);
    assert.deepEqual(await hoverDay('2024-01-09'), ['2024-01-09', 'missing']);
    assert.equal(await cellColor('2024-01-03'), await paintedColor('--bf-s1'));
    assert.equal(await cellColor('2024-01-09'), await paintedColor('--bf-s2'));
    // Selecting a node highlights its lineage, upstream and downstream (here, every edge).
    const lineage = () => frame.locator('g.edges path.edge.hl').evaluateAll((paths) => paths.map((p) => p.dataset.edge).sort());
    assert.deepEqual(await lineage(), [
      'clean_events→daily_active_users',
      'clean_events→region_activity',
      'daily_active_users→weekly_summary',
      'raw_events→clean_events',
      'weekly_summary→churn_model',
    ]);
    await wb.shot('graph-02-heatmap-hover');
    // region_activity's lineage is its upstream only: the other edges are dimmed.
    await node('region_activity').click();
    await until(
      async () => (await lineage()).length === 2,
      async () => `highlighted edges: ${await lineage()}`,
    );
    assert.deepEqual(await lineage(), ['clean_events→region_activity', 'raw_events→clean_events']);
    assert.equal(await frame.locator('g.edges path.edge.dim').count(), 3);
  });

  it('backfills a range dragged in the heatmap: the plan, the terminal, the bar turns blue then green', async () => {
    grid = undefined;
    await node('raw_events').click();
    await until(async () => /raw_events/.test(await detail().locator('.heading').innerText()), 'the detail panel shows raw_events');
    assert.deepEqual(await hoverDay('2024-01-08'), ['2024-01-08', 'missing']);
    // Drag from Monday 8 to Wednesday 10.
    const from = await cellOf('2024-01-08');
    const to = await cellOf('2024-01-10');
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 6 });
    await page.mouse.up();
    await until(
      async () => (await detail().locator('.selection-info').innerText()) === 'Selected 2024-01-08 … 2024-01-10 · 3 partitions',
      async () => `selection says "${await detail().locator('.selection-info').innerText()}"`,
    );
    await wb.shot('graph-03-range-selected');

    // Watch raw_events' node while the backfill runs: every label it shows.
    const seen = new Set();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const l = await label('raw_events').catch(() => null);
        if (l) seen.add(l);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await detail().getByRole('button', { name: 'Backfill Selection' }).click();
    const { message, detail: text } = await wb.dialogText();
    assert.equal(message, 'Backfill raw_events 2024-01-08…2024-01-10: 3 partitions of 1 asset');
    assert.match(text, /^• raw_events: 3 partitions 2024-01-08…2024-01-10$/m);
    await wb.dialogButton('Run');
    const summary = await wb.waitForTerminalLine(/^(succeeded|failed|canceled): \d+ succeeded/, RUN_MS);
    assert.match(summary, /^succeeded: 3 succeeded, 0 failed/);
    await waitForLabel('raw_events', /^raw_events: 11 missing · 10 fresh$/);
    watching = false;
    await watcher;
    assert.ok(
      [...seen].some((l) => /\d+ running/.test(l)),
      `raw_events never showed running partitions: ${[...seen].join(' | ')}`,
    );
    // The bar and the heatmap are green for the new days, without reopening anything.
    const b = await bar('raw_events');
    assert.ok(Math.abs(b.fresh - (BAR_W * 10) / 21) < 0.5 && b.running === 0, JSON.stringify(b));
    assert.equal(
      await node('raw_events')
        .locator('.bar .seg.s0')
        .evaluate((el) => getComputedStyle(el).fill),
      await themeColor('--bf-s0'),
    );
    // The terminal panel took the bottom of the window: the selected node is still in sight.
    const [n, d, g] = [
      await node('raw_events').boundingBox(),
      await detail().boundingBox(),
      await frame.locator('svg.graph').boundingBox(),
    ];
    assert.ok(n.y >= g.y && n.y + n.height <= d.y, `raw_events at ${JSON.stringify(n)}: outside the graph area above the panel at ${d.y}`);
    for (const day of ['2024-01-08', '2024-01-09', '2024-01-10']) assert.equal(await cellColor(day), await paintedColor('--bf-s0'), day);
    // Outside the selection cells are dimmed; Escape clears it and they are plain missing.
    await canvas().focus();
    await page.keyboard.press('Escape');
    await until(
      async () => (await cellColor('2024-01-11')) === (await paintedColor('--bf-s2')),
      async () => `2024-01-11 is ${await cellColor('2024-01-11')}`,
    );
    await wb.shot('graph-04-range-backfilled');
  });

  it('offers the tree’s actions on a node’s context menu: Backfill Downstream goes through the plan dialog', async () => {
    await wb.hidePanel();
    await node('clean_events').click({ button: 'right' });
    const menu = frame.getByRole('menu');
    await menu.waitFor();
    assert.deepEqual(await menu.getByRole('menuitem').allTextContents(), [
      'Backfill…',
      'Backfill Downstream',
      'Backfill Stale/Missing/Failed',
      'Open Definition',
      'Collapse Group',
    ]);
    await menu.getByRole('menuitem', { name: 'Backfill Downstream' }).click();
    const { message, detail: text } = await wb.dialogText();
    // Without a range: the asset's partitions that need it (7 stale, 11 missing… every one not fresh).
    assert.match(message, /^Backfill clean_events \+ downstream: \d+ partitions of \d assets$/);
    assert.match(text, /^• clean_events: 21 partitions 2024-01-01…2024-01-21$/m);
    await wb.dialogButton('Cancel');
    // Backfill Stale/Missing/Failed: only clean_events' partitions that need it, nothing downstream.
    await node('clean_events').click({ button: 'right' });
    await menu.getByRole('menuitem', { name: 'Backfill Stale/Missing/Failed' }).click();
    const needed = await wb.dialogText();
    assert.equal(needed.message, 'Backfill missing/failed/stale of clean_events: 21 partitions of 1 asset');
    assert.match(needed.detail, /^• clean_events: 21 partitions 2024-01-01…2024-01-21$/m);
    await wb.dialogButton('Cancel');
  });

  it('keeps the viewport and the selection when the tab is hidden and shown again', async () => {
    await node('weekly_summary').click();
    await until(async () => /weekly_summary/.test(await detail().locator('.heading').innerText()), 'the detail panel shows weekly_summary');
    // Zoom in on the graph with the wheel.
    const svg = await frame.locator('svg.graph').boundingBox();
    await page.mouse.move(svg.x + svg.width / 2, svg.y + svg.height / 3);
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(600); // the page saves its state 200 ms after the last change
    const before = await viewport();
    // Open Definition from the panel: the definitions file takes the graph's place…
    await detail().getByRole('button', { name: 'Open Definition' }).click();
    await wb.editor('pipeline.assets.yaml').waitFor();
    await frame.locator('svg.graph').waitFor({ state: 'detached' });
    // …and back to the graph: a fresh page, restored from the webview state.
    await page.locator('.tabs-container .tab', { hasText: 'Asset Graph' }).click();
    await node('weekly_summary').waitFor();
    await until(
      async () => (await viewport()) === before,
      async () => `viewport ${await viewport()}, was ${before}`,
      5000,
    );
    assert.match(await node('weekly_summary').getAttribute('class'), /\bselected\b/);
    assert.match(await detail().locator('.heading').innerText(), /weekly_summary/);
  });

  it('comes back after a window reload with its viewport and selection', async () => {
    const before = await viewport();
    await wb.palette('Developer: Reload Window');
    await page.locator('.activitybar .action-label[aria-label="Backfill"]').waitFor({ timeout: 90000 });
    frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await node('weekly_summary').waitFor({ timeout: 60000 });
    await until(
      async () => (await viewport()) === before,
      async () => `viewport ${await viewport()}, was ${before}`,
      5000,
    );
    assert.match(await node('weekly_summary').getAttribute('class'), /\bselected\b/);
    await waitForLabel('raw_events', /^raw_events: 11 missing · 10 fresh$/);
  });

  it('follows the colour theme: light, dark and high contrast', async () => {
    await node('clean_events').click();
    await detail().waitFor();
    const looks = {};
    for (const theme of ['Light Modern', 'Dark Modern', 'Dark High Contrast']) {
      await wb.palette('Preferences: Color Theme');
      await wb.pick('Select Color Theme', theme);
      const kind = theme.includes('High Contrast') ? 'vscode-high-contrast' : theme.startsWith('Dark') ? 'vscode-dark' : 'vscode-light';
      await until(async () => (await frame.locator('body').getAttribute('class'))?.includes(kind), `the graph page has the ${kind} class`);
      await page.mouse.move(1200, 16);
      await page.waitForTimeout(300);
      const look = await node('clean_events').evaluate((g) => ({
        box: getComputedStyle(g.querySelector('.box')).fill,
        text: getComputedStyle(g.querySelector('.title')).fill,
        page: getComputedStyle(document.body).backgroundColor,
      }));
      // Colours are the theme's: the page background is the editor's, the heatmap repaints.
      assert.equal(look.page, await themeColor('--vscode-editor-background'), theme);
      assert.equal(await cellColor('2024-01-03'), await paintedColor('--bf-s1'), theme);
      looks[theme] = look;
      await wb.shot(`graph-05-theme-${theme.replace(/\W+/g, '-').toLowerCase()}`);
    }
    console.log(`# node colours by theme: ${JSON.stringify(looks)}`);
    assert.notEqual(looks['Light Modern'].page, looks['Dark Modern'].page);
    assert.notEqual(looks['Light Modern'].text, looks['Dark Modern'].text);
    assert.notEqual(looks['Dark Modern'].box, looks['Dark High Contrast'].box);
  });

  it('lays out again when the definitions change, keeping the viewport', async () => {
    const at = async (name) => {
      const b = await node(name).boundingBox();
      return { x: Math.round(b.x), y: Math.round(b.y) };
    };
    const before = await at('raw_events');
    // A new asset downstream of weekly_summary, written to disk as an editor or git would.
    const file = path.join(WS, 'pipeline.assets.yaml');
    fs.appendFileSync(
      file,
      [
        '',
        '  weekly_email:',
        '    description: The weekly numbers, mailed to the team',
        '    group: reports',
        '    deps: [{ asset: weekly_summary, mapping: last }]',
        '    run: node -e "console.log(1)"',
        '',
      ].join('\n'),
    );
    await node('weekly_email').waitFor({ timeout: LIVE_UPDATE_MS });
    assert.deepEqual(
      await frame
        .locator('g.edge-labels text')
        .allTextContents()
        .then((t) => t.sort()),
      ['all', 'last'],
    );
    const after = await at('raw_events');
    assert.ok(
      Math.abs(after.x - before.x) <= 2 && Math.abs(after.y - before.y) <= 40,
      `raw_events moved from ${JSON.stringify(before)} to ${JSON.stringify(after)}`,
    );
    await wb.shot('graph-06-new-asset');
  });

  /** Moves the heatmap's keyboard cursor with these keys; returns the tooltip's lines. */
  async function keys(...presses) {
    await page.mouse.move(1, 1); // the pointer off the canvas: the tooltip follows the keyboard
    await canvas().focus();
    for (const k of presses) await page.keyboard.press(k);
    await tipKey();
    return (await frame.locator('.cell-tip').innerText())
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  it('shows hourly partitions as days × hours and a multi-partitioned asset as a matrix, with keyboard range selection', async () => {
    // An hourly asset over three days, reading raw_events (hourly → daily), three hours of it run from the CLI.
    fs.appendFileSync(
      path.join(WS, 'pipeline.assets.yaml'),
      [
        '',
        '  hourly_sessions:',
        '    description: Sessions per hour',
        '    group: metrics',
        '    partitions: { hourly: { start: 2024-01-01-00:00, end: 2024-01-04-00:00 } }',
        '    deps: [raw_events]',
        '    run: node -e "console.log(1)"',
        '',
      ].join('\n'),
    );
    await cli(WS, 'run', 'hourly_sessions', '--partition', '2024-01-02-05:00...2024-01-02-07:00');
    await node('hourly_sessions').waitFor({ timeout: LIVE_UPDATE_MS });
    assert.equal(
      await waitForLabel('hourly_sessions', /^hourly_sessions: \d+ missing · 3 fresh$/),
      'hourly_sessions: 69 missing · 3 fresh',
    );
    await node('hourly_sessions').click();
    await until(
      async () => /hourly_sessions[\s\S]*hourly · 72/.test(await detail().locator('.heading').innerText()),
      'the detail panel shows hourly_sessions',
    );
    // A column per day, a row per hour.
    assert.match(await canvas().getAttribute('aria-label'), /^72 partitions of hourly_sessions, 3 × 24 grid\./);
    // Down five hours, right one day: 05:00 on January 2, materialized from the CLI.
    assert.deepEqual(await keys('ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowRight'), [
      '2024-01-02-05:00',
      'fresh',
    ]);
    // Shift+Down three times: a range of four hours, the last one missing.
    assert.deepEqual(await keys('Shift+ArrowDown', 'Shift+ArrowDown', 'Shift+ArrowDown'), ['2024-01-02-08:00', 'missing']);
    await until(
      async () => (await detail().locator('.selection-info').innerText()) === 'Selected 2024-01-02-05:00 … 2024-01-02-08:00 · 4 partitions',
      async () => `selection says "${await detail().locator('.selection-info').innerText()}"`,
    );
    assert.ok(await detail().getByRole('button', { name: 'Backfill Selection' }).isEnabled());
    await wb.shot('graph-07-hourly-grid');

    // region_activity (region × date): a column per day, a row per region, in the order defined.
    await node('region_activity').click();
    await until(
      async () => /region_activity/.test(await detail().locator('.heading').innerText()),
      'the detail panel shows region_activity',
    );
    assert.match(await canvas().getAttribute('aria-label'), /^63 partitions of region_activity, 21 × 3 grid\./);
    assert.deepEqual(await keys('ArrowDown'), ['2024-01-01|us', 'fresh']);
    assert.deepEqual(
      await keys('ArrowDown', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight'),
      ['2024-01-08|apac', 'missing'],
    );
    await wb.shot('graph-08-multi-matrix');
  });
});
