// End-to-end tests of a multi-root workspace in a real VS Code (code-server) and Chromium: the
// Assets view shows the folder that holds asset definitions even when it is not the first one;
// Backfill: Select Workspace Folder… (and a CodeLens on the other folder's definitions) switches
// folders, remembered across a window reload; tasks.json backfill tasks of each folder; a folder
// removed from the workspace. Started by test/e2e/run.sh (see extension.test.mjs for the environment).
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LIVE_UPDATE_MS, copyDemo, openWorkbench, until } from './helpers.mjs';

// Two folders: `notes` first (no definitions), then a copy of the demo.
const DEMO = copyDemo('demo-folders');
const NOTES = path.join(path.dirname(DEMO), 'notes');
const WORKSPACE_FILE = path.join(path.dirname(DEMO), 'two-folders.code-workspace');
const FOLDER_TITLE = 'Backfill: Select Workspace Folder';

describe('A multi-root workspace in VS Code (code-server)', { timeout: 300000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;

  /** The folder name the Assets view's header shows. */
  const shownFolder = () => wb.paneHeader('Assets').locator('.description').innerText();
  const welcome = () => page.locator('.part.sidebar .welcome-view-content');

  /** Picks a folder in the Select Workspace Folder quick pick; returns every row's label and description. */
  async function selectFolder(name) {
    const title = wb.quickInput.locator('.quick-input-title', { hasText: FOLDER_TITLE });
    // Under load the graph webview (re-rendering for the folder shown) can take the focus as the
    // picker opens, which closes it: once, open it again (and say so in the log).
    for (let attempt = 1; ; attempt++) {
      await wb.palette(`${FOLDER_TITLE}…`);
      try {
        await title.waitFor({ timeout: attempt === 1 ? 10000 : 30000 });
        break;
      } catch (e) {
        if (attempt > 1) throw e;
        console.log('# the folder picker closed before it could be used: opening it again');
        await page.keyboard.press('Escape');
      }
    }
    const rows = wb.quickInput.locator('.quick-input-list .monaco-list-row');
    await until(
      async () => (await rows.count()) === 2,
      async () => `the folder picker lists ${await rows.count()} rows`,
    );
    const listed = await rows.evaluateAll((rs) =>
      rs.map((r) => `${r.querySelector('.label-name')?.textContent} — ${r.querySelector('.label-description')?.textContent}`),
    );
    await wb.pick(FOLDER_TITLE, name);
    return listed;
  }

  before(async () => {
    fs.rmSync(NOTES, { recursive: true, force: true });
    fs.mkdirSync(NOTES);
    fs.writeFileSync(path.join(NOTES, 'README.md'), '# Notes\nNothing for Backfill here.\n');
    // A backfill task in each folder's tasks.json (the last test runs them).
    const tasks = (folder, task) => {
      fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
      fs.writeFileSync(
        path.join(folder, '.vscode', 'tasks.json'),
        JSON.stringify({ version: '2.0.0', tasks: [{ type: 'backfill', problemMatcher: [], ...task }] }, null, 2),
      );
    };
    tasks(NOTES, { label: 'notes backfill', assets: ['raw_events'] });
    tasks(DEMO, { label: 'first days', assets: ['raw_events'], from: '2024-01-01', to: '2024-01-02' });
    fs.writeFileSync(WORKSPACE_FILE, JSON.stringify({ folders: [{ path: 'notes' }, { path: 'demo-folders' }] }, null, 2));
    ({ browser, page, wb } = await openWorkbench(WORKSPACE_FILE));
    // code-server once opened the workspace file as a workspace without folders (the extension
    // host got none and the workbench showed its single-folder welcome text; once in about eight
    // runs): a reload, as a user would do, reads it again. The tests need the two folders open.
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('Control+Shift+E');
      const roots = page.locator('.explorer-folders-view .monaco-list-row[aria-level="1"] .label-name');
      const ok = await until(
        async () => (await roots.allTextContents()).join(',') === 'notes,demo-folders',
        'the Explorer shows notes and demo-folders',
        15000,
      ).then(
        () => true,
        () => false,
      );
      if (ok) break;
      assert.ok(
        attempt < 2,
        `the workbench did not open the folders of ${WORKSPACE_FILE}: Explorer shows ${await roots.allTextContents()}`,
      );
      console.log('# the workbench showed no folders: reloading the page');
      await page.reload();
      await page.locator('.activitybar .action-label[aria-label="Backfill"]').waitFor({ timeout: 90000 });
    }
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`folders-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the folder with asset definitions, not merely the first folder, and names it', async () => {
    await wb.showBackfillView();
    await wb.row('ingest').waitFor();
    await wb.expand('ingest');
    await wb.waitForDescription('raw_events', /^62 missing$/);
    assert.equal(await shownFolder(), 'demo-folders');
    await wb.shot('folders-01-second-folder-shown');
  });

  /** Opens the asset graph and waits for an asset's node in it. */
  async function graphShows(asset) {
    await wb.palette('Backfill: Show Asset Graph');
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame.locator(`g.node[data-id="${asset}"]`).waitFor();
  }
  const graphTab = () => page.locator('.tabs-container .tab', { hasText: 'Asset Graph' });

  it('switches folders with Select Workspace Folder…, and keeps the choice after a reload', async () => {
    await graphShows('raw_events');
    assert.deepEqual(await selectFolder('notes'), ['notes — no asset definitions', 'demo-folders — shown · 1 definition file']);
    // The notes folder: no assets; the view says so and offers to switch back.
    await welcome().getByText('No asset definitions found in this folder').waitFor();
    assert.equal(await shownFolder(), 'notes');
    // The graph of the folder no longer shown is closed.
    await graphTab().waitFor({ state: 'detached' });
    await wb.shot('folders-02-notes-shown');

    await wb.palette('Developer: Reload Window');
    await page.locator('.activitybar .action-label[aria-label="Backfill"]').waitFor({ timeout: 90000 });
    await welcome().getByText('No asset definitions found in this folder').waitFor({ timeout: 60000 });
    assert.equal(await shownFolder(), 'notes');

    // Back with the welcome view's button.
    await welcome().getByRole('button', { name: 'Select Workspace Folder' }).click();
    await wb.pick(FOLDER_TITLE, 'demo-folders');
    await wb.row('ingest').waitFor();
    await wb.expand('ingest');
    await wb.waitForDescription('raw_events', /^62 missing$/);
    assert.equal(await shownFolder(), 'demo-folders');
    await graphShows('churn_model');
  });

  it('a definitions file of the folder not shown says so in a CodeLens that switches to its folder', async () => {
    await selectFolder('notes');
    await welcome().getByText('No asset definitions found in this folder').waitFor();
    // Quick Open the demo's definitions file.
    await page.keyboard.press('Control+P');
    await wb.input.fill('pipeline.assets.yaml');
    await wb.quickInput.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'pipeline.assets.yaml' }).waitFor();
    await page.keyboard.press('Enter');
    const editor = wb.editor('demo-folders/pipeline.assets.yaml');
    const lens = editor.locator('.codelens-decoration a', { hasText: 'Backfill shows notes: show demo-folders instead' });
    await lens.waitFor();
    // No counts beside the assets of a folder not shown.
    assert.equal(await editor.locator('.codelens-decoration a', { hasText: /^Backfill downstream$/ }).count(), 0);
    await wb.shot('folders-03-other-folder-lens');
    await lens.click();
    await until(
      async () => (await shownFolder()) === 'demo-folders',
      async () => `the views show ${await shownFolder()}`,
    );
    // Now the file's assets have their usual CodeLens.
    await editor
      .locator('.codelens-decoration a', { hasText: /^Backfill downstream$/ })
      .first()
      .waitFor();
    await wb.showBackfillView();
    await wb.waitForDescription('raw_events', /^62 missing$/);
  });

  it('runs a backfill task from the shown folder’s tasks.json; one from another folder says which folder to select instead', async () => {
    await wb.palette('Tasks: Run Task');
    await wb.pick('Select the task to run', 'first days', 'first days');
    assert.match(await wb.waitForTerminalLine(/^(succeeded|failed|canceled): \d+ succeeded/, 120000), /^succeeded: 2 succeeded, 0 failed/);
    await wb.waitForDescription('raw_events', /^60 missing · 2 fresh$/);

    await wb.palette('Tasks: Run Task');
    await wb.pick('Select the task to run', 'notes backfill', 'notes backfill');
    // (The terminal wraps the message: its first line is enough.)
    await wb.waitForTerminalLine(
      /^This task belongs to the folder notes, but Backfill shows demo-folders: run "Backfill: Select Workspace/,
    );
    await wb.shot('folders-03-task-of-other-folder');
    // Nothing ran: the demo folder still has the one backfill, of two partitions.
    assert.deepEqual(fs.readdirSync(path.join(DEMO, '.backfill', 'logs')).length, 1);
    await wb.waitForDescription('raw_events', /^60 missing · 2 fresh$/);
  });

  it('follows folders removed from the workspace: the folder shown gone, it shows another', async () => {
    await wb.hidePanel();
    // The workspace file edited on disk (as "Remove Folder from Workspace" would): only notes is left.
    fs.writeFileSync(WORKSPACE_FILE, JSON.stringify({ folders: [{ path: 'notes' }] }, null, 2));
    await welcome().getByText('No asset definitions found').waitFor({ timeout: LIVE_UPDATE_MS });
    // One folder: the views no longer name it.
    await until(
      async () => (await wb.paneHeader('Assets').locator('.description').count()) === 0 || (await shownFolder()) === '',
      async () => `the Assets view still names ${await shownFolder()}`,
    );
    // The open definitions file (now outside the workspace) loses the backfill lenses of the
    // folder no longer shown (VS Code may still draw the last ones from its cache, inert: not links).
    const editor = wb.editor('demo-folders/pipeline.assets.yaml');
    await until(
      async () => (await editor.locator('.codelens-decoration a', { hasText: /^Backfill downstream$/ }).count()) === 0,
      'the definitions file of the removed folder still shows its backfill lenses',
      LIVE_UPDATE_MS,
    );
    await wb.shot('folders-04-folder-removed');
  });
});
