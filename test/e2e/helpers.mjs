// What the end-to-end test files share: the environment run.sh provides, the demo workspace,
// the CLI, the browser, and a `Workbench` wrapping one page with the gestures a user makes
// (tree rows, context menus, the command palette, quick picks, dialogs, the terminal,
// notifications, editor decorations and CodeLens). Selectors and pitfalls: test/e2e/README.md.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the e2e tests with "npm run test:e2e" (test/e2e/run.sh)`);
  return v;
};
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CS_URL = env('CS_URL');
/** A fresh copy of examples/demo made by run.sh (used by extension.test.mjs). */
export const WORKSPACE = env('E2E_WORKSPACE');
export const CLI = env('BACKFILL_CLI');
export const SHOTS = process.env.E2E_SHOTS ?? path.resolve('test-output/e2e');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const T = Number(process.env.E2E_TIMEOUT_MS ?? 30000);
/** How long the views may take to follow a change made outside the editor (CLI writing the state). */
export const LIVE_UPDATE_MS = 15000;

fs.mkdirSync(SHOTS, { recursive: true });

export const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A regular expression matching exactly `text`. */
export const exactly = (text) => new RegExp(`^${escape(text)}$`);

/**
 * A fresh copy of examples/demo (without data/ and .backfill/, nothing materialized) beside
 * run.sh's workspace, so a test file does not depend on what another one did.
 */
export function copyDemo(name) {
  const dest = path.join(path.dirname(WORKSPACE), name);
  fs.rmSync(dest, { recursive: true, force: true });
  const src = path.join(ROOT, 'examples/demo');
  fs.cpSync(src, dest, {
    recursive: true,
    filter: (f) => {
      const rel = path.relative(src, f).split(path.sep)[0];
      return rel !== 'data' && rel !== '.backfill';
    },
  });
  return dest;
}

/** Replaces each `from` (which must be there) in a workspace file. */
export function editFile(workspace, file, replacements) {
  const p = path.join(workspace, file);
  let text = fs.readFileSync(p, 'utf8');
  for (const [from, to] of replacements) {
    assert.ok(text.includes(from), `${file} has no "${from}": update the e2e tests to the demo`);
    text = text.replace(from, to);
  }
  fs.writeFileSync(p, text);
}

/**
 * Makes a copy of the demo smaller and deterministic: three weeks instead of nine (21 days,
 * 2 weeks; churn_model trained on those 2 weeks) and raw_events `retries: 0`, so that its job
 * fails the first time it runs 2024-01-15 (the demo's one-time "API outage", data/.flaky/).
 */
export function shortenDemo(workspace) {
  editFile(workspace, 'pipeline.assets.yaml', [
    ['days: { daily: { start: 2024-01-01, end: 2024-03-03 } }', 'days: { daily: { start: 2024-01-01, end: 2024-01-22 } }'],
    ['partitions: { weekly: { start: 2024-01-01, end: 2024-03-03 } }', 'partitions: { weekly: { start: 2024-01-01, end: 2024-01-22 } }'],
    ['run: node jobs/train_model.mjs 2024-01-07 2024-02-25', 'run: node jobs/train_model.mjs 2024-01-07 2024-01-14'],
    ['    retries: 1\n', '    retries: 0\n'],
  ]);
}

/** Runs the Backfill CLI on a workspace, like a user in a terminal. */
export async function cli(workspace, ...args) {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--workspace', workspace, ...args], { timeout: 60000 });
  return stdout;
}

/** Writes the output files of an asset's partitions: what its job would have produced. */
export function writeOutputs(workspace, asset, days, ext = 'jsonl') {
  const dir = path.join(workspace, 'data', asset);
  fs.mkdirSync(dir, { recursive: true });
  for (const day of days) fs.writeFileSync(path.join(dir, `${day}.${ext}`), '{}\n');
}

/** `2024-01-01`, … for days `from`..`to` of January 2024 (inclusive). */
export const january = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `2024-01-${String(from + i).padStart(2, '0')}`);

/** Processes (pid, comm) whose current folder is `dir` or below it, from /proc. */
export function processesIn(dir) {
  const out = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (cwd !== dir && !cwd.startsWith(dir + path.sep)) continue;
      const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (state !== 'Z')
        out.push({ pid: Number(pid), comm, cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

/** Polls `probe` until it returns a truthy value; fails with `what()` after `timeout` ms. */
export async function until(probe, what, timeout = T, every = 200) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`${typeof what === 'function' ? await what() : what} (after ${timeout} ms)`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Chromium on code-server with `workspace` open; resolves once the extension's contributions are registered. */
export async function openWorkbench(workspace) {
  // A folder, or a multi-root workspace file (`*.code-workspace`).
  const target = workspace.endsWith('.code-workspace')
    ? `workspace=${encodeURIComponent(workspace)}`
    : `folder=${encodeURIComponent(workspace)}`;
  // chromium.launch() uses a fresh temporary profile (Playwright rejects --user-data-dir in args).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(T);
  const t0 = Date.now();
  await page.goto(`${CS_URL}/?${target}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
  // The activity-bar entry exists once the remote extension host has scanned the extension;
  // the palette is only complete after that.
  await page.locator('.activitybar .action-label[aria-label="Backfill"]').waitFor({ timeout: 90000 });
  console.log(`# workbench + extension contributions ready in ${Date.now() - t0} ms`);
  return { browser, page, wb: new Workbench(page) };
}

/** One workbench page and what a user does in it. */
export class Workbench {
  constructor(page) {
    this.page = page;
    this.assets = page.getByRole('tree', { name: 'Assets' });
    this.backfills = page.getByRole('tree', { name: 'Backfills' });
    this.quickInput = page.locator('.quick-input-widget');
    this.input = this.quickInput.locator('input[type="text"]');
    this.dialog = page.locator('.monaco-dialog-box');
    this.panel = page.locator('.part.panel');
  }

  shot(name) {
    return this.page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  // ---------------------------------------------------------------- trees

  /** The row of `tree` (default: Assets) whose label is exactly `label`. */
  row(label, tree = this.assets) {
    return tree.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: exactly(label) }) });
  }

  async description(label, tree = this.assets) {
    return (await this.row(label, tree).locator('.label-description').textContent())?.trim() ?? '';
  }

  /** Waits until `label`'s description matches `re`; fails with the last description seen. */
  async waitForDescription(label, re, timeout = LIVE_UPDATE_MS, tree = this.assets) {
    let last = '';
    await until(
      async () => {
        last = (await this.row(label, tree).count()) ? await this.description(label, tree).catch(() => '') : '(no row)';
        return re.test(last);
      },
      () => `description of ${label} is "${last}", expected ${re}`,
      timeout,
    );
    return last;
  }

  /**
   * Waits until the row whose description is `description` (a backfill in the Backfills view:
   * its label is its status and progress; what it spent may follow, ` · 1.20 USD`) has a label
   * matching `re`; returns the label.
   */
  async waitForLabel(description, re, timeout = LIVE_UPDATE_MS, tree = this.backfills) {
    const described = new RegExp(`^${escape(description)}( · .*)?$`);
    const rows = tree.locator('.monaco-list-row', { has: this.page.locator('.label-description', { hasText: described }) });
    let last = '';
    await until(
      async () => {
        last = (await rows.count())
          ? ((
              await rows
                .first()
                .locator('.label-name')
                .textContent()
                .catch(() => '')
            )?.trim() ?? '')
          : '(no row)';
        return re.test(last);
      },
      () => `label of the row "${description}" is "${last}", expected ${re}`,
      timeout,
    );
    return last;
  }

  /**
   * Expands a tree row with its twistie (clicking the row itself runs its command). Retries:
   * a refresh of the tree (the extension reloading after a change) can re-render the row
   * between the click and the check.
   */
  async expand(label, tree = this.assets) {
    const r = this.row(label, tree);
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
        await r
          .locator('.monaco-tl-twistie')
          .click({ timeout: 2000 })
          .catch(() => {});
        // Children come from the extension host: give the expansion time before clicking again
        // (a second click would collapse it).
        await this.page
          .waitForFunction(
            ([lbl]) =>
              [...document.querySelectorAll('.monaco-list-row')].some(
                (el) => el.querySelector('.label-name')?.textContent?.trim() === lbl && el.getAttribute('aria-expanded') === 'true',
              ),
            [label],
            { timeout: 3000 },
          )
          .catch(() => {});
      } else {
        await this.page.waitForTimeout(250);
      }
    }
  }

  /** The header of the Backfill container's pane `title` (Assets, Backfills) in the side bar. */
  paneHeader(title) {
    return this.page.locator('.part.sidebar .pane-header', {
      has: this.page.locator('.title', { hasText: new RegExp(`^${escape(title)}$`, 'i') }),
    });
  }

  /**
   * Shows the Assets tree: the Backfill container (clicking its activity-bar entry while it is
   * shown would hide it), with its other views collapsed.
   */
  async showBackfillView() {
    if (!(await this.paneHeader('Assets').isVisible())) {
      await this.page.locator('.activitybar .action-label[aria-label="Backfill"]').click();
      await this.paneHeader('Assets').waitFor();
      await this.page.mouse.move(1200, 16); // off the activity bar: no tooltip over the tree in screenshots
    }
    await this.onlyPane('Assets');
    await this.assets.waitFor();
  }

  /**
   * Expands the container's pane `title` and collapses the others, so that the whole tree is
   * rendered (list rows outside the viewport are not in the DOM).
   */
  async onlyPane(title) {
    const mine = this.paneHeader(title);
    if ((await mine.getAttribute('aria-expanded')) !== 'true') await mine.locator('.title').click();
    await this.page
      .locator('.part.sidebar .pane-header[aria-expanded="true"]', {
        has: this.page.locator('.title', { hasText: new RegExp(`^${escape(title)}$`, 'i') }),
      })
      .waitFor();
    const others = this.page
      .locator('.part.sidebar .pane-header[aria-expanded="true"]')
      .filter({ hasNot: this.page.locator('.title', { hasText: new RegExp(`^${escape(title)}$`, 'i') }) });
    while ((await others.count()) > 0) await others.first().locator('.title').click();
  }

  /** Shows the Backfills view (the container's second view) instead of Assets. */
  async showBackfillsPane() {
    await this.showBackfillView();
    await this.onlyPane('Backfills');
    await this.backfills.waitFor();
  }

  /** Drags the side bar's sash so that descriptions fit (for readable screenshots). */
  async widenSideBar(width) {
    const sidebar = this.page.locator('.part.sidebar');
    const box = await sidebar.boundingBox();
    if (!box || box.width >= width) return;
    // Drag the sash on the side bar's right edge (its element, not a guessed pixel: the sash's
    // hit area moved between VS Code versions).
    const sash = await this.page.evaluate((edge) => {
      const found = [...document.querySelectorAll('.monaco-sash.vertical')]
        .map((el) => el.getBoundingClientRect())
        .filter((r) => r.height > 100 && Math.abs(r.x + r.width / 2 - edge) < 8)
        .sort((a, b) => b.height - a.height)[0];
      return found ? { x: found.x + found.width / 2, y: found.y + found.height / 2 } : null;
    }, box.x + box.width);
    assert.ok(sash, `no sash at the side bar's right edge (x ${box.x + box.width})`);
    await this.page.mouse.move(sash.x, sash.y);
    await this.page.mouse.down();
    await this.page.mouse.move(sash.x + width - box.width, sash.y, { steps: 8 });
    await this.page.mouse.up();
    await this.page.mouse.move(1200, 16);
    const after = await sidebar.boundingBox();
    assert.ok(after && after.width >= width - 2, `the side bar is ${after?.width} px wide after dragging its sash to ${width} px`);
  }

  /**
   * Right-clicks `row` and runs the context-menu item `item`. Menu items ignore clicks for
   * 100 ms after the menu opens: hover, then Enter.
   */
  async contextMenu(row, item) {
    await row.click({ button: 'right' });
    const entry = this.page.getByRole('menuitem', { name: item, exact: true });
    await entry.hover();
    await this.page.keyboard.press('Enter');
    await entry.waitFor({ state: 'hidden' });
  }

  // ---------------------------------------------------------------- palette and quick input

  /** F1, the command `title` (`Category: Title`), Enter. */
  async palette(title) {
    await this.page.keyboard.press('F1');
    await this.input.waitFor();
    await this.input.fill(`>${title}`);
    // The command whose label is exactly `title` (another one may rank first: "Preferences:
    // Browse Color Themes in Marketplace" comes before "Preferences: Color Theme").
    await this.quickInput
      .locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: exactly(title) }) })
      .click();
  }

  /**
   * In the quick pick titled `title` (or whose placeholder starts so), types `filter` and accepts the focused item once it is
   * `label` (exactly).
   */
  async pick(title, label, filter = label) {
    // Some pickers (the colour theme's) say what they are in the input's placeholder instead.
    await this.quickInput
      .locator('.quick-input-title', { hasText: title })
      .or(this.quickInput.locator(`input[placeholder^="${title}"]`))
      .first()
      .waitFor();
    await this.input.fill(filter);
    await this.quickInput
      .locator('.quick-input-list .monaco-list-row.focused', { has: this.page.locator('.label-name', { hasText: exactly(label) }) })
      .waitFor();
    await this.page.keyboard.press('Enter');
  }

  /** In the input box titled `title`, types `text` and accepts it (VS Code validates it first). */
  async type(title, text) {
    await this.quickInput.locator('.quick-input-title', { hasText: title }).waitFor();
    await this.input.fill(text);
    await this.page.keyboard.press('Enter');
    await this.quickInput.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'hidden' });
  }

  // ---------------------------------------------------------------- dialogs and notifications

  /** The modal dialog's message and detail, once it is shown. */
  async dialogText() {
    await this.dialog.waitFor();
    const message = (await this.dialog.locator('.dialog-message-text').innerText()).trim();
    const detail = (
      await this.dialog
        .locator('.dialog-message-detail')
        .innerText()
        .catch(() => '')
    ).trim();
    return { message, detail };
  }

  /** Presses the modal dialog's button `label`. */
  async dialogButton(label) {
    const button = this.dialog.getByRole('button', { name: label, exact: true });
    await button.click();
    await this.dialog.waitFor({ state: 'hidden' });
  }

  /** A notification toast whose message matches `text` (a string or RegExp). */
  toast(text) {
    return this.page.locator('.notifications-toasts .notification-toast', {
      has: this.page.locator('.notification-list-item-message', { hasText: text }),
    });
  }

  /**
   * Presses `button` on the notification matching `text`: on its toast, or in the
   * notification center when the toast has already been hidden.
   */
  async notificationButton(text, button) {
    const toast = this.toast(text);
    if (!(await toast.isVisible())) {
      await this.palette('Notifications: Show Notifications');
      const item = this.page.locator('.notifications-center .monaco-list-row', {
        has: this.page.locator('.notification-list-item-message', { hasText: text }),
      });
      await item.getByRole('button', { name: button, exact: true }).click();
      return;
    }
    await toast.getByRole('button', { name: button, exact: true }).click();
  }

  async clearNotifications() {
    await this.palette('Notifications: Clear All Notifications');
    await this.page
      .locator('.notifications-toasts .notification-toast')
      .first()
      .waitFor({ state: 'hidden', timeout: 5000 })
      .catch(() => {});
  }

  // ---------------------------------------------------------------- terminal

  /** The rows of the active terminal as text (the DOM renderer renders only the visible rows). */
  async terminalLines() {
    const rows = this.panel.locator('.terminal-wrapper.active .xterm-rows > div');
    return (await rows.allTextContents()).map((l) => l.replace(/\u00a0/g, ' ').trimEnd());
  }

  /**
   * Waits until a visible row of the active terminal matches `re` (a RegExp, or a function of
   * the row); returns that row.
   */
  async waitForTerminalLine(re, timeout = T) {
    let lines = [];
    const test = typeof re === 'function' ? re : (l) => re.test(l);
    return until(
      async () => {
        lines = await this.terminalLines().catch(() => []);
        return lines.find(test);
      },
      () => `no terminal line matches ${re}; visible:\n${lines.filter(Boolean).join('\n')}`,
      timeout,
    );
  }

  /** Hides the panel (terminal, problems) with its title bar's Hide Panel action, if shown. */
  async hidePanel() {
    if (!(await this.panel.isVisible())) return;
    await this.panel.locator('.action-label[aria-label^="Hide Panel"]').click();
    await this.panel.waitFor({ state: 'hidden' });
  }

  /** Makes the panel `height` pixels tall (dragging its sash), so that more terminal rows show. */
  async panelHeight(height) {
    await this.panel.waitFor();
    const box = await this.panel.boundingBox();
    if (!box || Math.abs(box.height - height) < 10) return;
    const x = box.x + box.width / 2;
    const y = box.y + 1;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(x, y - (height - box.height), { steps: 5 });
    await this.page.mouse.up();
    await this.page.mouse.move(1200, 16);
  }

  // ---------------------------------------------------------------- editor

  /** The editor showing a file whose path ends with `name`. */
  editor(name) {
    return this.page.locator(`.editor-instance .monaco-editor[data-uri$="${name}"]`);
  }

  /**
   * The lines of `editor` in view, by line number (1-based): their text, the `after` text that
   * decorations add (CSS pseudo-elements), and the CodeLens row shown above them (`A | B`).
   */
  async renderedLines(editor) {
    return editor.evaluate((ed) => {
      const pseudo = (el, which) => {
        const c = getComputedStyle(el, which).content;
        return c && c !== 'none' && c !== 'normal' ? JSON.parse(c.startsWith('"') ? c : JSON.stringify(c)) : '';
      };
      const top = (el) => el.getBoundingClientRect().top;
      // Line numbers and lines are positioned at the same height: pair them by it.
      const numbers = [...ed.querySelectorAll('.margin-view-overlays .line-numbers')].map((n) => ({
        n: Number(n.textContent),
        top: top(n),
      }));
      const lines = [];
      for (const line of ed.querySelectorAll('.view-lines .view-line')) {
        const t = top(line);
        const n = numbers.find((x) => Math.abs(x.top - t) < 2)?.n;
        if (!n) continue;
        let after = '';
        for (const span of line.querySelectorAll('span')) after += pseudo(span, '::before') + pseudo(span, '::after');
        lines.push({ n, top: t, text: line.textContent.replace(/\u00a0/g, ' '), after, lens: '' });
      }
      lines.sort((a, b) => a.top - b.top);
      // A CodeLens row sits in a view zone just above its line.
      for (const lens of ed.querySelectorAll('.contentWidgets .codelens-decoration')) {
        const line = lines.find((l) => l.top > top(lens));
        if (line) line.lens = lens.textContent.replace(/\u00a0/g, ' ');
      }
      return Object.fromEntries(lines.map(({ n, text, after, lens }) => [n, { text, after, lens }]));
    });
  }

  /** The rendered line of `editor` whose text is `text` (trimmed), with its decoration and CodeLens. */
  async renderedLine(editor, text) {
    const lines = await this.renderedLines(editor);
    return Object.values(lines).find((l) => l.text.trim() === text);
  }
}
