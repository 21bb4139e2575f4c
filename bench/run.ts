// `npm run bench`: a synthetic workspace of 2,000 assets in 200 files, each with about three
// years of partitions (mostly daily, some weekly and monthly) and 1–3 dependencies, then:
// loading it, one impact through the whole graph, and the CLI end to end as a process.
// Prints a markdown table and writes bench/results/latest.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PartitionSubset } from '../src/core/partitions/subset.ts';
import { loadWorkspace, type Workspace } from '../src/core/workspace.ts';
import { generateSources } from './gen-workspace.ts';

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'dist', 'cli.js');
const START = '2023-01-01';
const NOW = '2026-01-01';

const { values: args } = parseArgs({
  options: {
    assets: { type: 'string', default: '2000' },
    files: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
});

interface Measure {
  name: string;
  runs: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  target_ms: number | null;
  ok: boolean | null;
  note: string;
}

/** Runs `fn` `runs` times and keeps the wall times in ms. */
async function time(runs: number, fn: () => unknown): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return samples;
}

function measure(name: string, samples: number[], target: number | null, note = ''): Measure {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    name,
    runs: samples.length,
    median_ms: round(median),
    min_ms: round(sorted[0]!),
    max_ms: round(sorted[sorted.length - 1]!),
    target_ms: target,
    ok: target === null ? null : median < target,
    note,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * The generator's workspace (all daily) with some assets switched to weekly (1 in 10) and
 * monthly (1 in 50), so that mappings between granularities are exercised too.
 */
function mixGranularities(text: string): string {
  let index = -1;
  return text
    .split('\n')
    .map((line) => {
      const name = /^ {2}a(\d+):$/.exec(line);
      if (name) index = Number(name[1]);
      if (!line.startsWith('    partitions: { daily:')) return line;
      if (index % 50 === 19) return line.replace('daily', 'monthly');
      if (index % 10 === 7) return line.replace('daily', 'weekly');
      return line;
    })
    .join('\n');
}

/** Builds dist/cli.js; on failure, uses an existing bundle (with a warning) or none. */
function buildCli(): string | null {
  try {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: REPO, stdio: 'pipe' });
    return null;
  } catch (e) {
    const why = ((e as { stderr?: Buffer }).stderr?.toString() ?? String(e)).trim().split('\n')[0];
    return existsSync(CLI) ? `node esbuild.mjs failed (${why}); measured the existing dist/cli.js` : `node esbuild.mjs failed (${why})`;
  }
}

function cliTimes(dir: string, cliArgs: string[], runs: number): { samples: number[]; status: number | null; bytes: number } {
  let status: number | null = null;
  let bytes = 0;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...cliArgs], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
    samples.push(performance.now() - t0);
    status = r.status;
    bytes = Buffer.byteLength(r.stdout);
    if (r.status !== 0 && r.status !== 1) throw new Error(`backfill ${cliArgs.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return { samples, status, bytes };
}

async function main(): Promise<void> {
  const assetCount = Number(args.assets);
  const fileCount = Number(args.files);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backfill-bench-'));
  try {
    const sources = generateSources(dir, { assets: assetCount, files: fileCount, start: START });
    for (const s of sources) {
      await fs.mkdir(path.dirname(s.path), { recursive: true });
      await fs.writeFile(s.path, mixGranularities(s.text));
    }
    const now = new Date(`${NOW}T00:00:00Z`);
    const results: Measure[] = [];

    // 1. Load: find + read + parse + validate + graph.
    // The first call runs cold (code not yet optimized), as in a CLI process; the median is over the next 5.
    let ws!: Workspace;
    const cold = await time(1, async () => {
      ws = await loadWorkspace(dir, { now });
    });
    const load = await time(5, async () => {
      ws = await loadWorkspace(dir, { now });
    });
    const kinds = new Map<string, number>();
    for (const a of ws.assets.values()) kinds.set(a.partitions.kind, (kinds.get(a.partitions.kind) ?? 0) + 1);
    const edges = [...ws.assets.values()].reduce((n, a) => n + a.deps.length, 0);
    const errors = ws.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = ws.diagnostics.length - errors;
    results.push(measure(`loadWorkspace: ${ws.assets.size} assets, ${ws.files.length} files (find + read + parse + validate)`, load, 1000));
    results.push(measure('loadWorkspace, first call in the process (cold, as in the CLI)', cold, null));

    // 2. Impact of one partition of the first root through the graph.
    const root = ws.graph.order[0]!;
    const rootKey = root.partitions.keyAt(0);
    let impacted = ws.graph.impact(root.name, PartitionSubset.of([0]));
    const impact = await time(20, () => {
      impacted = ws.graph.impact(root.name, PartitionSubset.of([0]));
    });
    const impactedPartitions = impacted.reduce((n, i) => n + i.partitions.size, 0);
    results.push(
      measure(`graph.impact(${root.name} ${rootKey}): ${impacted.length} assets, ${impactedPartitions} partitions`, impact, 200),
    );

    // 3. The CLI as a process (node start-up included).
    const buildNote = buildCli();
    if (existsSync(CLI)) {
      const v = cliTimes(dir, ['validate', '--json', '--now', NOW], 5);
      results.push(
        measure(
          'CLI `backfill validate --json` (process)',
          v.samples,
          null,
          `exit ${v.status}, ${v.bytes} bytes${buildNote ? `; ${buildNote}` : ''}`,
        ),
      );
      const i = cliTimes(dir, ['impact', root.name, rootKey, '--json', '--now', NOW], 5);
      results.push(
        measure(`CLI \`backfill impact ${root.name} ${rootKey} --json\` (process)`, i.samples, null, `exit ${i.status}, ${i.bytes} bytes`),
      );
      const startup = cliTimes(dir, ['--version'], 5);
      results.push(measure('CLI `backfill --version` (node start-up + bundle)', startup.samples, null, ''));
    } else {
      console.error(`skipping the CLI measures: ${buildNote}`);
    }

    const workspace = {
      assets: ws.assets.size,
      files: ws.files.length,
      assets_per_kind: Object.fromEntries([...kinds].map(([k, n]) => [k, n])),
      daily_partitions: ws.assets.get('a0')?.partitions.size ?? null,
      dependencies: edges,
      diagnostics: { errors, warnings },
      start: START,
      now: NOW,
    };
    const environment = {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      // Other work on the machine slows every measure: keep it next to the numbers.
      load_average: round(os.loadavg()[0]!),
    };

    console.log(
      `Workspace: ${workspace.assets} assets (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}) in ${workspace.files} files, ` +
        `${workspace.daily_partitions} daily partitions each (${START} to ${NOW}), ${edges} dependencies, ${errors} errors and ${warnings} warnings.`,
    );
    console.log(`Machine: ${environment.cpu} × ${environment.cpus}, load average ${environment.load_average}, Node ${environment.node}.\n`);
    console.log('| Measure | Median | Min–max | Runs | Target |');
    console.log('|---|---:|---:|---:|---|');
    for (const r of results) {
      const target = r.target_ms === null ? '' : `< ${r.target_ms} ms ${r.ok ? '✓' : '✗'}`;
      console.log(`| ${r.name}${r.note ? ` — ${r.note}` : ''} | ${r.median_ms} ms | ${r.min_ms}–${r.max_ms} ms | ${r.runs} | ${target} |`);
    }

    const out = path.join(REPO, 'bench', 'results', 'latest.json');
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, JSON.stringify({ date: new Date().toISOString(), environment, workspace, results }, null, 2) + '\n');
    console.log(`\nResults written to ${path.relative(process.cwd(), out)}${args.keep ? `; workspace kept in ${dir}` : ''}.`);
    if (results.some((r) => r.ok === false)) process.exitCode = 1;
  } finally {
    if (!args.keep) await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
