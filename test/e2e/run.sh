#!/usr/bin/env bash
# End-to-end tests of the Backfill extension in a REAL VS Code: code-server (the VS Code
# workbench + remote extension host, from npm) driven by playwright-core in Debian's Chromium.
# Needs no network except the npm registry and Debian's packages (first run only: Node 24 and two
# code-servers into a cache, missing Debian packages when run as root).
#
# Two ends of the supported range, one after the other, each with its own server and folders:
#   1. the newest VS Code: code-server 4.139.1 (VS Code 1.139) on Node 24, as today's desktop VS
#      Code runs extensions: every test file; the store must use node:sqlite (runtime.test.mjs);
#   2. the oldest supported: code-server 4.100.3 (VS Code 1.100) on this machine's Node 20: a
#      smoke subset (E2E_SMOKE_TESTS); the store must use the bundled better-sqlite3;
#   3. the same with the extension's better-sqlite3 removed (no driver at all): no-sqlite.test.mjs,
#      one notification naming the VS Code needed.
#
# Usage: bash test/e2e/run.sh            # = npm run test:e2e: install (once) + build + package
#                                        #   + for each VS Code: start code-server, node --test, stop
#        bash test/e2e/run.sh install    # only install Node 24 and both code-servers into the cache
#        bash test/e2e/run.sh install-newest   # only the newest (npm run demo uses it)
#
# Env:   BACKFILL_E2E_CACHE  code-server cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/backfill-e2e)
#        CHROMIUM            browser binary (default /usr/bin/chromium)
#        E2E_SHOTS           screenshot folder (default <repo>/test-output/e2e)
#        E2E_PORT            code-server port (default: a free one)
#        E2E_KEEP=1          keep the per-run folder (it is always kept when something fails)
#        E2E_TESTS           test files for the newest VS Code (default: every test/e2e/*.test.mjs,
#                            one file after the other, each with its own browser and workspace)
#        E2E_SMOKE_TESTS     test files for the oldest (default: runtime.test.mjs extension.test.mjs)
#        E2E_ONLY            newest | oldest: run one end only (default: both)
#        E2E_TIMEOUT_MS      default Playwright wait, read by the tests (default 30000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CS_NEWEST=4.139.1           # VS Code 1.139.1, on Node 24 (its engines say node 24)
CS_OLDEST=4.100.3           # VS Code 1.100.3: the newest code-server whose engines accept Node 20
CACHE=${BACKFILL_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backfill-e2e}
cs_dir() { echo "$CACHE/code-server-$1"; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=${E2E_SHOTS:-$ROOT/test-output/e2e}
case $SHOTS in /*) ;; *) SHOTS=$ROOT/$SHOTS ;; esac
# npx/npm never prompt (~/.npmrc may say yes=false), no fund/audit/update chatter.
export npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- prerequisites (never skipped)
# What is missing, as MISSING (what and why) and PKGS (the Debian packages that provide it).
# $1 = "install": only what installing code-server needs (the demo uses it too).
find_missing() {
  MISSING=(); PKGS=()
  local t
  if [ "${1:-}" != install ] && [ ! -x "$CHROMIUM" ]; then
    # A browser of one's own (CHROMIUM=...) is not something apt-get can put there.
    [ "$CHROMIUM" = /usr/bin/chromium ] || die "CHROMIUM=$CHROMIUM is not an executable: point it at a Chromium, or unset it to use Debian's (/usr/bin/chromium)"
    MISSING+=("Chromium ($CHROMIUM), the browser the tests drive"); PKGS+=(chromium)
  fi
  command -v rg >/dev/null || { MISSING+=("ripgrep (rg), VS Code's search binary, copied into code-server"); PKGS+=(ripgrep); }
  for t in g++ make python3; do
    command -v "$t" >/dev/null || { MISSING+=("$t, for node-gyp to build code-server's native modules"); PKGS+=("$t"); }
  done
  command -v krb5-config >/dev/null || [ -f /usr/include/gssapi/gssapi.h ] ||
    { MISSING+=("Kerberos headers (gssapi.h), for code-server's kerberos module"); PKGS+=(libkrb5-dev); }
}

# Never skipped: what is missing is installed when we may (root, or sudo without a password),
# saying what and why, like `playwright install --with-deps`; otherwise the run stops naming the
# exact command.
check_prereqs() { # $1 = "install" (see find_missing)
  local t what="the end-to-end tests"
  [ "${1:-}" = install ] && what="installing code-server"
  find_missing "${1:-}"
  [ ${#MISSING[@]} -gt 0 ] || return 0
  log "missing for $what:"
  for t in "${MISSING[@]}"; do log "  - $t"; done
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      die "not root and no password-less sudo: install them with: sudo apt-get install -y ${PKGS[*]}"
    fi
  fi
  command -v apt-get >/dev/null || die "no apt-get here: install ${PKGS[*]} with your package manager"
  log "installing them with ${sudo:+sudo }apt-get (Debian packages: ${PKGS[*]})"
  $sudo apt-get update -qq || die "apt-get update failed: run sudo apt-get install -y ${PKGS[*]} yourself"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${PKGS[@]}" ||
    die "apt-get install failed: run sudo apt-get install -y ${PKGS[*]} yourself"
  local asked=("${PKGS[@]}")
  find_missing "${1:-}"
  [ ${#MISSING[@]} -eq 0 ] || die "still missing after apt-get install ${asked[*]}: ${MISSING[*]}"
  log "installed: ${asked[*]}"
}

# ---------------------------------------------------------------- code-server (cached)
# Node's headers for node-gyp, so that nothing is downloaded: those of the Node that runs it.
nodedir_of() { # $1 = folder of a node binary
  local prefix; prefix=$(cd "$1/.." && pwd)
  [ -f "$prefix/include/node/node.h" ] && echo "$prefix"
}

# The Node a code-server version runs on: the folder of its binary.
node_for() { # $1 = code-server version
  if [ "$1" = "$CS_NEWEST" ]; then bash "$ROOT/scripts/node24.sh"; else dirname "$(readlink -f "$(command -v node)")"; fi
}

install_code_server() { # $1 = version
  local version=$1 dir node_bin
  dir=$(cs_dir "$version")
  mkdir -p "$CACHE"
  if command -v flock >/dev/null; then exec 9>"$CACHE/.lock-$version"; flock 9; fi   # one installer at a time
  if [ -f "$dir/.complete" ]; then log "code-server $version cached in $dir"; return 0; fi
  node_bin=$(node_for "$version") || die "no Node for code-server $version"
  local t0; t0=$(now)
  log "installing code-server $version (on Node $("$node_bin/node" -v)) into $dir (first run only, 2-4 min; log: $dir.install.log)"
  rm -rf "$dir"; mkdir -p "$dir"
  (
    set -euo pipefail
    export PATH="$node_bin:$PATH"
    nodedir=$(nodedir_of "$node_bin" || true)
    # Never another Node's headers (.ci/run exports the system Node's): without these node-gyp
    # fetches the right ones, or fails saying so.
    if [ -n "$nodedir" ]; then export npm_config_nodedir=$nodedir; else unset npm_config_nodedir; fi
    cd "$dir"
    echo '{ "private": true }' > package.json
    # code-server's postinstall would `npm install` lib/vscode, whose @vscode/ripgrep postinstall
    # downloads rg from GitHub: do its steps by hand, with Debian's rg.
    npm install --ignore-scripts --save-exact --no-package-lock "code-server@$version"
    cd node_modules/code-server/lib/vscode
    npm install --omit=dev --ignore-scripts
    mkdir -p node_modules/@vscode/ripgrep/bin
    cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg     # its postinstall then skips the download
    npm rebuild                                                     # node-pty, kerberos, spdlog, watcher, ...
    ln -sfn node_modules node_modules.asar
    ln -sfn code-linux.sh bin/remote-cli/code-server
    ln -sfn browser-linux.sh bin/helpers/browser.sh
    (cd extensions && npm install --omit=dev)                       # built-in extensions' dependencies
    cd "$dir" && npm rebuild argon2                                 # code-server's own native module
  ) > "$dir.install.log" 2>&1 || { tail -40 "$dir.install.log" >&2; die "code-server $version install failed (log: $dir.install.log)"; }
  PATH="$node_bin:$PATH" "$dir/node_modules/.bin/code-server" --version >/dev/null || die "installed code-server $version does not start (log: $dir.install.log)"
  touch "$dir/.complete"
  log "code-server $version installed in $(since "$t0") s"
}

# ---------------------------------------------------------------- per-run state and cleanup
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

CS_PID=""; CS_DESC=""; RUN=""; PACK=""; SLURM_DIR=""; PG_DIR=""
END_WHAT=""; END_COUNTS=""   # what the last run_end ran on, and its test counts
# Descendants of a PID from /proc (no procps needed): parent links of every process, then a walk.
descendants() {
  local -A kids=()
  local f line pid rest ppid queue=("$1") p
  for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2>/dev/null || continue
    pid=${line%% *}; rest=${line##*) }; rest=${rest#* }; ppid=${rest%% *}   # "pid (comm) state ppid ..."
    kids[$ppid]="${kids[$ppid]:-} $pid"
  done
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    for pid in ${kids[$p]:-}; do echo "$pid"; queue+=("$pid"); done
  done
}
stop_server() {
  [ -n "$CS_PID" ] || return 0
  # Only what this script started: the server and its descendants (extension hosts, file
  # watchers, pty host, language servers), collected before the parent goes away.
  CS_DESC="$CS_DESC $(descendants "$CS_PID" | tr '\n' ' ')"
  kill -TERM "$CS_PID" 2>/dev/null || true
  local i p
  for i in $(seq 50); do kill -0 "$CS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$CS_PID" 2>/dev/null || true
  for p in $CS_DESC; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in $CS_DESC; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$CS_PID" 2>/dev/null || true
  CS_PID=""
}
# Stops the Slurm cluster run_end started, if any (its jobs canceled first).
stop_slurm() {
  [ -n "${SLURM_DIR:-}" ] || return 0
  scancel --me 2>/dev/null || true
  bash "$ROOT/test/slurm/local-slurm.sh" stop "$SLURM_DIR" || true
  unset SLURM_CONF
  SLURM_DIR=""
}

# Stops the PostgreSQL server run_end started, if any.
stop_pg() {
  [ -n "${PG_DIR:-}" ] || return 0
  bash "$ROOT/test/pg/local-pg.sh" stop "$PG_DIR" || true
  rm -rf "$PG_DIR"
  unset PGPASSWORD BACKFILL_TEST_PG_URL BACKFILL_TEST_PG_DIR
  PG_DIR=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  stop_slurm
  stop_pg
  if [ -n "$RUN" ] && [ -d "$RUN" ]; then log "kept run folder $RUN (server log: $RUN/server.log, workspace: $RUN/demo)"; fi
  [ -n "$PACK" ] && rm -rf "$PACK"
  exit "$rc"
}

# Packs the extension once into $PACK/backfill.vsix.
package_extension() {
  local t; t=$(now)
  (cd "$ROOT" && node esbuild.mjs)
  # vsce WITH dependencies (.vscodeignore keeps better-sqlite3's runtime files, the fallback for
  # runtimes without node:sqlite; everything else is bundled into dist/). No repository field
  # yet: give vsce base URLs for README's links.
  (cd "$ROOT" && node_modules/.bin/vsce package --out "$PACK/backfill.vsix" --skip-license \
    --allow-missing-repository \
    --baseContentUrl https://github.com/backfill/backfill/blob/HEAD/ \
    --baseImagesUrl https://github.com/backfill/backfill/raw/HEAD/ > "$PACK/vsce.log" 2>&1) ||
    { cat "$PACK/vsce.log" >&2; die "vsce package failed"; }
  log "built and packaged ($(du -k "$PACK/backfill.vsix" | cut -f1) KB .vsix) in $(since "$t") s"
}

# One end: code-server $1 with its Node, the .vsix installed, a fresh demo copy, the tests, stop.
# $2 = what the store must open the database with, $3... = test files.
run_end() {
  local version=$1 driver=$2; shift 2
  local dir node_bin t rc=0
  dir=$(cs_dir "$version")
  node_bin=$(node_for "$version")
  RUN=$(mktemp -d "${TMPDIR:-/tmp}/backfill-e2e-$version.XXXXXX")
  mkdir -p "$RUN/ud/User" "$RUN/ext" "$RUN/xdg"
  local csargs=(--config "$RUN/config.yaml" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext")
  local port=${E2E_PORT:-$(free_port)}
  printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$port" > "$RUN/config.yaml"
  # code-server, its extension host and its CLI run on this version's Node; nothing goes to $HOME.
  local cs=(env "PATH=$node_bin:$PATH" "XDG_CONFIG_HOME=$RUN/xdg" "XDG_DATA_HOME=$RUN/xdg" "$dir/node_modules/.bin/code-server")
  local code node_v; node_v=$("$node_bin/node" -v)
  code=$(PATH="$node_bin:$PATH" "$dir/node_modules/.bin/code-server" --version 2>/dev/null | sed -n 's/.*with Code \([0-9.]*\).*/\1/p' | head -1)
  END_WHAT="VS Code ${code:-?} (code-server $version) on Node $node_v"
  log "== $END_WHAT: ${*##*/}"
  "${cs[@]}" "${csargs[@]}" --install-extension "$PACK/backfill.vsix" > "$RUN/install-extension.log" 2>&1 ||
    { cat "$RUN/install-extension.log" >&2; die "installing the .vsix into code-server $version failed"; }
  if [ "$driver" = none ]; then
    # A host that can load neither driver: Node 20 has no node:sqlite, and the .vsix's
    # better-sqlite3 goes, as on a desktop VS Code 1.100 where its Node 20 build does not load.
    local removed; removed=$(find "$RUN/ext" -maxdepth 3 -type d -path '*/node_modules/better-sqlite3')
    [ -n "$removed" ] || die "the installed extension has no node_modules/better-sqlite3 to remove"
    rm -rf $removed
  fi

  # slurm.test.mjs runs backfills on a real Slurm cluster: the local one-node cluster starts before
  # code-server, so that the extension host has SLURM_CONF as a user's editor would.
  if printf '%s\n' "$@" | grep -q 'slurm\.test\.mjs$'; then
    SLURM_DIR="$RUN/slurm"
    local out
    out=$(bash "$ROOT/test/slurm/local-slurm.sh" start "$SLURM_DIR" 2>&1) ||
      { echo "$out" >&2; die "the local Slurm cluster did not start (slurm.test.mjs needs it; see $SLURM_DIR/log)"; }
    export SLURM_CONF="$SLURM_DIR/slurm.conf"
    log "Slurm cluster up for slurm.test.mjs (SLURM_CONF=$SLURM_CONF)"
  fi

  # team.test.mjs works on a team's PostgreSQL database: a throw-away server starts before
  # code-server, and its password is in PGPASSWORD, as in the shell a user starts the editor from.
  if printf '%s\n' "$@" | grep -q 'team\.test\.mjs$'; then
    PG_DIR=$(mktemp -d /tmp/backfill-e2e-pg.XXXXXX); chmod 755 "$PG_DIR"
    local pgout
    pgout=$(bash "$ROOT/test/pg/local-pg.sh" start "$PG_DIR" 2>&1) ||
      { echo "$pgout" >&2; die "the test PostgreSQL did not start (team.test.mjs needs it; see $PG_DIR)"; }
    BACKFILL_TEST_PG_URL=$(sed -n 's/^BACKFILL_TEST_PG_URL=//p' <<< "$pgout")
    PGPASSWORD=$(sed -n 's/^BACKFILL_TEST_PG_PASSWORD=//p' <<< "$pgout")
    BACKFILL_TEST_PG_DIR=$PG_DIR
    export BACKFILL_TEST_PG_URL PGPASSWORD BACKFILL_TEST_PG_DIR
    log "PostgreSQL up for team.test.mjs ($BACKFILL_TEST_PG_URL)"
  fi

  # Fresh user settings and a fresh copy of the demo workspace (nothing materialized yet).
  cp "$HERE/settings.json" "$RUN/ud/User/settings.json"
  mkdir "$RUN/demo"
  (cd "$ROOT/examples/demo" && tar --exclude=./.backfill --exclude=./data -cf - .) | tar -xf - -C "$RUN/demo"

  t=$(now)
  "${cs[@]}" "${csargs[@]}" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry \
    --disable-update-check --disable-workspace-trust --disable-getting-started-override \
    "$RUN/demo" > "$RUN/server.log" 2>&1 &
  CS_PID=$!
  node -e '
    const [url, pid] = process.argv.slice(1);
    const deadline = Date.now() + 60000;
    (async () => {
      for (;;) {
        try { process.kill(Number(pid), 0); } catch { console.error("code-server exited"); process.exit(2); }
        try { if ((await fetch(url)).status === 200) return; } catch {}
        if (Date.now() > deadline) { console.error("no 200 from " + url + " after 60 s"); process.exit(1); }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();' "http://127.0.0.1:$port/healthz" "$CS_PID" ||
    { tail -30 "$RUN/server.log" >&2; die "code-server $version did not come up"; }
  log "code-server $version (pid $CS_PID) up on 127.0.0.1:$port in $(since "$t") s"

  t=$(now)
  # The test runner and the CLI the tests call run on this machine's Node (20 here: better-sqlite3),
  # the extension host on the server's: one database, both drivers.
  CS_URL="http://127.0.0.1:$port" E2E_WORKSPACE="$RUN/demo" E2E_SHOTS="$SHOTS/$version" CHROMIUM="$CHROMIUM" \
    BACKFILL_CLI="$ROOT/dist/cli.js" E2E_SERVER_PID="$CS_PID" E2E_USER_DATA="$RUN/ud" E2E_EXPECT_DRIVER="$driver" \
    E2E_VSCODE_VERSION="$version" E2E_EXPECT_NODE="$node_v" \
    node --test --test-reporter=spec --test-concurrency=1 "$@" 2>&1 | tee "$RUN/tests.log" || rc=$?
  local pass fail other
  read -r pass fail other < <(awk '/^ℹ pass /{p=$3} /^ℹ fail /{f=$3} /^ℹ (cancelled|skipped|todo) /{o+=$3} END{print p+0, f+0, o+0}' "$RUN/tests.log")
  END_COUNTS="$pass passed, $fail failed$([ "$other" = 0 ] || echo ", $other cancelled/skipped/todo") in $(since "$t") s"
  # Nothing is skipped silently: no test run, or one skipped, fails the run as a failure would.
  if [ "$rc" = 0 ] && { [ "$pass" = 0 ] || [ "$other" != 0 ]; }; then
    log "ERROR: $other cancelled, skipped or todo and $pass passed: every listed test must run"; rc=1
  fi
  log "$END_WHAT: tests finished: $END_COUNTS (rc=$rc)"
  if [ "$rc" != 0 ]; then log "last lines of the server log:"; tail -30 "$RUN/server.log" >&2 || true; fi
  stop_server
  stop_slurm
  stop_pg
  if [ "$rc" != 0 ] || [ "${E2E_KEEP:-0}" = 1 ]; then log "kept run folder $RUN (server log: $RUN/server.log, workspace: $RUN/demo)"; else rm -rf "$RUN"; fi
  RUN=""
  return "$rc"
}

main() {
  local T0; T0=$(now)
  case "${1:-}" in
    install) check_prereqs install; bash "$ROOT/scripts/node24.sh" >/dev/null; install_code_server "$CS_NEWEST"; install_code_server "$CS_OLDEST"; return 0 ;;
    install-newest) check_prereqs install; bash "$ROOT/scripts/node24.sh" >/dev/null; install_code_server "$CS_NEWEST"; return 0 ;;
    "") ;;
    *) die "unknown argument $1 (usage: run.sh [install|install-newest])" ;;
  esac
  check_prereqs
  local only=${E2E_ONLY:-both}
  [ "$only" = oldest ] || install_code_server "$CS_NEWEST"
  [ "$only" = newest ] || install_code_server "$CS_OLDEST"

  [ -d "$ROOT/node_modules/@vscode/vsce" ] && [ -d "$ROOT/node_modules/playwright-core" ] ||
    die "the repo's dependencies are not installed: run 'npm ci' in $ROOT first"
  [ -d "$ROOT/node_modules/better-sqlite3/build/Release" ] ||
    die "better-sqlite3 is not built (npm ci on Node 20 builds it; it needs python3 make g++): the oldest VS Code's test needs it in the .vsix"

  trap cleanup EXIT INT TERM
  PACK=$(mktemp -d "${TMPDIR:-/tmp}/backfill-e2e-pack.XXXXXX")
  mkdir -p "$SHOTS"
  package_extension

  local newest=() oldest=() f rc=0
  # no-sqlite.test.mjs needs a host without any SQLite driver: it has a run of its own below.
  if [ -n "${E2E_TESTS:-}" ]; then read -r -a newest <<< "$E2E_TESTS"; else for f in "$HERE"/*.test.mjs; do [ "${f##*/}" = no-sqlite.test.mjs ] || newest+=("$f"); done; fi
  read -r -a oldest <<< "${E2E_SMOKE_TESTS:-$HERE/runtime.test.mjs $HERE/extension.test.mjs}"
  local results=()
  one_end() { # $1 = what it is, then run_end's arguments
    local label=$1; shift
    if run_end "$@"; then results+=("passed: $label, $END_WHAT: $END_COUNTS"); else rc=1; results+=("FAILED: $label, $END_WHAT: $END_COUNTS"); fi
  }
  [ "$only" = oldest ] || one_end "the newest, ${E2E_TESTS:+E2E_TESTS=}${E2E_TESTS:-every test} (node:sqlite)" "$CS_NEWEST" node:sqlite "${newest[@]}"
  if [ "$only" != newest ]; then
    one_end "the oldest supported, smoke (better-sqlite3)" "$CS_OLDEST" better-sqlite3 "${oldest[@]}"
    one_end "the oldest without any SQLite driver" "$CS_OLDEST" none "$HERE/no-sqlite.test.mjs"
  fi
  for f in "${results[@]}"; do log "$f"; done
  log "total $(since "$T0") s; screenshots in $SHOTS/<version>/"
  return "$rc"
}

main "$@"
