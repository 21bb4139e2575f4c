// A VS Code whose extension host can load neither SQLite driver: code-server 4.100.3 on Node 20
// (no node:sqlite) with the extension's better-sqlite3 removed after installing the .vsix, as on
// a desktop VS Code 1.100 (Electron 34), where the bundled Node 20 build does not load. run.sh
// runs this file alone, in a run of its own (E2E_EXPECT_DRIVER=none).
// What a user must see: definitions still load, the views say the state is unavailable, and ONE
// notification says which VS Code is needed — not two, and not again on every reload.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openWorkbench, until, WORKSPACE } from './helpers.mjs';

const NOTICE =
  /^Backfill: partition state is unavailable: this VS Code \(1\.\d+\.\d+\) runs extensions on Node \d+\.\d+\.\d+, which has no built-in SQLite, and the better-sqlite3 fallback in this extension does not load there \(.+\)\. Backfill needs VS Code 1\.101 or newer \(its extension host has SQLite built in\)\. Definitions, diagnostics and the graph still work\.$/;

describe('An extension host with no SQLite at all', { timeout: 300000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;

  before(async () => {
    assert.equal(
      process.env.E2E_EXPECT_DRIVER,
      'none',
      "run.sh runs this file with the extension's better-sqlite3 removed (E2E_EXPECT_DRIVER=none)",
    );
    ({ browser, page, wb } = await openWorkbench(WORKSPACE));
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`no-sqlite-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the assets, says "state unavailable", and one notification names the VS Code needed', async () => {
    await wb.showBackfillView();
    await wb.widenSideBar(460);
    assert.equal(await wb.waitForDescription('raw_events', /state unavailable/, 60000), 'state unavailable');
    const toast = wb.toast(NOTICE);
    await toast.waitFor({ timeout: 30000 });
    assert.ok(await toast.getByRole('button', { name: 'Supported Versions', exact: true }).isVisible());
    await wb.shot('no-sqlite-01-notice');

    // Definitions reload (an edit on disk): the store is tried again, quietly.
    fs.appendFileSync(path.join(WORKSPACE, 'pipeline.assets.yaml'), '\n# touched by the e2e test\n');
    await new Promise((r) => setTimeout(r, 3000));
    await wb.palette('Notifications: Show Notifications');
    const rows = page.locator('.notifications-center .monaco-list-row .notification-list-item-message');
    const texts = await until(async () => {
      const all = await rows.allTextContents();
      return all.length ? all : null;
    }, 'the notification center lists nothing');
    const ours = texts.filter((t) => t.startsWith('Backfill'));
    assert.deepEqual(ours.length, 1, `notifications from Backfill: ${JSON.stringify(ours)}`);
    assert.match(ours[0], NOTICE);
  });
});
