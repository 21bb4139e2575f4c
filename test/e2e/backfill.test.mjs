// End-to-end tests of running backfills from the editor, as a user does: the Assets tree's
// context menu, the command palette flow with a typed range, the plan dialog, the task's
// terminal, the completion notification's Retry Failed, editor decorations and CodeLens, and
// Cancel. Started by test/e2e/run.sh (see extension.test.mjs for the environment).
//
// The file works in its own copy of examples/demo (`demo-backfill` beside run.sh's workspace),
// with the demo's real Node jobs, made smaller and deterministic:
//   - three weeks instead of nine (21 days, 2 weeks; churn_model trained on those 2 weeks):
//     the whole pipeline downstream of raw_events is 128 tasks instead of 375, ~15-40 s on 2 cores;
//   - raw_events `retries: 0`: its job fails the first time it runs 2024-01-15 (the demo's
//     one-time "API outage", data/.flaky/) and nothing retries it, so the first backfill fails
//     for that day and Retry Failed then succeeds.
// The tests share one page and run in order: each starts from the state the previous one left.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LIVE_UPDATE_MS, cli, copyDemo, exactly, openWorkbench, processesIn, shortenDemo, until } from './helpers.mjs';

const WS = copyDemo('demo-backfill');
const DEFINITIONS = 'pipeline.assets.yaml';
/** How long a backfill of the whole (shortened) pipeline may take on a busy 2-core machine. */
const RUN_MS = 240000;

const DAYS = Array.from({ length: 21 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`);
const WEEKS = ['2024-01-07', '2024-01-14'];
const REGIONS = ['eu', 'us', 'apac'];
const FLAKY = '2024-01-15';
/** The demo's asset → output file of one partition (pipeline.assets.yaml's `output:`). */
const OUTPUT = {
  raw_events: (d) => `data/raw_events/${d}.jsonl`,
  clean_events: (d) => `data/clean_events/${d}.jsonl`,
  daily_active_users: (d) => `data/daily_active_users/${d}.json`,
  region_activity: (d, r) => `data/region_activity/${d}/${r}.json`,
  weekly_summary: (w) => `data/weekly_summary/${w}.json`,
  churn_model: () => 'data/churn_model.json',
};
const exists = (rel) => fs.existsSync(path.join(WS, rel));

describe('Running backfills in VS Code (code-server)', { timeout: 900000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;

  /** Waits for the final line of the backfill in the active terminal; returns it and the time it took. */
  async function waitForSummary(re, t0 = Date.now(), timeout = RUN_MS) {
    const line = await wb.waitForTerminalLine(/^(succeeded|failed|canceled|paused): \d+ succeeded/, timeout);
    assert.match(line, re);
    return { line, seconds: ((Date.now() - t0) / 1000).toFixed(1) };
  }

  /** Backfill ids already seen in a terminal. */
  const seen = new Set();
  /** The first line of the backfill runStarted() saw start (it scrolls out of a small terminal). */
  let lastHeader = '';
  /**
   * Waits until the active terminal shows a backfill that was not there before: a new one
   * (`Backfill bf-…: N tasks…`), or with `resume`, `Resuming bf-…`. A finished task's terminal
   * may be reused (cleared) by the next backfill task, or a new one opened: either way, once
   * the new id shows, the active terminal is this run's. Returns the id.
   */
  async function runStarted({ resume = false } = {}) {
    const re = resume ? /^Resuming (bf-[\w-]+)/ : /^Backfill (bf-[\w-]+): \d+ tasks/;
    const line = await wb.waitForTerminalLine((l) => re.test(l) && (resume || !seen.has(re.exec(l)[1])));
    const id = re.exec(line)[1];
    seen.add(id);
    lastHeader = line;
    return id;
  }

  before(async () => {
    shortenDemo(WS);
    ({ browser, page, wb } = await openWorkbench(WS));
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`backfill-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('Backfill Downstream from the Assets tree: the plan, the terminal, fresh partitions and data files', async () => {
    await wb.showBackfillView();
    await wb.widenSideBar(460);
    await wb.waitForDescription('raw_events', exactly('21 missing'), 60000);

    // Right-click raw_events → Backfill Downstream.
    await wb.row('raw_events').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Backfill Downstream', exact: true }).hover();
    await wb.shot('bf-01-context-menu');
    await page.keyboard.press('Enter');

    // The plan: raw_events' 21 days and everything downstream of them.
    const { message, detail } = await wb.dialogText();
    await wb.shot('bf-02-downstream-plan');
    console.log(`# plan: ${message}\n# ${detail.split('\n').join('\n# ')}`);
    assert.equal(message, 'Backfill raw_events + downstream: 129 partitions of 6 assets');
    const bullets = detail.split('\n').filter((l) => l.startsWith('•'));
    assert.deepEqual(bullets, [
      '• raw_events: 21 partitions 2024-01-01…2024-01-21',
      '• clean_events: 21 partitions 2024-01-01…2024-01-21 (downstream)',
      '• daily_active_users: 21 partitions 2024-01-01…2024-01-21 (downstream)',
      '• region_activity: 63 partitions 2024-01-01|eu…2024-01-21|apac (downstream)',
      '• weekly_summary: 2 partitions 2024-01-07…2024-01-14 (downstream)',
      '• churn_model: unpartitioned (downstream)',
    ]);
    assert.match(detail, /^128 tasks, 129 partitions — time unknown \(no history for raw_events, /m);
    // Costs before any run: the declared rates (21 × 0.002 + 63 × 0.001 + one weekly run × 0.01
    // USD, examples/demo/pipeline.assets.yaml); the assets that report their cost are unknown.
    assert.match(detail, /^Cost: ~0\.115 USD for what is known; unknown for raw_events, clean_events, churn_model \(no past runs; /m);
    assert.match(detail, /^Resources: peak 1 of \d+ cpus, 1 GiB of [\d.]+ GiB memory$/m); // churn_model's

    // 50 partitions or more: the dialog offers a sample first; run them all.
    const t0 = Date.now();
    await wb.dialogButton('Run All');
    await runStarted();
    await wb.panelHeight(460);
    // While it runs: a progress notification, the tasks' lines streaming into the terminal.
    await wb.waitForTerminalLine(/^✓ /);
    // Partitions being built show as running in the tree while the backfill goes on.
    const building = ['raw_events', 'clean_events', 'daily_active_users', 'region_activity'];
    await until(async () => {
      for (const a of building) if (/\d+ running/.test(await wb.description(a).catch(() => ''))) return true;
      return false;
    }, 'no asset of the tree showed running partitions while the backfill ran');
    await wb.shot('bf-03-downstream-running');
    const { line, seconds } = await waitForSummary(/^failed: 120 succeeded, 1 failed, 7 skipped, 0 canceled, 0 pending /, t0);
    console.log(`# downstream backfill (128 tasks) finished in ${seconds} s: ${line}`);
    // Above the summary, the last tasks: their output (`asset partition │ line`) and ✓.
    const rows = await wb.terminalLines();
    assert.ok(
      rows.some((l) => /^✓ (clean_events|daily_active_users|region_activity) 2024-01-\d\d(\|\w+)?$/.test(l)),
      rows.join('\n'),
    );
    assert.ok(
      rows.some((l) => /^(clean_events|daily_active_users|region_activity) 2024-01-\d\d(\|\w+)? │ \w+ 2024-01-\d\d/.test(l)),
      rows.join('\n'),
    );
    // The failed day and its log, and how to resume.
    // The summary stays in view: one line per failure (its message cut short), its log as a
    // workspace-relative path, and where to resume in the editor (not a CLI command).
    await wb.waitForTerminalLine(/^ {2}✗ raw_events 2024-01-15: exit code 1: pull_events: error: events API answered 503 .*…$/); // cut to one row
    await wb.waitForTerminalLine(/^ {4}log: \.backfill\/logs\/bf-[\w-]+\/t\d+\.log$/);
    await wb.waitForTerminalLine(/^To resume: Backfills view → Resume, or Backfill: Resume Backfill…$/);

    // The tree: fresh wherever the backfill ran; 2024-01-15 failed and what depends on it missing.
    await wb.waitForDescription('raw_events', exactly('1 failed · 20 fresh'));
    await wb.waitForDescription('clean_events', exactly('1 missing · 20 fresh'));
    await wb.waitForDescription('daily_active_users', exactly('1 missing · 20 fresh'));
    await wb.waitForDescription('region_activity', exactly('3 missing · 60 fresh'));
    assert.equal(await wb.description('weekly_summary'), '2 missing'); // its one task reads 2024-01-15
    assert.equal(await wb.description('churn_model'), 'missing');
    await wb.shot('bf-04-downstream-terminal');

    // The jobs' files, for every day but the failed one.
    const missing = [];
    for (const d of DAYS) {
      const files = [
        OUTPUT.raw_events(d),
        OUTPUT.clean_events(d),
        OUTPUT.daily_active_users(d),
        ...REGIONS.map((r) => OUTPUT.region_activity(d, r)),
      ];
      for (const f of files) if (exists(f) !== (d !== FLAKY)) missing.push(`${f} ${exists(f) ? 'exists' : 'is missing'}`);
    }
    assert.deepEqual(missing, []);
    assert.ok(!exists(OUTPUT.weekly_summary(WEEKS[0])) && !exists(OUTPUT.churn_model()));
    assert.match(fs.readFileSync(path.join(WS, OUTPUT.raw_events('2024-01-01')), 'utf8'), /^\{"ts":"2024-01-01T/);
  });

  it('shows the failed partition in red, and Retry Failed on the notification reruns it and what it blocked', async () => {
    // The completion notification offers Retry Failed.
    const toast = wb.toast(/^Backfill failed: 120 succeeded, 1 failed, 7 skipped\.$/);
    await toast.waitFor();

    await wb.expand('raw_events');
    const failed = wb.row('failed 2024-01-15');
    await failed.waitFor();
    const icon = failed.locator('.custom-view-tree-node-item-icon');
    assert.match(await icon.getAttribute('class'), /codicon-error/);
    const [r, g, b] = (await icon.evaluate((e) => getComputedStyle(e).color)).match(/\d+/g).map(Number);
    assert.ok(r > 150 && g < 120 && b < 120, `the failed icon is red, not rgb(${r}, ${g}, ${b})`);
    assert.match(await wb.row('raw_events').locator('.custom-view-tree-node-item-icon').getAttribute('class'), /codicon-error/);
    await wb.expand('clean_events');
    await wb.row('missing 2024-01-15').waitFor();
    await wb.shot('bf-05-failed-partition');

    // The Backfills view: the backfill failed, the failed task under its asset.
    await wb.showBackfillsPane();
    const backfill = 'raw_events + downstream';
    // Status and progress first (a narrow side bar cuts the description, not them).
    await wb.waitForLabel(backfill, exactly('failed · 120/128'));
    await wb.expand('failed · 120/128', wb.backfills);
    await wb.waitForDescription('raw_events', exactly('1 failed · 20/21'), LIVE_UPDATE_MS, wb.backfills);
    assert.match(
      await wb.waitForDescription(FLAKY, /503/, LIVE_UPDATE_MS, wb.backfills),
      /^exit code 1: pull_events: error: events API answered 503/,
    );
    await wb.shot('bf-06-backfills-view-failed');

    // Retry Failed: the job succeeds the second time; what was skipped runs too.
    const t0 = Date.now();
    await wb.notificationButton(/^Backfill failed: 120 succeeded, 1 failed/, 'Retry Failed');
    await runStarted({ resume: true });
    const { line, seconds } = await waitForSummary(/^succeeded: 128 succeeded, 0 failed, 0 skipped, 0 canceled, 0 pending /, t0);
    console.log(`# retry finished in ${seconds} s: ${line}`);
    await wb.waitForTerminalLine(/^✓ churn_model$/);
    await wb.waitForLabel(backfill, exactly('succeeded · 128/128'));
    await wb.shot('bf-07-backfills-view-succeeded');

    await wb.showBackfillView();
    await wb.waitForDescription('raw_events', exactly('all 21 fresh'));
    await wb.waitForDescription('region_activity', exactly('all 63 fresh'));
    await wb.waitForDescription('weekly_summary', exactly('all 2 fresh'));
    await wb.waitForDescription('churn_model', exactly('fresh'));
    assert.equal(await wb.row('failed 2024-01-15').count(), 0);
    for (const f of [
      OUTPUT.raw_events(FLAKY),
      ...REGIONS.map((r) => OUTPUT.region_activity(FLAKY, r)),
      ...WEEKS.map(OUTPUT.weekly_summary),
      OUTPUT.churn_model(),
    ]) {
      assert.ok(exists(f), `${f} was not written`);
    }
    await wb.shot('bf-08-retry-failed');
  });

  it('Run Backfill… from the palette with a typed range runs exactly those partitions', async () => {
    await wb.clearNotifications();
    const mtime = (d) => fs.statSync(path.join(WS, OUTPUT.raw_events(d))).mtimeMs;
    const before = Object.fromEntries(DAYS.map((d) => [d, mtime(d)]));

    await wb.palette('Backfill: Run Backfill…');
    await wb.pick('Backfill: which asset?', 'raw_events');
    await wb.pick('Backfill raw_events: which partitions?', 'A range…', 'range');
    await wb.quickInput.locator('.quick-input-title', { hasText: 'Backfill raw_events: range' }).waitFor();
    await wb.input.fill('2024-01-05..2024-01-07');
    await wb.shot('bf-09-range-input');
    await wb.type('Backfill raw_events: range', '2024-01-05..2024-01-07');
    await wb.pick('Backfill raw_events: downstream?', 'Only this asset', 'only');

    const { message, detail } = await wb.dialogText();
    assert.equal(message, 'Backfill raw_events 2024-01-05…2024-01-07: 3 partitions of 1 asset');
    assert.equal(detail.split('\n')[0], '• raw_events: 3 partitions 2024-01-05…2024-01-07');
    await wb.shot('bf-10-range-plan');
    const t0 = Date.now();
    await wb.dialogButton('Run');
    await runStarted();
    assert.match(lastHeader, /^Backfill bf-\S+: 3 tasks, 3 partitions of 1 asset$/);

    const { seconds } = await waitForSummary(/^succeeded: 3 succeeded, 0 failed, 0 skipped, 0 canceled, 0 pending /, t0);
    console.log(`# range backfill finished in ${seconds} s`);
    // Exactly those three partitions ran: the terminal's ✓ lines and the files rewritten.
    const done = (await wb.terminalLines()).filter((l) => l.startsWith('✓'));
    assert.deepEqual(done.sort(), ['✓ raw_events 2024-01-05', '✓ raw_events 2024-01-06', '✓ raw_events 2024-01-07']);
    const rewritten = DAYS.filter((d) => mtime(d) !== before[d]);
    assert.deepEqual(rewritten, ['2024-01-05', '2024-01-06', '2024-01-07']);

    // raw_events stays fresh; the clean_events days that read the rewritten ones are stale now.
    await wb.waitForDescription('raw_events', exactly('all 21 fresh'));
    await wb.waitForDescription('clean_events', exactly('3 stale · 18 fresh'));
    await wb.shot('bf-11-range-terminal');
    await wb.expand('clean_events');
    await wb.row('stale (upstream) 2024-01-05…2024-01-07 (3)').waitFor();
    await wb.shot('bf-12-range-tree');
  });

  it('shows counts and CodeLens beside each asset in the editor, and updates them after a backfill from the CodeLens', async () => {
    await wb.clearNotifications();
    await wb.hidePanel();
    // Clicking an asset opens its definition.
    await wb.row('clean_events').click();
    const editor = wb.editor(DEFINITIONS);
    await editor.waitFor();
    /**
     * Waits until the line `text` shows `after` as its decoration and, in its CodeLens row,
     * `Backfill downstream` and the `Backfill N partitions` lens `backfill` (null: none).
     */
    const line = async (text, after, backfill) => {
      let got;
      await until(
        async () => {
          got = await wb.renderedLine(editor, text);
          const lenses = got?.lens.split(' | ') ?? [];
          return (
            got &&
            got.after === after &&
            lenses.includes('Backfill downstream') &&
            (lenses.find((l) => /^Backfill \d+ partitions?$/.test(l)) ?? null) === backfill
          );
        },
        () => `line "${text}" shows ${JSON.stringify(got)}, expected "${after}" and the lens ${backfill}`,
        LIVE_UPDATE_MS,
      );
    };
    await line('raw_events:', 'all 21 fresh', null);
    await line('clean_events:', '3 stale · 18 fresh', 'Backfill 3 partitions');
    await line('daily_active_users:', 'all 21 fresh', null);
    await wb.shot('bf-13-editor-stale');

    // The CodeLens backfills just those three partitions.
    await editor.locator('.codelens-decoration a', { hasText: /^Backfill 3 partitions$/ }).click();
    const { message } = await wb.dialogText();
    assert.equal(message, 'Backfill missing/failed/stale of clean_events: 3 partitions of 1 asset');
    await wb.dialogButton('Run');
    await runStarted();
    await waitForSummary(/^succeeded: 3 succeeded, 0 failed/);
    await wb.hidePanel();

    // clean_events is fresh again; its downstream days now read newer data.
    await line('clean_events:', 'all 21 fresh', null);
    await line('daily_active_users:', '3 stale · 18 fresh', 'Backfill 3 partitions');
    await wb.shot('bf-14-editor-after-backfill');
  });

  it('the plan dialog estimates the cost from past runs; a budget stops the backfill, and Raise Budget… finishes it, running nothing twice', async () => {
    await wb.clearNotifications();
    // What a day of raw_events costs: its job reports 0.05 USD per 1,000 events, one event per
    // line of its output (examples/demo/jobs/pull_events.mjs).
    const perDay = DAYS.map(
      (d) =>
        (fs
          .readFileSync(path.join(WS, OUTPUT.raw_events(d)), 'utf8')
          .trimEnd()
          .split('\n').length /
          1000) *
        0.05,
    );

    await wb.palette('Backfill: Run Backfill…');
    await wb.pick('Backfill: which asset?', 'raw_events');
    await wb.pick('Backfill raw_events: which partitions?', 'All partitions', 'all');
    await wb.pick('Backfill raw_events: downstream?', 'Only this asset', 'only');
    let { message, detail } = await wb.dialogText();
    console.log(`# plan: ${message}\n# ${detail.split('\n').join('\n# ')}`);
    assert.equal(message, 'Backfill raw_events: 21 partitions of 1 asset');
    assert.match(detail, /^21 tasks, 21 partitions — time ~\S+( \(\S+–\S+\))? from history at concurrency \d+$/m);
    // From history: 21 × the median day, within 21 × the cheapest and 21 × the dearest day.
    const costLine = /^Cost: ~(\d+\.\d+) USD \((\d+\.\d+)–(\d+\.\d+)\)$/m.exec(detail);
    assert.ok(costLine, `no cost estimate from history in:\n${detail}`);
    const [expected, low, high] = costLine.slice(1).map(Number);
    const slack = 0.005; // three significant digits
    assert.ok(low <= expected && expected <= high, costLine[0]);
    assert.ok(
      low >= 21 * Math.min(...perDay) - slack && high <= 21 * Math.max(...perDay) + slack,
      `${costLine[0]} for days costing ${perDay}`,
    );
    await wb.shot('bf-17-cost-estimate');

    // Set Budget…: a third of the estimate. The plan is over budget now.
    await wb.dialogButton('Set Budget…');
    const budget = Number((expected / 3).toFixed(2));
    await wb.type('Budget for this backfill (USD)', String(budget));
    ({ message, detail } = await wb.dialogText());
    assert.equal(message, 'Backfill raw_events: 21 partitions of 1 asset — over budget');
    // The same estimate, and the budget (two decimals: it has no more).
    assert.ok(detail.split('\n').includes(`${costLine[0]} — budget ${budget.toFixed(2)} USD`), detail);
    assert.match(detail, /^⚠ The estimate is more than the budget/m);
    await wb.shot('bf-18-over-budget');

    // Run Within Budget: tasks start while what was spent plus what runs stays within it.
    await wb.dialogButton('Run Within Budget');
    const id = await runStarted();
    const { line } = await waitForSummary(/^paused: \d+ succeeded, 0 failed, 0 skipped, 0 canceled, \d+ pending /);
    const ran = Number(/^paused: (\d+) succeeded/.exec(line)[1]);
    assert.ok(ran > 0 && ran < 21, line);
    await wb.waitForTerminalLine(/^Paused at the budget: what is left is estimated at ~\d+\.\d+ USD\.$/);
    const toastText = /^Backfill paused: (\d+) succeeded, (\d+) left\. Paused at the budget: (\d+\.\d+) USD spent of (\d+\.\d+) USD\.$/;
    const toast = wb.toast(toastText);
    await toast.waitFor();
    const [, done, left, spent, max] = toastText
      .exec((await toast.locator('.notification-list-item-message').innerText()).trim())
      .map(Number);
    assert.deepEqual([done, left, max], [ran, 21 - ran, budget]);
    assert.ok(spent > 0 && spent <= budget, `spent ${spent} of ${budget}`);
    // The Backfills view: paused, and what it spent of its budget.
    await wb.showBackfillsPane();
    await wb.waitForLabel('raw_events', exactly(`paused · ${ran}/21`));
    assert.match(await wb.description(`paused · ${ran}/21`, wb.backfills), /^raw_events · \d+\.\d+ USD of \d+\.\d+$/);
    await wb.shot('bf-19-paused-at-budget');

    // Raise Budget…: the rest runs, and only the rest.
    await wb.notificationButton(toastText, 'Raise Budget…');
    await wb.type('Budget for this backfill (USD)', String(Math.ceil(high * 2)));
    assert.equal(await runStarted({ resume: true }), id);
    await waitForSummary(/^succeeded: 21 succeeded, 0 failed, 0 skipped, 0 canceled, 0 pending /);
    await wb.waitForLabel('raw_events', exactly('succeeded · 21/21'));
    const attempts = JSON.parse(await cli(WS, 'history', 'raw_events', '--json', '--limit', '1000')).attempts.filter(
      (a) => a.run_id === id,
    );
    assert.equal(attempts.length, 21, 'every day ran once in this backfill');
    assert.deepEqual(attempts.map((a) => a.partition).sort(), DAYS);
    assert.ok(
      attempts.every((a) => a.cost > 0 && a.cost_source === 'reported'),
      JSON.stringify(attempts.map((a) => [a.partition, a.cost, a.cost_source])),
    );
    await wb.shot('bf-20-budget-raised');
    await wb.showBackfillView();
  });

  it('Cancel Backfill… stops a long run: the terminal and the Backfills view say canceled, no command is left', async () => {
    await wb.clearNotifications();
    // A job that takes its time, in a second definitions file.
    fs.writeFileSync(
      path.join(WS, 'slow.assets.yaml'),
      [
        '# Added by the end-to-end test: a job that takes its time, to cancel.',
        'assets:',
        '  slow_export:',
        '    description: Exports a day, slowly',
        '    group: exports',
        '    partitions: { daily: { start: 2024-01-01, end: 2024-01-05 } }',
        '    run: sleep 30 && echo exported {partition}',
        '',
      ].join('\n'),
    );
    await wb.expand('exports');
    await wb.waitForDescription('slow_export', exactly('4 missing'));

    await wb.palette('Backfill: Run Backfill…');
    await wb.pick('Backfill: which asset?', 'slow_export');
    await wb.pick('Backfill slow_export: which partitions?', 'All partitions', 'all');
    await wb.pick('Backfill slow_export: downstream?', 'Only this asset', 'only');
    assert.equal((await wb.dialogText()).message, 'Backfill slow_export: 4 partitions of 1 asset');
    await wb.dialogButton('Run');
    const id = await runStarted();
    const sleeps = () => processesIn(WS).filter((p) => p.comm === 'sleep');
    await until(() => sleeps().length > 0, 'no sleep command started');
    console.log(
      `# running: ${sleeps()
        .map((p) => `${p.pid} ${p.cmdline}`)
        .join(', ')}`,
    );
    await wb.showBackfillsPane();
    assert.match(await wb.waitForLabel('slow_export', /running/), /^running · 0\/4$/);
    await wb.shot('bf-15-cancel-running');

    // Palette: Cancel Backfill… lists the running backfill.
    const t0 = Date.now();
    await wb.palette('Backfill: Cancel Backfill…');
    await wb.pick('Backfill: Cancel', id);
    // The running commands are canceled; the tasks not started yet stay pending (Resume runs them).
    const { line, seconds } = await waitForSummary(
      /^canceled: 0 succeeded, 0 failed, 0 skipped, [1-4] canceled, [0-3] pending /,
      t0,
      20000,
    );
    console.log(`# canceled in ${seconds} s: ${line}`);
    const [canceled, pending] = /(\d) canceled, (\d) pending/.exec(line).slice(1).map(Number);
    assert.equal(canceled + pending, 4, line);
    // The notification offers to resume what is left (nothing failed: no Retry Failed).
    const toast = wb.toast(`Backfill canceled: 0 succeeded, ${canceled} canceled${pending ? `, ${pending} left` : ''}.`);
    await toast.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    assert.equal(await toast.getByRole('button', { name: 'Retry Failed' }).count(), 0);
    await wb.waitForLabel('slow_export', exactly('canceled · 0/4'));
    // The commands were killed (SIGTERM to their process group, SIGKILL after 2 s).
    await until(
      () => sleeps().length === 0,
      () => `sleep still running: ${JSON.stringify(sleeps())}`,
      10000,
    );
    assert.ok(Date.now() - t0 < 20000, 'cancel took as long as the commands');
    await wb.showBackfillView();
    await wb.waitForDescription('slow_export', exactly('4 missing'));
    await wb.showBackfillsPane();
    await wb.shot('bf-16-canceled');
  });
});
