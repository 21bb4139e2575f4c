// End-to-end tests of the Backfill extension in a real VS Code workbench (code-server), driven
// by playwright-core in Chromium (helpers.mjs). Started by test/e2e/run.sh, which provides:
//   CS_URL         the code-server base URL        E2E_WORKSPACE  a fresh copy of examples/demo
//   E2E_SHOTS      folder for the screenshots      CHROMIUM       the browser binary
//   BACKFILL_CLI   the built CLI (dist/cli.js)     E2E_TIMEOUT_MS default wait (30000)
// The tests share one page and run in order: each starts from the state the previous one left.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './helpers.mjs';
import { LIVE_UPDATE_MS, T, WORKSPACE, january, openWorkbench } from './helpers.mjs';

const GROUPS = ['ingest', 'clean', 'metrics', 'reports', 'ml'];
const ASSETS = ['raw_events', 'clean_events', 'daily_active_users', 'region_activity', 'weekly_summary', 'churn_model'];
const DEFINITIONS = 'pipeline.assets.yaml';

/** Runs the Backfill CLI on the test workspace, like a user in a terminal. */
const cli = (...args) => h.cli(WORKSPACE, ...args);
/** Writes the output files of an asset's partitions: what its job would have produced. */
const writeOutputs = (asset, days, ext) => h.writeOutputs(WORKSPACE, asset, days, ext);

describe('Backfill extension in VS Code (code-server)', { timeout: 300000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;
  let tree;

  const shot = (name) => wb.shot(name);
  const row = (label) => wb.row(label);
  const description = (label) => wb.description(label);
  const waitForDescription = (label, re, timeout) => wb.waitForDescription(label, re, timeout);
  const expand = (label) => wb.expand(label);
  const showBackfillView = () => wb.showBackfillView();
  const widenSideBar = (width) => wb.widenSideBar(width);

  before(async () => {
    ({ browser, page, wb } = await openWorkbench(WORKSPACE));
    tree = wb.assets;
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

    // Undo in the editor: the document has its original text again and the problem goes away.
    const original = lines.join('\n');
    await page.keyboard.press('Control+1');
    await page.keyboard.press('Control+Z');
    await editor.locator('.view-line', { hasText: 'deps: [raw_events]' }).first().waitFor();
    await problem.waitFor({ state: 'detached', timeout: LIVE_UPDATE_MS });
    assert.equal(await problems.locator('.monaco-list-row', { hasText: 'unknown asset' }).count(), 0);
    await shot('04-problems-cleared');
    // VS Code may have saved the edited text meanwhile (seen on 1.139: a save while the focus was
    // in the Problems panel): save the undone text, so that the CLI in the next tests reads the
    // same definitions as the editor.
    await page.keyboard.press('Control+1');
    await page.keyboard.press('Control+S');
    await h.until(
      () => fs.readFileSync(path.join(WORKSPACE, DEFINITIONS), 'utf8') === original,
      `${DEFINITIONS} on disk is not its original text after saving`,
    );
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
    assert.equal(await waitForDescription('daily_active_users', /1 failed/), '1 failed · 61 missing');
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

  it('says how to fix a corrupt state database, changes nothing in it, and recovers once it is moved aside', async () => {
    // The workspace's settings point Backfill at a database that is not one (a half-copied file).
    const broken = path.join(WORKSPACE, 'state-copy.db');
    const garbage = Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0x5a)]);
    fs.writeFileSync(broken, garbage);
    fs.mkdirSync(path.join(WORKSPACE, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(WORKSPACE, '.vscode', 'settings.json'), JSON.stringify({ 'backfill.stateDatabase': 'state-copy.db' }));
    const gitignore = fs.readFileSync(path.join(WORKSPACE, '.gitignore'), 'utf8');
    const toast = wb.toast(/is corrupt/);
    await toast.waitFor({ timeout: LIVE_UPDATE_MS });
    const message = await toast.locator('.notification-list-item-message').innerText();
    console.log(`# corrupt database: ${message}`);
    assert.ok(message.includes(broken), message);
    assert.match(message, /Nothing was changed: move it aside \(mv ".*state-copy\.db" ".*state-copy\.db\.broken"\)/);
    await waitForDescription('raw_events', /^state unavailable$/);
    await shot('06-corrupt-database');
    // Retry while it is still corrupt: the same problem is not announced again, the file is as it was.
    await wb.notificationButton(/is corrupt/, 'Retry');
    await page.waitForTimeout(1000);
    assert.equal(await wb.toast(/is corrupt/).count(), 0);
    assert.ok(fs.readFileSync(broken).equals(garbage), 'the corrupt database was modified');

    // The fix the message gives, from a terminal: the view recovers by itself with a new history.
    fs.renameSync(broken, `${broken}.broken`);
    // A new history: daily_active_users' failed day (in the workspace's own database) is not in
    // it; raw_events' January outputs on disk count as materialized (observed).
    await waitForDescription('daily_active_users', /^62 missing$/);
    assert.equal(await description('raw_events'), '31 missing · 31 fresh');
    assert.ok(fs.readFileSync(`${broken}.broken`).equals(garbage));
    assert.ok(fs.existsSync(broken), 'no new database was created');
    // The project's own .gitignore is left as it was.
    assert.equal(fs.readFileSync(path.join(WORKSPACE, '.gitignore'), 'utf8'), gitignore);
  });
});
