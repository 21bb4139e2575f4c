// A team's state in VS Code: the workspace's backfill.stateDatabase names a PostgreSQL database
// (run.sh starts a throw-away server before code-server when this file is among the tests, with
// its password in PGPASSWORD, as in the shell a user starts the editor from). A colleague's task,
// run by the CLI against the same database, turns the partition fresh in the tree without a
// refresh: the extension LISTENs to the database.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cli, copyDemo, exactly, openWorkbench, ROOT, shortenDemo } from './helpers.mjs';

const URL = process.env.BACKFILL_TEST_PG_URL;
const PG_DIR = process.env.BACKFILL_TEST_PG_DIR;
/** Stops (down) or starts again (up) the test server, keeping its data: an outage. */
const server = (cmd) => execFileSync('bash', [path.join(ROOT, 'test/pg/local-pg.sh'), cmd, PG_DIR], { stdio: 'ignore' });
if (!URL || !PG_DIR || !process.env.PGPASSWORD)
  throw new Error('BACKFILL_TEST_PG_URL is not set: run the e2e tests with "npm run test:e2e" (test/e2e/run.sh starts PostgreSQL)');
const WS = copyDemo('demo-team');

describe('A team database (PostgreSQL) in VS Code (code-server)', { timeout: 300000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;

  before(async () => {
    shortenDemo(WS);
    fs.mkdirSync(path.join(WS, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(WS, '.vscode', 'settings.json'), JSON.stringify({ 'backfill.stateDatabase': URL }, null, 2));
    ({ browser, page, wb } = await openWorkbench(WS));
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`team-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('a task a colleague finishes with the CLI turns the partition fresh in the tree, without a refresh', async () => {
    await wb.showBackfillView();
    await wb.waitForDescription('raw_events', exactly('21 missing'), 60000);
    // The colleague: the CLI, on the same team database and project (the same repository folder).
    const out = await cli(WS, 'run', 'raw_events', '--partition', '2024-01-02', '--state', URL);
    assert.match(out, /✓ raw_events 2024-01-02/);
    const t0 = Date.now();
    await wb.waitForDescription('raw_events', exactly('20 missing · 1 fresh'));
    console.log(`# the tree followed the colleague's task in ${Date.now() - t0} ms (from the CLI's exit)`);
    assert.equal(fs.existsSync(path.join(WS, '.backfill', 'state.db')), false, 'the editor made a local state file');
    await wb.shot('team-01-fresh-from-colleague');
  });

  it('the server going away is said in the views and a notification, and the tree comes back by itself', async () => {
    server('down');
    try {
      await wb.waitForDescription('raw_events', exactly('20 missing · 1 fresh · state unavailable'));
      const toast = wb.toast('postgres://backfill@127.0.0.1:');
      await toast.first().waitFor({ timeout: 15000 });
      const text = await toast.first().innerText();
      assert.match(
        text,
        /lost the connection to postgres:\/\/backfill@127\.0\.0\.1:\d+\/backfill|cannot reach the state database postgres:\/\/backfill@127\.0\.0\.1:\d+\/backfill/,
      );
      assert.ok(!text.includes(process.env.PGPASSWORD), 'the notification shows the password');
      await wb.shot('team-02-server-down');
    } finally {
      server('up');
    }
    // Reconnected (with backoff): everything read again, without a refresh.
    await wb.waitForDescription('raw_events', exactly('20 missing · 1 fresh'), 60000);
  });
});
