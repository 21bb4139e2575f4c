#!/usr/bin/env node
// `npm run demo`: opens the demo workspace (a copy of examples/demo) in VS Code with this
// repository loaded as an unpacked extension.
//
//   - Desktop VS Code (`code` on PATH): `code --extensionDevelopmentPath=<repo> <workspace>`.
//   - Otherwise the newest code-server (VS Code 1.139 in the browser, on Node 24 from the npm
//     registry), installed on first use into the cache the end-to-end tests use
//     (test/e2e/run.sh install-newest), served on 127.0.0.1 until Ctrl-C.
//
// Usage: npm run demo [-- --fresh]     (package.json builds first: node esbuild.mjs)
// Env:   PORT                   code-server's port (default: a free one)
//        BACKFILL_DEMO_EDITOR   `code` or `code-server` to choose instead of detecting
//        BACKFILL_E2E_CACHE     where code-server is installed (as for test/e2e/run.sh)
//        XDG_CACHE_HOME         base of both caches (default ~/.cache)
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  openSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CS_VERSION = '4.139.1'; // the newest code-server, the one test/e2e/run.sh runs every e2e test on (Node 24)
const CACHE_HOME = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
const DEMO_HOME = path.join(CACHE_HOME, 'backfill-demo');
const WORKSPACE = path.join(DEMO_HOME, 'workspace');
const CS_DIR = path.join(process.env.BACKFILL_E2E_CACHE || path.join(CACHE_HOME, 'backfill-e2e'), `code-server-${CS_VERSION}`);
const CS_BIN = path.join(CS_DIR, 'node_modules', '.bin', 'code-server');

/** User settings of the demo's code-server: no welcome page, trust prompt or telemetry. */
const DEMO_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
};

const log = (message) => console.log(`[demo] ${message}`);
function die(message) {
  console.error(`[demo] error: ${message}`);
  process.exit(1);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 15)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
const unknown = argv.filter((a) => a !== '--fresh');
if (unknown.length) die(`unknown argument ${unknown[0]} (usage: npm run demo [-- --fresh])`);
const fresh = argv.includes('--fresh');

if (!existsSync(path.join(ROOT, 'dist', 'extension.js')) || !existsSync(path.join(ROOT, 'node_modules', 'esbuild'))) {
  die(`the extension is not built or its dependencies are missing: run 'npm ci && npm run demo' in ${ROOT}`);
}

prepareWorkspace();
const editor = process.env.BACKFILL_DEMO_EDITOR || (desktopCode() ? 'code' : 'code-server');
if (editor === 'code') openInDesktop();
else if (editor === 'code-server') await serveInBrowser();
else die(`BACKFILL_DEMO_EDITOR must be code or code-server, got "${editor}"`);

/** A copy of examples/demo without its data and state, kept between runs (`--fresh` resets it). */
function prepareWorkspace() {
  if (fresh && existsSync(WORKSPACE)) {
    rmSync(WORKSPACE, { recursive: true, force: true });
    log(`--fresh: removed the previous demo workspace`);
  }
  if (existsSync(WORKSPACE)) {
    log(`workspace ${WORKSPACE} (kept from an earlier run: its data and history too; --fresh starts over)`);
    return;
  }
  const source = path.join(ROOT, 'examples', 'demo');
  const skip = new Set([path.join(source, 'data'), path.join(source, '.backfill')]);
  mkdirSync(path.dirname(WORKSPACE), { recursive: true });
  cpSync(source, WORKSPACE, { recursive: true, filter: (src) => !skip.has(src) });
  log(`workspace ${WORKSPACE} (a fresh copy of examples/demo)`);
}

/**
 * The desktop `code` command, if there is one. Inside a remote session (a terminal of
 * code-server, SSH or a container) `code` is the remote CLI, which cannot load an extension
 * under development: then the browser path is used.
 */
function desktopCode() {
  if (process.env.VSCODE_IPC_HOOK_CLI) return null;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'code');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

function openInDesktop() {
  log(`opening VS Code: code --extensionDevelopmentPath=${ROOT} ${WORKSPACE}`);
  const r = spawnSync('code', ['--new-window', `--extensionDevelopmentPath=${ROOT}`, WORKSPACE], { stdio: 'inherit' });
  if (r.error) die(`could not run code: ${r.error.message}`);
  if (r.status !== 0) die(`code exited with status ${r.status}`);
  log('VS Code is open with Backfill loaded from this repository (an "Extension Development Host" window).');
}

async function serveInBrowser() {
  if (!existsSync(path.join(CS_DIR, '.complete'))) {
    log(`code-server ${CS_VERSION} is not installed yet: installing it and Node 24 into ${CS_DIR} (first run only, 2-4 minutes)`);
    const t0 = Date.now();
    const r = spawnSync('bash', [path.join(ROOT, 'test', 'e2e', 'run.sh'), 'install-newest'], { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0 || !existsSync(path.join(CS_DIR, '.complete')))
      die(`installing code-server failed (see above); rerun npm run demo once fixed`);
    log(`code-server installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  // Everything code-server writes stays in the demo's cache folder: user data, extensions,
  // its config and XDG folders (nothing in ~/.config or ~/.local).
  const home = path.join(DEMO_HOME, 'code-server');
  const userData = path.join(home, 'user-data');
  const extensions = path.join(home, 'extensions');
  const xdg = path.join(home, 'xdg');
  if (fresh) rmSync(home, { recursive: true, force: true });
  for (const dir of [path.join(userData, 'User'), extensions, xdg]) mkdirSync(dir, { recursive: true });
  const settings = path.join(userData, 'User', 'settings.json');
  if (!existsSync(settings)) writeFileSync(settings, `${JSON.stringify(DEMO_SETTINGS, null, 2)}\n`);

  // The repository itself, unpacked: a folder named publisher.name-version in the extensions
  // folder is loaded without being installed (rebuild with `node esbuild.mjs`, reload the window).
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const prefix = `${pkg.publisher}.${pkg.name}-`;
  for (const entry of readdirSync(extensions))
    if (entry.startsWith(prefix)) rmSync(path.join(extensions, entry), { recursive: true, force: true });
  symlinkSync(ROOT, path.join(extensions, `${prefix}${pkg.version}`), 'dir');

  const port = process.env.PORT ? Number(process.env.PORT) : await freePort();
  if (!Number.isInteger(port) || port <= 0 || port > 65535) die(`PORT must be a port number, got "${process.env.PORT}"`);
  const config = path.join(home, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const serverLog = path.join(home, 'server.log');
  const out = openSync(serverLog, 'w');

  const t0 = Date.now();
  // Its own process group, so that everything it starts can be found and stopped with it.
  const server = spawn(
    CS_BIN,
    [
      '--config',
      config,
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      WORKSPACE,
    ],
    // On Node 24, as code-server 4.139 requires (and as today's desktop VS Code runs extensions).
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, PATH: `${node24()}${path.delimiter}${process.env.PATH ?? ''}`, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg },
    },
  );
  let exited = null;
  const exit = new Promise((resolve) => server.on('exit', (code, signal) => resolve((exited = { code, signal }))));

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    await stopTree(server.pid, exit);
    process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : 1);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(signal));
  // `kill <npm's pid>` reaches npm's shell, not this process: stop when the parent goes away.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('SIGHUP');
  }, 1000).unref();

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      console.error(tail(serverLog, 30));
      die(`code-server exited during start-up (${exited.signal ?? `status ${exited.code}`}); log: ${serverLog}`);
    }
    if (await healthy(`http://127.0.0.1:${port}/healthz`)) break;
    if (Date.now() > deadline) {
      console.error(tail(serverLog, 30));
      await stopTree(server.pid, exit);
      die(`code-server did not answer on port ${port} within 60 s; log: ${serverLog}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const folder = encodeURIComponent(WORKSPACE).replace(/%2F/g, '/');
  log(`code-server ${CS_VERSION} up in ${((Date.now() - t0) / 1000).toFixed(1)} s (log: ${serverLog})`);
  console.log(`\nBackfill demo: open http://127.0.0.1:${port}/?folder=${folder}\n`);
  log('Ctrl-C stops it.');

  const { code, signal } = await exit;
  if (stopping) return;
  await stopTree(server.pid, exit); // whatever it left running
  die(`code-server stopped (${signal ?? `status ${code}`}); log: ${serverLog}`);
}

/** The folder of the Node 24 binary (scripts/node24.sh installs it from the npm registry once). */
function node24() {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'node24.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) die('could not get Node 24 (scripts/node24.sh failed, see above)');
  return r.stdout.trim();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function healthy(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Child → parent of every process: from /proc on Linux (minimal Debian has no `ps`), else `ps`. */
function parentLinks() {
  if (existsSync('/proc/self/stat')) {
    const links = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8'); // "pid (comm) state ppid …"
        links.push([Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])]);
      } catch {
        // gone
      }
    }
    return links;
  }
  const r = spawnSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([child, parent]) => child && parent !== undefined);
}

/** Every process below `pid`. */
function descendants(pid) {
  const children = new Map();
  for (const [child, parent] of parentLinks()) {
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(child);
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signalAll(pids, signal) {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops code-server and everything it started — extension hosts, file watchers, the pty host
 * and the shells of its terminals (which run in sessions of their own, outside its process
 * group): only those processes, collected before their parent goes away.
 */
async function stopTree(pid, exit) {
  const tree = [pid, ...descendants(pid)];
  try {
    process.kill(-pid, 'SIGTERM'); // its process group
  } catch {
    // gone already
  }
  signalAll(tree, 'SIGTERM');
  await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
  await new Promise((r) => setTimeout(r, 300));
  const left = tree.filter((p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  });
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
  signalAll(left, 'SIGKILL');
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
