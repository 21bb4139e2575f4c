// The extension in the VS Code it runs in, whichever end of the supported range run.sh started:
// the newest (code-server 4.139.1 on Node 24, whose extension host has node:sqlite) or the
// oldest (code-server 4.100.3 on Node 20, where the .vsix's better-sqlite3 is the driver).
// It checks which SQLite driver the extension host opened the database with (its log, and the
// native modules mapped into the extension host process), that statuses show, and that a
// backfill started from the Assets tree runs. run.sh provides, besides helpers.mjs's variables:
//   E2E_EXPECT_DRIVER  node:sqlite | better-sqlite3     E2E_SERVER_PID  the code-server process
//   E2E_USER_DATA      code-server's --user-data-dir (its logs)
//   E2E_EXPECT_NODE    the version of the Node that code-server runs on (v24.x / v20.x)
import { execFileSync } from 'node:child_process';
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { copyDemo, exactly, openWorkbench, until, T } from './helpers.mjs';

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the e2e tests with "npm run test:e2e" (test/e2e/run.sh)`);
  return v;
};
const DRIVER = need('E2E_EXPECT_DRIVER');
const SERVER_PID = Number(need('E2E_SERVER_PID'));
const USER_DATA = need('E2E_USER_DATA');
const NODE = need('E2E_EXPECT_NODE');
const WS = copyDemo('demo-runtime');

/** Every file below `dir` (code-server's log folders). */
function filesBelow(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** Processes below `root` (from /proc), with their command lines. */
function descendants(root) {
  const children = new Map();
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)).push(Number(pid));
    } catch {
      // gone
    }
  }
  const out = [];
  const queue = [root];
  while (queue.length) {
    for (const pid of children.get(queue.shift()) ?? []) {
      try {
        out.push({ pid, cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') });
      } catch {
        // gone
      }
      queue.push(pid);
    }
  }
  return out;
}

/** The extension hosts below code-server (one per page load; they outlive their pages). */
function extensionHosts() {
  const hosts = descendants(SERVER_PID).filter((p) => /extensionHost|--type=extensionHost/.test(p.cmdline));
  assert.ok(
    hosts.length > 0,
    `no extension host below code-server (pid ${SERVER_PID}): ${descendants(SERVER_PID)
      .map((p) => p.cmdline)
      .join(' | ')}`,
  );
  return hosts;
}

describe(`The extension host's runtime (expecting ${DRIVER} on Node ${NODE})`, { timeout: 300000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;

  before(async () => {
    ({ browser, page, wb } = await openWorkbench(WS));
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`runtime-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('shows statuses in the Assets view (the state database opened)', async () => {
    await wb.showBackfillView();
    await wb.widenSideBar(460);
    const d = await wb.waitForDescription('raw_events', /missing|fresh|state unavailable/, 60000);
    assert.equal(d, '62 missing', 'the tree shows statuses, not "state unavailable"');
    assert.equal(await wb.description('churn_model'), 'missing');
    await wb.shot('runtime-01-tree');
  });

  it(`the extension's log says the database was opened with ${DRIVER}`, async () => {
    const line = await until(
      () => {
        for (const f of filesBelow(path.join(USER_DATA, 'logs'))) {
          if (!/backfill/i.test(path.basename(f))) continue;
          const hit = fs
            .readFileSync(f, 'utf8')
            .split('\n')
            .find((l) => l.includes(`${WS}/.backfill/state.db opened with`));
          if (hit) return hit;
        }
        return null;
      },
      () => `no "state database … opened with" line in the Backfill log under ${USER_DATA}/logs`,
    );
    console.log(`# ${line.trim()}`);
    assert.match(line, new RegExp(`opened with ${DRIVER} \\(SQLite 3\\.\\d+\\.\\d+\\)$`));
  });

  it(`the extension host runs on Node ${NODE}`, () => {
    let checked = 0;
    for (const h of extensionHosts()) {
      let exe;
      try {
        exe = fs.readlinkSync(`/proc/${h.pid}/exe`);
      } catch {
        continue; // gone since it was listed
      }
      const version = execFileSync(exe, ['-v'], { encoding: 'utf8' }).trim();
      console.log(`# extension host ${h.pid}: ${exe} ${version}`);
      assert.equal(version, NODE);
      checked++;
    }
    assert.ok(checked > 0, 'every extension host went away before its Node could be read');
  });

  it(
    DRIVER === 'node:sqlite'
      ? 'no native SQLite module is loaded by the extension host'
      : "the extension host loaded the .vsix's better-sqlite3",
    () => {
      const hosts = extensionHosts();
      const withBetter = hosts.filter((h) => {
        try {
          return fs.readFileSync(`/proc/${h.pid}/maps`, 'utf8').includes('better_sqlite3.node');
        } catch {
          return false;
        }
      });
      console.log(
        `# extension hosts: ${hosts.map((h) => h.pid).join(', ')}; with better_sqlite3.node mapped: ${withBetter.map((h) => h.pid).join(', ') || 'none'}`,
      );
      if (DRIVER === 'node:sqlite') assert.deepEqual(withBetter, []);
      else assert.ok(withBetter.length > 0, 'better_sqlite3.node is not mapped into any extension host');
    },
  );

  it('a backfill started from the Assets tree runs (right-click → Backfill…, a range of three days)', async () => {
    await wb.row('raw_events').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Backfill…', exact: true }).hover();
    await page.keyboard.press('Enter');
    await wb.pick('Backfill raw_events: which partitions?', 'A range…', 'range');
    await wb.type('Backfill raw_events: range', '2024-01-05..2024-01-07');
    await wb.pick('Backfill raw_events: downstream?', 'Only this asset', 'only');
    const { message } = await wb.dialogText();
    assert.equal(message, 'Backfill raw_events 2024-01-05…2024-01-07: 3 partitions of 1 asset');
    await wb.dialogButton('Run');
    const summary = await wb.waitForTerminalLine(/^(succeeded|failed|canceled|paused): \d+ succeeded/, 120000);
    assert.match(summary, /^succeeded: 3 succeeded, 0 failed, 0 skipped, 0 canceled, 0 pending /);
    await wb.waitForDescription('raw_events', exactly('59 missing · 3 fresh'), T);
    await wb.shot('runtime-02-backfilled');
  });
});
