// Helpers shared by the demo's jobs: paths, dates, reading inputs, writing outputs and
// reporting to Backfill. Plain Node, no dependencies.
//
// Backfill reads these lines from a job's stdout:
//   ::backfill data_version=<v>            the version of the data written (here: a hash of it)
//   ::backfill metadata <key>=<json>       a value shown with the materialization
//   ::backfill cost=<n>                    what the run cost, in the workspace's cost_unit (USD here)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The demo folder (the one holding pipeline.assets.yaml), whatever the current folder is. */
export const DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DATA = path.join(DEMO, 'data');

/** `data/a/b.json` for messages: paths relative to the demo folder. */
export const rel = (file) => path.relative(DEMO, file);

/** Stops the job: one clear line on stderr, exit status 1. */
export function fail(job, message) {
  process.stderr.write(`${job}: error: ${message}\n`);
  process.exit(1);
}

/** The job's arguments, checked: `usage` is printed when their number is wrong. */
export function args(job, usage, count) {
  const a = process.argv.slice(2);
  if (a.length !== count) {
    const expected = count === 0 ? 'no arguments' : `${count} argument${count === 1 ? '' : 's'}`;
    fail(job, `expected ${expected}, got ${a.length} (usage: node jobs/${job}.mjs${usage ? ` ${usage}` : ''})`);
  }
  return a;
}

/** A `YYYY-MM-DD` day key, checked. */
export function day(job, text, what = 'day') {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)) || new Date(`${text}T00:00:00Z`).toISOString().slice(0, 10) !== text) {
    fail(job, `invalid ${what} "${text}": expected YYYY-MM-DD`);
  }
  return text;
}

/** The day `n` days after `key` (`YYYY-MM-DD`, UTC). */
export function addDays(key, n) {
  return new Date(Date.parse(`${key}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** An input file's text; a missing one stops the job, naming the file and what makes it. */
export function readInput(job, file, producer) {
  if (!existsSync(file)) fail(job, `input ${rel(file)} does not exist — materialize ${producer} first`);
  return readFileSync(file, 'utf8');
}

export function readJsonInput(job, file, producer) {
  const text = readInput(job, file, producer);
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(job, `input ${rel(file)} is not valid JSON (${e.message}) — materialize ${producer} again`);
  }
}

/**
 * Writes an output file atomically (a temporary file renamed into place), so that a job
 * that fails or is stopped half-way never leaves a partial file that looks materialized.
 */
export function writeOutput(file, text) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return Buffer.byteLength(text);
}

/** The data version of some bytes: the first 16 hex digits of their SHA-256. */
export function dataVersion(...texts) {
  const h = createHash('sha256');
  for (const t of texts) h.update(t);
  return h.digest('hex').slice(0, 16);
}

export function reportVersion(version) {
  console.log(`::backfill data_version=${version}`);
}

export function reportMetadata(key, value) {
  console.log(`::backfill metadata ${key}=${JSON.stringify(value)}`);
}

/** What this run cost (USD, the demo's cost_unit), from what it used: Backfill estimates the next runs from these. */
export function reportCost(usd) {
  console.log(`::backfill cost=${Number(usd.toFixed(6))}`);
}

/** Pretty JSON with a final newline: the format of every .json output. */
export const json = (value) => `${JSON.stringify(value, null, 2)}\n`;
