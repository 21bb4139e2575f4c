// Runs the real `backfill` bundle (dist/cli.js) as a child process, for the CLI tests
// (cli*.test.ts). Not a test file itself (its name does not end in .test.ts). A test file calls
// `before(buildCli)` and `after(removeTempDirs)`, then runs commands with the helpers below.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';

export { removeTempDirs, tempWorkspace } from './fixtures.ts';

export const REPO = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO, 'dist', 'cli.js');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The working folder (default: the repository). */
  cwd?: string;
  /** Variables added to the environment (after NO_COLOR and an empty BACKFILL_DEBUG). */
  env?: NodeJS.ProcessEnv;
  /** Arguments put after all the others, after the `--json` of json() too. */
  append?: string[];
  /** The Node binary that runs the CLI (default: the one running the tests). */
  node?: string;
}

/** Builds dist/ (for a `before` hook): the tests run the bundle, not the sources. */
export function buildCli(): void {
  execFileSync(process.execPath, ['esbuild.mjs'], { cwd: REPO, stdio: 'inherit' });
}

/** Runs the built CLI; NO_COLOR and a pipe keep the output plain. */
export function backfill(args: string[], options: CliOptions = {}): Result {
  const r = spawnSync(options.node ?? process.execPath, [CLI, ...args, ...(options.append ?? [])], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: '1', BACKFILL_DEBUG: '', ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must exit with `code` and returns its stdout. */
export function expectExit(code: number, args: string[], options: CliOptions = {}): string {
  const r = backfill(args, options);
  assert.equal(r.code, code, `backfill ${args.join(' ')} exited ${r.code}, not ${code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Runs a command that must succeed (exit 0) and returns its stdout. */
export function ok(args: string[], options: CliOptions = {}): string {
  return expectExit(0, args, options);
}

/** Runs the CLI with --json and returns the one JSON document it printed (asserting exit 0). */
export function json<T = unknown>(args: string[], options: CliOptions = {}): T {
  return JSON.parse(ok([...args, '--json'], options)) as T;
}

/** A user error: exit 2, nothing on stdout, one `backfill: ...` line on stderr (returned), no stack trace. */
export function userError(args: string[], options: CliOptions = {}): string {
  const r = backfill(args, options);
  assert.equal(r.code, 2, `expected exit 2 from backfill ${args.join(' ')}, got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('warning: '));
  assert.equal(lines.length, 1, `one error line expected:\n${r.stderr}`);
  assert.match(lines[0]!, /^backfill: /);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  return lines[0]!;
}
