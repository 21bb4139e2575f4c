// Benchmark of the Slurm executor (numbers go in docs/benchmarks.md): N no-op tasks (`true`) of one
// asset through `backfill run --executor slurm`, against a hand-written `sbatch --array` of the
// same commands with the same throttle (until squeue no longer lists it), side by side on the
// same cluster, alternately. Uses the cluster SLURM_CONF points at, else starts the local one
// (test/slurm/local-slurm.sh). Run: npm run build && node bench/slurm.mjs
// (BENCH_TASKS, default 2000; BENCH_THROTTLE, default 64; BENCH_ROUNDS, default 1;
// BENCH_SLURM_CPUS, the CPUs the local node declares, default 16).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TASKS = Number(process.env.BENCH_TASKS ?? 2000);
const THROTTLE = Number(process.env.BENCH_THROTTLE ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

let started = null;
if (!process.env.SLURM_CONF) {
  started = mkdtempSync(path.join(tmpdir(), 'backfill-bench-slurm-'));
  // No-op jobs take a slot each for the ~3 s Slurm spends starting and ending a job: declaring
  // more CPUs than the machine has (BENCH_SLURM_CPUS, default 16) lets that many start at once.
  const out = execFileSync('bash', [path.join(ROOT, 'test', 'slurm', 'local-slurm.sh'), 'start', started], {
    encoding: 'utf8',
    env: { ...process.env, LOCAL_SLURM_CPUS: process.env.BENCH_SLURM_CPUS ?? '16' },
  });
  process.env.SLURM_CONF = /export SLURM_CONF=(\S+)/.exec(out)[1];
}

const work = mkdtempSync(path.join(tmpdir(), 'backfill-bench-slurm-ws-'));
const keys = Array.from({ length: TASKS }, (_, i) => `p${i}`);
writeFileSync(
  path.join(work, 'bench.assets.yaml'),
  `assets:\n  noop:\n    partitions: { static: [${keys.join(', ')}] }\n    run: 'true'\n    executor: slurm\n`,
);

function backfillRun() {
  rmSync(path.join(work, '.backfill'), { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'run', 'noop', '--concurrency', String(THROTTLE), '--json'], {
    cwd: work,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`backfill run failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const report = JSON.parse(r.stdout).backfill;
  if (report.counts.succeeded !== TASKS) throw new Error(`only ${report.counts.succeeded} of ${TASKS} succeeded`);
  return s;
}

function handWritten() {
  // What a person would write: the commands in a file, arrays whose element i runs line i+1.
  const dir = path.join(work, 'hand');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'commands.txt'), keys.map(() => 'true').join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'array.sh'),
    `#!/bin/sh\ni=$(($1 + SLURM_ARRAY_TASK_ID))\ncmd=$(sed -n "$((i + 1))p" ${dir}/commands.txt)\nexec /bin/sh -c "$cmd" > ${dir}/out.$i 2>&1\n`,
  );
  // One array per MaxArraySize elements (1001 by default: the highest index is 1000), as Slurm
  // requires, each with the throttle; its argument says which commands an array runs (not
  // --export=ALL,OFFSET=…: with that, Slurm 22.05 loads root's login environment for every
  // element, `su - root`, which made this side 10× slower here).
  const max = Number(/^MaxArraySize\s*=\s*(\d+)/m.exec(execFileSync('scontrol', ['show', 'config'], { encoding: 'utf8' }))?.[1] ?? 1001);
  const t0 = performance.now();
  const jobs = [];
  for (let first = 0; first < TASKS; first += max) {
    const last = Math.min(TASKS, first + max) - 1;
    const out = execFileSync(
      'sbatch',
      ['--parsable', `--array=0-${last - first}%${THROTTLE}`, '--output=/dev/null', path.join(dir, 'array.sh'), String(first)],
      {
        encoding: 'utf8',
      },
    );
    jobs.push(out.trim().split(';')[0]);
  }
  // Until no element is left in the queue, looked at every 200 ms (sbatch --wait polls more and
  // more slowly, which would count against the hand-written side).
  while (execFileSync('squeue', ['-h', '-j', jobs.join(','), '-o', '%i'], { encoding: 'utf8' }).trim() !== '') spawnSync('sleep', ['0.2']);
  return (performance.now() - t0) / 1000;
}

const results = { backfill: [], sbatch: [] };
try {
  // A first job, untimed: the node registers and warms up before either side is measured.
  execFileSync('sbatch', ['--wait', '--quiet', '--output=/dev/null', '--wrap=true']);
  for (let r = 0; r < ROUNDS; r++) {
    results.sbatch.push(handWritten());
    console.log(`round ${r + 1}: sbatch --array ${results.sbatch.at(-1).toFixed(1)} s`);
    results.backfill.push(backfillRun());
    console.log(`round ${r + 1}: backfill run --executor slurm ${results.backfill.at(-1).toFixed(1)} s`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  if (started) {
    execFileSync('bash', [path.join(ROOT, 'test', 'slurm', 'local-slurm.sh'), 'stop', started]);
    // The daemons may still be writing their state as they stop.
    rmSync(started, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const b = median(results.backfill);
const h = median(results.sbatch);
const summary = {
  tasks: TASKS,
  throttle: THROTTLE,
  rounds: ROUNDS,
  machine: `${cpus().length} cores`,
  backfill_s: Number(b.toFixed(1)),
  sbatch_array_s: Number(h.toFixed(1)),
  ratio: Number((b / h).toFixed(2)),
};
console.log(JSON.stringify(summary));
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench', 'results', 'slurm.json'), JSON.stringify(summary, null, 2) + '\n');
