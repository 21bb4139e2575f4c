#!/usr/bin/env node
// The state benchmark (bench/state.ts) through each SQLite driver, side by side in one run:
//   - Node 24 with node:sqlite (what today's VS Code uses),
//   - Node 24 with better-sqlite3 (the same runtime, the native driver: the fair comparison),
//   - Node 20 with better-sqlite3 (the CLI on this machine's Node).
// better-sqlite3 12.11.1 is built for Node 24 once into a cache (node-gyp against the Node 24
// package's headers: nothing is downloaded but from the npm registry), and the benchmark is
// bundled beside it so that `require('better-sqlite3')` finds that build. Each column runs in a
// fresh process, in alternating rounds. Prints a Markdown table (for docs/benchmarks.md) and writes
// bench/results/state-drivers.json.
//
// Run: npm run bench:state
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'backfill-bench');
const BETTER = '12.11.1';
const log = (m) => console.error(`[bench] ${m}`);

const node24bin = execFileSync('bash', [path.join(ROOT, 'scripts', 'node24.sh')], { encoding: 'utf8' }).trim();
const node24 = path.join(node24bin, 'node');
const node24prefix = path.dirname(node24bin);

// 1. better-sqlite3 for Node 24, once.
const runDir = path.join(CACHE, `run-node24-better-sqlite3-${BETTER}`);
const marker = path.join(runDir, '.complete');
if (!existsSync(marker)) {
  log(`building better-sqlite3@${BETTER} for Node 24 into ${runDir} (once, about a minute)`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  writeFileSync(path.join(runDir, 'package.json'), '{ "private": true }\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `better-sqlite3@${BETTER}`], {
    cwd: runDir,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${node24bin}${path.delimiter}${process.env.PATH}`, npm_config_nodedir: node24prefix },
  });
  if (r.status !== 0) throw new Error('building better-sqlite3 for Node 24 failed (it needs python3, make and g++)');
  writeFileSync(marker, '');
}

// 2. The benchmark bundled beside that build (better-sqlite3 external: resolved from runDir).
const bundle = path.join(runDir, 'state.js');
execFileSync(
  path.join(ROOT, 'node_modules', '.bin', 'esbuild'),
  [
    path.join(ROOT, 'bench', 'state.ts'),
    '--bundle',
    '--platform=node',
    '--format=cjs',
    '--external:better-sqlite3',
    '--define:import.meta.url=__importMetaUrl',
    `--banner:js=var __importMetaUrl=require('url').pathToFileURL(__filename).href;`,
    `--outfile=${bundle}`,
    '--log-level=warning',
  ],
  { stdio: 'inherit' },
);

// 3. The three columns, each in its own process.
const columns = [
  { name: 'node:sqlite, Node 24', cmd: node24, args: [bundle, '--driver', 'node:sqlite'] },
  { name: 'better-sqlite3, Node 24', cmd: node24, args: [bundle, '--driver', 'better-sqlite3'] },
  {
    name: 'better-sqlite3, Node 20',
    cmd: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'state.ts'), '--driver', 'better-sqlite3'],
  },
];
if (!process.versions.node.startsWith('20.')) columns.pop(); // the third column is the machine's Node 20
// Rounds alternate the columns, so that a busy moment of the machine does not land on one driver;
// each column's figure is the median over its rounds (BENCH_ROUNDS, default 3).
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const runs = columns.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  columns.forEach((c, i) => {
    const out = path.join(CACHE, `state-${i}.json`);
    log(`round ${round + 1}/${ROUNDS}: ${c.name}…`);
    const r = spawnSync(c.cmd, c.args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BENCH_OUT: out } });
    if (r.status !== 0) throw new Error(`${c.name}: the benchmark failed (exit ${r.status})`);
    runs[i].push(JSON.parse(readFileSync(out, 'utf8')));
  });
}
const middle = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const results = columns.map((c, i) => ({
  column: c.name,
  driver: runs[i][0].driver,
  rounds: runs[i],
  medians: Object.fromEntries(['full', 'record', 'incremental'].map((k) => [k, middle(runs[i].map((r) => r.medians[k]))])),
}));

const ms = (v) => `${v.toFixed(1)} ms`;
const rows = [
  ['statuses of 10^6 partitions (1,000 assets × 1,000 days), warm database', (r) => r.medians.full],
  ['record 100,000 materializations (one transaction)', (r) => r.medians.record],
  ['incremental refresh after one materialization', (r) => r.medians.incremental],
];
console.log(`\nMachine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg()[0].toFixed(1)}.`);
console.log(results.map((r) => `${r.column}: ${r.driver}`).join('; ') + '.\n');
console.log(`| Measure (median) | ${results.map((r) => r.column).join(' | ')} | node:sqlite ÷ better-sqlite3 (Node 24) |`);
console.log(`|---|${results.map(() => '---:').join('|')}|---:|`);
for (const [name, get] of rows) {
  const ratio = get(results[0]) / get(results[1]);
  console.log(
    `| ${name} | ${results.map((r) => ms(get(r))).join(' | ')} | ${ratio.toFixed(2)}× ${ratio <= 1.2 ? '✓' : '✗ (target ≤ 1.2×)'} |`,
  );
}
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench', 'results', 'state-drivers.json'), JSON.stringify(results, null, 2));
