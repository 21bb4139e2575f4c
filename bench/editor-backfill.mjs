// Benchmark: the same backfill of the demo from the CLI and from VS Code (code-server in
// Chromium), in alternating rounds on fresh copies of examples/demo. Numbers go in
// docs/benchmarks.md; nothing here asserts a time (a slow machine is not a failure).
//
// Run it with `npm run bench:editor`: test/e2e/run.sh installs and starts code-server 4.139.1 on
// Node 24 (the newest VS Code that runs here) and runs this file as its only "test", with the
// environment the e2e tests get (CS_URL, E2E_WORKSPACE, BACKFILL_CLI, CHROMIUM).
//
// What is measured, per round:
//   cli     wall time of `backfill run raw_events+ --from 2024-01-01 --to 2024-01-14` (86 tasks)
//           in a terminal-less child process, from spawn to exit;
//   editor  the same selection as a `backfill` task in tasks.json, run with Tasks: Run Task: from
//           the Enter that starts it to the summary line in the terminal panel (the panel shown,
//           as a user has it), and the runner's own duration from that summary line.
// BENCH_ROUNDS (default 3) rounds; results also go to bench/results/editor-backfill.json.
// Where the time goes: BENCH_RENDERER_PROFILE=FILE writes a CPU profile of the workbench page
// during the run; BENCH_START_FILE=FILE is written when the run starts (for a profiler attached
// to the extension host with SIGUSR1, as docs/benchmarks.md describes).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { copyDemo, openWorkbench, until } from '../test/e2e/helpers.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_CONCURRENCY: tasks at once for both fronts (default: the number of cores, as both default to). */
const CONCURRENCY = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined;
const FROM = '2024-01-01';
const TO = '2024-01-14';
const CLI = process.env.BACKFILL_CLI;
const OUT = path.resolve('bench/results/editor-backfill.json');
const CLI_SUMMARY = /^backfill \S+ (succeeded|failed|canceled|paused) in ([\d.]+)s: /;
const SUMMARY = /^(succeeded|failed|canceled|paused): (\d+) succeeded, (\d+) failed.*\((?:(\d+)m )?(\d+)s\)$/;
/** The CLI runs on BENCH_CLI_NODE (npm run bench:editor: the Node 24 the extension host runs on), else this Node. */
const NODE = process.env.BENCH_CLI_NODE || process.execPath;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The CLI's run on a fresh copy: wall seconds and its summary's duration. */
async function cliRound(i) {
  const ws = copyDemo(`bench-cli-${i}`);
  const t0 = performance.now();
  let stdout = '';
  try {
    ({ stdout } = await promisify(execFile)(
      NODE,
      [
        CLI,
        '--workspace',
        ws,
        'run',
        'raw_events+',
        '--from',
        FROM,
        '--to',
        TO,
        ...(CONCURRENCY ? ['--concurrency', String(CONCURRENCY)] : []),
      ],
      {
        maxBuffer: 64 << 20,
      },
    ));
  } catch (e) {
    stdout = e.stdout ?? ''; // some tasks fail by design (below): exit code 1
  }
  const wall = (performance.now() - t0) / 1000;
  // "backfill bf-… failed in 8.5s: 84 succeeded · 1 failed · 1 skipped"
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => CLI_SUMMARY.test(l));
  assert.ok(line, `no summary line in the CLI's output:\n${stdout.slice(-2000)}`);
  const m = CLI_SUMMARY.exec(line);
  return { wall, runner: Number(m[2]), line, counts: counts(line) };
}

/** "84 succeeded … 1 failed … 1 skipped" in either front's summary, for comparing the two. */
const counts = (line) =>
  Object.fromEntries(
    ['succeeded', 'failed', 'skipped'].map((k) => [
      k,
      Number(new RegExp(`\\b(\\d+) ${k}\\b(?! in )`).exec(line.slice(line.indexOf(': ')))?.[1] ?? 0),
    ]),
  );

/** The editor's run on a fresh copy, as a tasks.json task. */
async function editorRound(i) {
  const ws = copyDemo(`bench-editor-${i}`);
  fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  const task = {
    type: 'backfill',
    label: 'bench backfill',
    assets: ['raw_events+'],
    from: FROM,
    to: TO,
    problemMatcher: [],
    ...(CONCURRENCY ? { concurrency: CONCURRENCY } : {}),
  };
  fs.writeFileSync(path.join(ws, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }, null, 2));
  const { browser, wb } = await openWorkbench(ws);
  try {
    // The Assets view is shown (it refreshes during the run, as a user sees it).
    await wb.showBackfillView();
    await wb.row('raw_events').waitFor();
    // Tasks: Run Task sometimes opens no picker while the workbench is still settling: try again.
    for (let attempt = 1; ; attempt++) {
      await wb.palette('Tasks: Run Task');
      const picked = await wb.pick('Select the task to run', 'bench backfill', 'bench backfill').then(
        () => true,
        (e) => (attempt < 3 ? false : Promise.reject(e)),
      );
      if (picked) break;
      await wb.page.keyboard.press('Escape');
    }
    // BENCH_RENDERER_PROFILE=FILE: a CPU profile of the workbench page during the run (Chrome DevTools format).
    const cdp = process.env.BENCH_RENDERER_PROFILE ? await wb.page.context().newCDPSession(wb.page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const t0 = performance.now();
    // For a profiler attached to the extension host (E2E_CS_ARGS=--inspect-extensions=PORT): the run started.
    if (process.env.BENCH_START_FILE) fs.writeFileSync(process.env.BENCH_START_FILE, `${i}\n`);
    // Polled once a second: the probe itself must not be what slows the editor down.
    let seen = [];
    const line = await until(
      async () => (seen = await wb.terminalLines().catch(() => [])).find((l) => SUMMARY.test(l)),
      () => `no summary line in the terminal; it shows:\n${seen.join('\n')}`,
      Number(process.env.BENCH_TIMEOUT_MS ?? 300000),
      1000,
    );
    const wall = (performance.now() - t0) / 1000;
    if (cdp) fs.writeFileSync(process.env.BENCH_RENDERER_PROFILE, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    const m = SUMMARY.exec(line);
    return { wall, runner: Number(m[4] ?? 0) * 60 + Number(m[5]), line, counts: counts(line) };
  } catch (e) {
    await wb.shot(`bench-editor-${i}-failed`).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

describe('benchmark: the demo backfill from the CLI and from VS Code', { timeout: 3600000 }, () => {
  const rows = [];

  after(async () => {
    if (rows.length === 0) return;
    const cli = rows.filter((r) => r.front === 'cli');
    const editor = rows.filter((r) => r.front === 'editor');
    const result = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GB`,
      vscode: process.env.E2E_VSCODE_VERSION,
      extensionHostNode: process.env.E2E_EXPECT_NODE,
      cliNode: (await promisify(execFile)(NODE, ['-v'])).stdout.trim(),
      selection: `raw_events+ --from ${FROM} --to ${TO}${CONCURRENCY ? ` --concurrency ${CONCURRENCY}` : ''}`,
      rounds: rows,
      medians: {
        cliWall: median(cli.map((r) => r.wall)),
        cliRunner: median(cli.map((r) => r.runner)),
        editorWall: median(editor.map((r) => r.wall)),
        editorRunner: median(editor.map((r) => r.runner)),
      },
    };
    result.medians.ratioWall = result.medians.editorWall / result.medians.cliWall;
    result.medians.ratioRunner = result.medians.editorRunner / result.medians.cliRunner;
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
    const m = result.medians;
    console.log(`\n| ${result.selection} (86 tasks), ${ROUNDS} rounds | CLI | VS Code (code-server ${result.vscode}) | ratio |`);
    console.log('|---|---|---|---|');
    console.log(
      `| start to summary (wall, median) | ${m.cliWall.toFixed(1)} s | ${m.editorWall.toFixed(1)} s | ${m.ratioWall.toFixed(2)}× |`,
    );
    console.log(
      `| the runner's own duration (median; the editor's in whole seconds) | ${m.cliRunner.toFixed(1)} s | ${m.editorRunner.toFixed(1)} s | ${m.ratioRunner.toFixed(2)}× |`,
    );
    console.log(`\nwritten to ${OUT}`);
  });

  for (let i = 1; i <= ROUNDS; i++) {
    it(`round ${i}: CLI, then VS Code`, async () => {
      const c = await cliRound(i);
      rows.push({ round: i, front: 'cli', ...c });
      console.log(`# round ${i} cli: ${c.wall.toFixed(1)} s — ${c.line}`);
      const e = await editorRound(i);
      rows.push({ round: i, front: 'editor', ...e });
      console.log(`# round ${i} editor: ${e.wall.toFixed(1)} s — ${e.line}`);
      // Both ran the same plan to the same end.
      assert.deepEqual(e.counts, c.counts);
    });
  }
});
