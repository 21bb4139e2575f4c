// The Slurm executor in VS Code: a backfill of the demo's raw_events run as jobs of a real Slurm
// cluster. run.sh starts the local one-node cluster (test/slurm/local-slurm.sh) before
// code-server when this file is among the tests, so the extension host has SLURM_CONF, as a
// user's editor started from a shell with it would. The demo copy here says `executor: slurm`
// for raw_events; everything else is the user's flow: palette, plan dialog, terminal, tree.
import { execFileSync } from 'node:child_process';
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { copyDemo, editFile, exactly, openWorkbench, shortenDemo, until } from './helpers.mjs';

if (!process.env.SLURM_CONF)
  throw new Error('SLURM_CONF is not set: run the e2e tests with "npm run test:e2e" (test/e2e/run.sh starts the Slurm cluster)');
const WS = copyDemo('demo-slurm');

describe('Backfills on Slurm from VS Code (code-server)', { timeout: 300000 }, () => {
  let browser;
  let page;
  /** @type {import('./helpers.mjs').Workbench} */
  let wb;

  before(async () => {
    shortenDemo(WS);
    editFile(WS, 'pipeline.assets.yaml', [
      ['    output: data/raw_events/{partition}.jsonl\n', '    output: data/raw_events/{partition}.jsonl\n    executor: slurm\n'],
    ]);
    ({ browser, page, wb } = await openWorkbench(WS));
  });

  afterEach(async (t) => {
    if (page) await wb.shot(`slurm-after-${t.name.replace(/\W+/g, '_')}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
  });

  it('runs the tasks as a Slurm job array: the job id and the jobs’ output in the terminal, the partitions fresh in the tree', async () => {
    await wb.showBackfillView();
    await wb.waitForDescription('raw_events', exactly('21 missing'), 60000);
    await wb.palette('Backfill: Run Backfill…');
    await wb.pick('Backfill: which asset?', 'raw_events');
    await wb.pick('Backfill raw_events: which partitions?', 'A range…', 'range');
    await wb.type('Backfill raw_events: range', '2024-01-02..2024-01-04');
    await wb.pick('Backfill raw_events: downstream?', 'Only this asset', 'only');
    const ON_SLURM = /^On Slurm: every task \(job arrays; they keep running if this window closes\)$/m;
    const { message } = await wb.dialogText();
    let { detail } = await wb.dialogText();
    assert.equal(message, 'Backfill raw_events 2024-01-02…2024-01-04: 3 partitions of 1 asset');
    assert.match(detail, ON_SLURM);
    // Where it runs can be switched for this backfill, both ways: the dialog comes back at once,
    // with the plan as it would run now.
    const switchTo = async (button, onSlurm) => {
      await wb.dialog.getByRole('button', { name: button, exact: true }).click();
      await until(
        async () => ON_SLURM.test((detail = (await wb.dialogText().catch(() => ({ detail: '' }))).detail)) === onSlurm,
        () => `after ${button} the dialog says:\n${detail}`,
      );
    };
    await switchTo('Run Here Instead', false);
    await switchTo('Run on Slurm', true);
    await wb.dialogButton('Run');
    const submitted = await wb.waitForTerminalLine(/^submitted 3 tasks of raw_events as Slurm job \d+ \(at most \d+ at once\)$/, 60000);
    const job = /Slurm job (\d+)/.exec(submitted)[1];
    console.log(`# ${submitted}`);
    // The jobs' own output, streamed with the task's prefix while they run.
    await wb.waitForTerminalLine(/^raw_events 2024-01-0[234] │ pull_events 2024-01-0[234]: \d+ events/, 120000);
    const summary = await wb.waitForTerminalLine(/^(succeeded|failed|canceled|paused): \d+ succeeded/, 180000);
    assert.match(summary, /^succeeded: 3 succeeded, 0 failed, 0 skipped, 0 canceled, 0 pending /);
    await wb.shot('slurm-01-terminal');
    await wb.waitForDescription('raw_events', exactly('18 missing · 3 fresh'));
    // Slurm ran them: the array's elements are in its records (scontrol keeps finished jobs for a while).
    const shown = execFileSync('scontrol', ['show', 'job', '-o', job], { encoding: 'utf8' });
    assert.match(shown, /JobName=backfill:raw_events/);
    assert.equal((shown.match(/JobState=COMPLETED/g) ?? []).length, 3, shown);
    await wb.shot('slurm-02-fresh');
  });

  it('reopening the window re-attaches to the jobs still queued: they are followed to the end, not submitted again', async () => {
    // Jobs that wait in the queue (a real Slurm option: not before 40 s from now), so that the
    // window is closed while they are queued.
    editFile(WS, 'pipeline.assets.yaml', [
      ['    executor: slurm\n', '    executor: slurm\n    slurm: { extra_args: ["--begin=now+40"] }\n'],
    ]);
    await wb.palette('Backfill: Run Backfill…');
    await wb.pick('Backfill: which asset?', 'raw_events');
    await wb.pick('Backfill raw_events: which partitions?', 'A range…', 'range');
    await wb.type('Backfill raw_events: range', '2024-01-05..2024-01-07');
    await wb.pick('Backfill raw_events: downstream?', 'Only this asset', 'only');
    await wb.dialogButton('Run');
    const submitted = await wb.waitForTerminalLine(/^submitted 3 tasks of raw_events as Slurm job \d+/, 60000);
    const job = /Slurm job (\d+)/.exec(submitted)[1];
    const queued = () => execFileSync('squeue', ['-h', '-r', '-j', job, '-o', '%i %T %r'], { encoding: 'utf8' }).trim();
    await until(
      () => /^(\S+ PENDING BeginTime\n?){3}$/.test(queued()),
      () => `squeue says:\n${queued()}`,
    );

    // The window closes (a reload: the extension host goes away with its runner) …
    await wb.palette('Developer: Reload Window');
    await page.locator('.activitybar .action-label[aria-label="Backfill"]').waitFor({ timeout: 90000 });
    // … the jobs stay queued in Slurm …
    assert.match(queued(), /^(\S+ PENDING BeginTime\n?){3}$/);
    // … and the reopened window follows them again, by itself.
    const note = page.locator('.notifications-toasts .notification-toast', { hasText: 'still queued or running: re-attached' });
    await note.waitFor({ timeout: 60000 });
    assert.match(await note.innerText(), /Backfill "raw_events 2024-01-05…2024-01-07" had 3 Slurm jobs still queued or running/);
    for (let i = 0; i < 3; i++)
      await wb.waitForTerminalLine(new RegExp(`^⚠ re-attached to Slurm job ${job}_${i} \\(raw_events 2024-01-0[567]\\)$`), 30000);
    await wb.shot('slurm-03-reattached');
    const summary = await wb.waitForTerminalLine(/^(succeeded|failed|canceled|paused): \d+ succeeded/, 180000);
    assert.match(summary, /^succeeded: 3 succeeded, 0 failed, 0 skipped, 0 canceled, 0 pending /);
    // Nothing was submitted again: no other array of raw_events since, and the three elements of
    // the first one ran, once.
    const arrays = new Set(
      execFileSync('scontrol', ['show', 'job', '-o'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => /JobName=backfill:raw_events\b/.test(l))
        .map((l) => Number((/ArrayJobId=(\d+)/.exec(l) ?? /JobId=(\d+)/.exec(l))[1]))
        .filter((id) => id >= Number(job)),
    );
    assert.deepEqual([...arrays], [Number(job)]);
    const shown = execFileSync('scontrol', ['show', 'job', '-o', job], { encoding: 'utf8' });
    assert.equal((shown.match(/JobState=COMPLETED/g) ?? []).length, 3, shown);
    await wb.showBackfillView();
    await wb.waitForDescription('raw_events', exactly('15 missing · 6 fresh'), 30000);
  });
});
