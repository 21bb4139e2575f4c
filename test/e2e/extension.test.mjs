// End-to-end tests of the Backfill extension in a real VS Code workbench (code-server), driven
// by playwright-core in Chromium. Started by test/e2e/run.sh, which provides:
//   CS_URL         the code-server base URL        E2E_WORKSPACE  a fresh copy of examples/demo
//   E2E_SHOTS      folder for the screenshots      CHROMIUM       the browser binary
//   BACKFILL_CLI   the built CLI (dist/cli.js)     E2E_TIMEOUT_MS default wait (30000)
// The tests share one page and run in order: each starts from the state the previous one left.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the e2e tests with "npm run test:e2e" (test/e2e/run.sh)`);
  return v;
};
const CS_URL = env('CS_URL');
const WORKSPACE = env('E2E_WORKSPACE');
const CLI = env('BACKFILL_CLI');
const SHOTS = process.env.E2E_SHOTS ?? path.resolve('test-output/e2e');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const T = Number(process.env.E2E_TIMEOUT_MS ?? 30000);
/** How long the tree may take to follow a change made outside the editor (CLI writing the state). */
const LIVE_UPDATE_MS = 15000;

const GROUPS = ['ingest', 'clean', 'metrics', 'reports', 'ml'];
const ASSETS = ['raw_events', 'clean_events', 'daily_active_users', 'region_activity', 'weekly_summary', 'churn_model'];
const DEFINITIONS = 'pipeline.assets.yaml';

fs.mkdirSync(SHOTS, { recursive: true });

/** Runs the Backfill CLI on the test workspace, like a user in a terminal. */
async function cli(...args) {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--workspace', WORKSPACE, ...args], { timeout: 60000 });
  return stdout;
}

/** Writes the output files of an asset's partitions: what its job would have produced. */
function writeOutputs(asset, days, ext = 'jsonl') {
  const dir = path.join(WORKSPACE, 'data', asset);
  fs.mkdirSync(dir, { recursive: true });
  for (const day of days) fs.writeFileSync(path.join(dir, `${day}.${ext}`), '{}\n');
}

/** `2024-01-01`, … for days `from`..`to` of January 2024 (inclusive). */
const january = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `2024-01-${String(from + i).padStart(2, '0')}`);

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('Backfill extension in VS Code (code-server)', { timeout: 300000 }, () => {
  let browser;
  let page;
  let tree;

  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

  /** The tree row whose label is exactly `label` (labels are unique in the demo). */
  const row = (label) =>
    tree.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${escape(label)}$`) }) });
  const description = async (label) => (await row(label).locator('.label-description').textContent())?.trim() ?? '';

  /** Waits until `label`'s description matches `re`; fails with the last description seen. */
  async function waitForDescription(label, re, timeout = LIVE_UPDATE_MS) {
    const deadline = Date.now() + timeout;
    let last = '';
    for (;;) {
      last = (await row(label).count()) ? await description(label).catch(() => '') : '(no row)';
      if (re.test(last)) return last;
      if (Date.now() > deadline) assert.fail(`description of ${label} is "${last}" after ${timeout} ms, expected ${re}`);
      await page.waitForTimeout(200);
    }
  }

  /**
   * Expands a tree row with its twistie (clicking the row itself runs its command). Retries:
   * a refresh of the tree (the extension reloading after a change) can re-render the row
   * between the click and the check.
   */
  async function expand(label) {
    const r = row(label);
    const deadline = Date.now() + T;
    let clicks = 0;
    for (;;) {
      await r.waitFor({ timeout: Math.max(deadline - Date.now(), 1) });
      const state = await r.getAttribute('aria-expanded', { timeout: 2000 }).catch(() => null);
      if (state === 'true') {
        if (clicks > 1) console.log(`# expanding "${label}" took ${clicks} clicks`);
        return;
      }
      if (Date.now() > deadline) assert.fail(`could not expand "${label}" (aria-expanded=${state})`);
      if (state === 'false') {
        clicks++;
        await r.locator('.monaco-tl-twistie').click({ timeout: 2000 }).catch(() => {});
        // Children come from the extension host: give the expansion time before clicking again
        // (a second click would collapse it).
        await page.waitForFunction(
          ([lbl]) => [...document.querySelectorAll('.monaco-list-row')].some((el) =>
            el.querySelector('.label-name')?.textContent?.trim() === lbl && el.getAttribute('aria-expanded') === 'true'),
          [label], { timeout: 3000 },
        ).catch(() => {});
      } else {
        await page.waitForTimeout(250);
      }
    }
  }

  /** Shows the Backfill view (clicking its activity-bar entry while it is shown would hide it). */
  async function showBackfillView() {
    if (await tree.isVisible()) return;
    await page.locator('.activitybar .action-label[aria-label="Backfill"]').click();
    await tree.waitFor();
    await page.mouse.move(1200, 16); // off the activity bar: no tooltip over the tree in screenshots
    // Collapse the container's other views so the whole Assets tree is rendered (list rows
    // outside the viewport are not in the DOM).
    const others = page
      .locator('.part.sidebar .pane-header[aria-expanded="true"]')
      .filter({ hasNot: page.locator('.title', { hasText: /^Assets$/i }) });
    while ((await others.count()) > 0) await others.first().locator('.title').click();
  }

  /** Drags the side bar's sash so that descriptions fit (for readable screenshots). */
  async function widenSideBar(width) {
    const box = await page.locator('.part.sidebar').boundingBox();
    if (!box || box.width >= width) return;
    const x = box.x + box.width - 1;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + width - box.width, y, { steps: 5 });
    await page.mouse.up();
    await page.mouse.move(1200, 16);
  }

  before(async () => {
    // chromium.launch() uses a fresh temporary profile (Playwright rejects --user-data-dir in args).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(T);
    const t0 = Date.now();
    await page.goto(`${CS_URL}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
    // The activity-bar entry exists once the remote extension host has scanned the extension;
    // the palette is only complete after that.
    await page.locator('.activitybar .action-label[aria-label="Backfill"]').waitFor({ timeout: 90000 });
    console.log(`# workbench + extension contributions ready in ${Date.now() - t0} ms`);
    tree = page.getByRole('tree', { name: 'Assets' });
  });

  afterEach(async (t) => {
    if (page) await shot(`after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the demo assets by group in the Backfill view, all missing', async () => {
    await showBackfillView();
    await widenSideBar(460);
    for (const group of GROUPS) await row(group).waitFor();
    for (const group of GROUPS) await expand(group);
    for (const asset of ASSETS) {
      await row(asset).waitFor();
      const d = await waitForDescription(asset, /missing/, T);
      console.log(`# ${asset}: ${d}`);
    }
    assert.equal(await description('raw_events'), '62 missing');
    assert.equal(await description('region_activity'), '186 missing');
    assert.equal(await description('churn_model'), 'missing');
    await shot('01-assets-tree');
  });

  it('updates the tree when the CLI records partitions, without a refresh', async () => {
    // A job outside the editor wrote January's outputs and the user records them from a terminal.
    writeOutputs('raw_events', january(1, 31));
    const out = await cli('record', 'raw_events', '2024-01-01...2024-01-31');
    assert.match(out, /recorded 31 partitions of raw_events/);
    const t0 = Date.now();
    const d = await waitForDescription('raw_events', /31 fresh/);
    console.log(`# tree updated in ${Date.now() - t0} ms: raw_events "${d}"`);
    assert.doesNotMatch(d, /62 missing/);
    assert.match(d, /31 missing/);
    assert.equal(await description('clean_events'), '62 missing');
    await shot('02-tree-after-cli-record');
  });

  it('reports an unknown dependency in the Problems panel while typing, and undo clears it', async () => {
    // Quick Open the definitions file.
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input[type="text"]');
    await input.waitFor();
    await input.fill(DEFINITIONS);
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: DEFINITIONS }).waitFor();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor[data-uri$="pipeline.assets.yaml"]');
    await editor.waitFor();
    await editor.locator('.view-lines').filter({ hasText: 'raw_events' }).first().waitFor();

    // Go to Line: the first `deps: [raw_events]`, then delete the "s" before "]".
    const lines = fs.readFileSync(path.join(WORKSPACE, DEFINITIONS), 'utf8').split('\n');
    const line = lines.findIndex((l) => l.trim() === 'deps: [raw_events]') + 1;
    assert.ok(line > 0, `no "deps: [raw_events]" line in ${DEFINITIONS}`);
    const col = lines[line - 1].indexOf(']') + 1;
    await page.keyboard.press('Control+G');
    await input.waitFor();
    await input.fill(`:${line}:${col}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
    await page.keyboard.press('Backspace');
    await editor.locator('.view-line', { hasText: 'deps: [raw_event]' }).waitFor();

    // Problems panel: the error and its suggestion.
    await page.keyboard.press('Control+Shift+M');
    const problems = page.locator('.markers-panel');
    await problems.waitFor();
    const problem = problems.locator('.monaco-list-row', { hasText: 'unknown asset "raw_event"' });
    await problem.waitFor({ timeout: LIVE_UPDATE_MS });
    const text = await problem.innerText();
    console.log(`# problem: ${text.replace(/\s+/g, ' ')}`);
    assert.match(text, /did you mean "raw_events"/);
    // The squiggle is in the editor, too.
    await editor.locator('.squiggly-error').first().waitFor();
    await shot('03-problems-unknown-dependency');

    // Undo in the editor: the document is back to its saved text and the problem goes away.
    await page.keyboard.press('Control+1');
    await page.keyboard.press('Control+Z');
    await editor.locator('.view-line', { hasText: 'deps: [raw_events]' }).first().waitFor();
    await problem.waitFor({ state: 'detached', timeout: LIVE_UPDATE_MS });
    assert.equal(await problems.locator('.monaco-list-row', { hasText: 'unknown asset' }).count(), 0);
    await shot('04-problems-cleared');
  });

  it('lists the ranges of stale, missing and failed partitions under each asset', async () => {
    await showBackfillView();
    // raw_events: January was recorded by the previous test, February/March are missing.
    await expand('raw_events');
    await row('missing 2024-02-01…2024-03-02 (31)').waitFor();

    // clean_events for the first week, then raw_events is rematerialized for three of those
    // days (their clean_events become stale), and one daily_active_users partition fails.
    writeOutputs('clean_events', january(1, 7));
    await cli('record', 'clean_events', '2024-01-01...2024-01-07');
    await cli('record', 'raw_events', '2024-01-03...2024-01-05');
    await cli('record', 'daily_active_users', '2024-01-02', '--status', 'failed');

    assert.equal(await waitForDescription('clean_events', /3 stale/), '3 stale · 55 missing · 4 fresh');
    assert.equal(await waitForDescription('daily_active_users', /1 failed/), '61 missing · 1 failed');
    await expand('clean_events');
    await row('stale (upstream) 2024-01-03…2024-01-05 (3)').waitFor();
    await row('missing 2024-01-08…2024-03-02 (55)').waitFor();
    await expand('daily_active_users');
    await row('failed 2024-01-02').waitFor();
    await row('missing 2024-01-01').waitFor();

    // Ranges come worst first: stale before missing.
    const labels = await tree.locator('.monaco-list-row .label-name').allTextContents();
    const at = (l) => labels.indexOf(l);
    assert.ok(at('stale (upstream) 2024-01-03…2024-01-05 (3)') < at('missing 2024-01-08…2024-03-02 (55)'), labels.join(' | '));

    // A range expands into its partitions.
    await expand('stale (upstream) 2024-01-03…2024-01-05 (3)');
    await row('2024-01-04').waitFor();
    assert.equal(await description('2024-01-04'), 'stale');
    if (await page.locator('.part.panel').isVisible()) await page.keyboard.press('Control+J'); // hide the panel
    await page.locator('.part.panel').waitFor({ state: 'hidden' });
    await shot('05-tree-ranges');
  });
});
