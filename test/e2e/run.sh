#!/usr/bin/env bash
# End-to-end tests of the Backfill extension in a REAL VS Code: code-server (the VS Code
# workbench + remote extension host, from npm) driven by playwright-core in Debian's Chromium.
# Needs no network except the npm registry (first run only: code-server into a cache).
#
# Usage: bash test/e2e/run.sh            # = npm run test:e2e: install (once) + build + package
#                                        #   + start code-server + node --test test/e2e/ + stop
#        bash test/e2e/run.sh install    # only install code-server into the cache
#
# Env:   BACKFILL_E2E_CACHE  code-server cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/backfill-e2e)
#        CHROMIUM            browser binary (default /usr/bin/chromium)
#        E2E_SHOTS           screenshot folder (default <repo>/test-output/e2e)
#        E2E_PORT            code-server port (default: a free one)
#        E2E_KEEP=1          keep the per-run folder (it is always kept when something fails)
#        E2E_TESTS           test files/folder for node --test (default test/e2e/: every *.test.mjs,
#                            one file after the other, each with its own browser and workspace)
#        E2E_TIMEOUT_MS      default Playwright wait, read by the tests (default 30000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CS_VERSION=4.100.3          # VS Code 1.100.3: the newest code-server whose engines accept Node 20
CACHE=${BACKFILL_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backfill-e2e}
CS_DIR=$CACHE/code-server-$CS_VERSION
CS_BIN=$CS_DIR/node_modules/.bin/code-server
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
check_prereqs() { # $1 = "install": only what installing code-server needs (the demo uses it too)
  local missing=() hints=()
  [ "${1:-}" = install ] || [ -x "$CHROMIUM" ] || { missing+=("Chromium at $CHROMIUM (set CHROMIUM=/path/to/chromium)"); hints+=(chromium); }
  command -v rg >/dev/null || { missing+=("ripgrep (rg), VS Code's search binary"); hints+=(ripgrep); }
  local t
  for t in g++ make python3; do
    command -v "$t" >/dev/null || { missing+=("$t (node-gyp builds code-server's native modules)"); hints+=("$t"); }
  done
  command -v krb5-config >/dev/null || [ -f /usr/include/gssapi/gssapi.h ] ||
    { missing+=("Kerberos headers (code-server's kerberos module)"); hints+=(libkrb5-dev); }
  if [ ${#missing[@]} -gt 0 ]; then
    local what="the end-to-end tests"; [ "${1:-}" = install ] && what="installing code-server"
    log "ERROR: missing for $what:"
    for t in "${missing[@]}"; do log "  - $t"; done
    log "On Debian/Ubuntu: sudo apt-get install -y ${hints[*]}   (.ci/run does this on CI)"
    exit 1
  fi
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" = 20 ] || log "WARNING: code-server $CS_VERSION is built for Node 20, found $(node -v)"
  # node-gyp needs Node's headers; use the installed ones instead of downloading them.
  if [ -z "${npm_config_nodedir:-}" ]; then
    local prefix; prefix=$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)
    [ -f "$prefix/include/node/node.h" ] && export npm_config_nodedir=$prefix
  fi
}

# ---------------------------------------------------------------- code-server (cached)
install_code_server() {
  mkdir -p "$CACHE"
  if command -v flock >/dev/null; then exec 9>"$CACHE/.lock"; flock 9; fi   # one installer at a time
  if [ -f "$CS_DIR/.complete" ]; then log "code-server $CS_VERSION cached in $CS_DIR"; return 0; fi
  local t0; t0=$(now)
  log "installing code-server $CS_VERSION into $CS_DIR (first run only, 2-3 min; log: $CS_DIR.install.log)"
  rm -rf "$CS_DIR"; mkdir -p "$CS_DIR"
  (
    set -euo pipefail
    cd "$CS_DIR"
    echo '{ "private": true }' > package.json
    # code-server's postinstall would `npm install` lib/vscode, whose @vscode/ripgrep postinstall
    # downloads rg from GitHub: do its steps by hand, with Debian's rg.
    npm install --ignore-scripts --save-exact --no-package-lock "code-server@$CS_VERSION"
    cd node_modules/code-server/lib/vscode
    npm install --omit=dev --ignore-scripts
    mkdir -p node_modules/@vscode/ripgrep/bin
    cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg     # its postinstall then skips the download
    npm rebuild                                                     # node-pty, kerberos, spdlog, watcher, ...
    ln -sfn node_modules node_modules.asar
    ln -sfn code-linux.sh bin/remote-cli/code-server
    ln -sfn browser-linux.sh bin/helpers/browser.sh
    (cd extensions && npm install --omit=dev)                       # built-in extensions' dependencies
    cd "$CS_DIR" && npm rebuild argon2                              # code-server's own native module
  ) > "$CS_DIR.install.log" 2>&1 || { tail -40 "$CS_DIR.install.log" >&2; die "code-server install failed (log: $CS_DIR.install.log)"; }
  "$CS_BIN" --version >/dev/null || die "installed code-server does not start (log: $CS_DIR.install.log)"
  touch "$CS_DIR/.complete"
  log "code-server installed in $(since "$t0") s"
}

# ---------------------------------------------------------------- per-run state and cleanup
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

CS_PID=""; CS_DESC=""; RUN=""
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
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  if [ -n "$RUN" ] && [ -d "$RUN" ]; then
    if [ "$rc" != 0 ] || [ "${E2E_KEEP:-0}" = 1 ]; then
      log "kept run folder $RUN (server log: $RUN/server.log, workspace: $RUN/demo)"
    else
      rm -rf "$RUN"
    fi
  fi
  exit "$rc"
}

main() {
  local T0 t; T0=$(now)
  check_prereqs "${1:-}"
  install_code_server
  [ "${1:-}" = install ] && return 0

  [ -d "$ROOT/node_modules/@vscode/vsce" ] && [ -d "$ROOT/node_modules/playwright-core" ] ||
    die "the repo's dependencies are not installed: run 'npm ci' in $ROOT first"

  trap cleanup EXIT INT TERM
  RUN=$(mktemp -d "${TMPDIR:-/tmp}/backfill-e2e-run.XXXXXX")
  mkdir -p "$RUN/ud/User" "$RUN/ext" "$RUN/xdg" "$SHOTS"

  t=$(now)
  (cd "$ROOT" && node esbuild.mjs)
  # vsce WITH dependencies (.vscodeignore keeps better-sqlite3's runtime files; everything else
  # is bundled into dist/). No repository field yet: give vsce base URLs for README's links.
  (cd "$ROOT" && node_modules/.bin/vsce package --out "$RUN/backfill.vsix" --skip-license \
    --allow-missing-repository \
    --baseContentUrl https://github.com/backfill/backfill/blob/HEAD/ \
    --baseImagesUrl https://github.com/backfill/backfill/raw/HEAD/ > "$RUN/vsce.log" 2>&1) ||
    { cat "$RUN/vsce.log" >&2; die "vsce package failed"; }
  local csargs=(--config "$RUN/config.yaml" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext")
  export XDG_CONFIG_HOME="$RUN/xdg" XDG_DATA_HOME="$RUN/xdg"     # code-server writes nothing to $HOME
  local port=${E2E_PORT:-$(free_port)}
  printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$port" > "$RUN/config.yaml"
  "$CS_BIN" "${csargs[@]}" --install-extension "$RUN/backfill.vsix" > "$RUN/install-extension.log" 2>&1 ||
    { cat "$RUN/install-extension.log" >&2; die "installing the .vsix into code-server failed"; }
  log "built, packaged ($(du -k "$RUN/backfill.vsix" | cut -f1) KB .vsix) and installed in $(since "$t") s"

  # Fresh user settings and a fresh copy of the demo workspace (nothing materialized yet).
  cp "$HERE/settings.json" "$RUN/ud/User/settings.json"
  mkdir "$RUN/demo"
  (cd "$ROOT/examples/demo" && tar --exclude=./.backfill --exclude=./data -cf - .) | tar -xf - -C "$RUN/demo"

  t=$(now)
  "$CS_BIN" "${csargs[@]}" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry \
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
    { tail -30 "$RUN/server.log" >&2; die "code-server did not come up"; }
  log "code-server (pid $CS_PID) up on 127.0.0.1:$port in $(since "$t") s"

  t=$(now)
  local rc=0
  CS_URL="http://127.0.0.1:$port" E2E_WORKSPACE="$RUN/demo" E2E_SHOTS="$SHOTS" CHROMIUM="$CHROMIUM" \
    BACKFILL_CLI="$ROOT/dist/cli.js" \
    node --test --test-reporter=spec --test-concurrency=1 ${E2E_TESTS:-"$HERE/"} || rc=$?
  log "tests finished in $(since "$t") s (rc=$rc); total $(since "$T0") s; screenshots in $SHOTS"
  if [ "$rc" != 0 ]; then log "last lines of the server log:"; tail -30 "$RUN/server.log" >&2 || true; fi
  return "$rc"
}

main "$@"
