#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests: initdb in DIR, started on a free port of 127.0.0.1,
# run as a non-root user (postgres when run as root). Password authentication over TCP (SCRAM),
# as on a team's server: the tests give the password the standard ways (PGPASSWORD, ~/.pgpass).
#
#   bash local-pg.sh start DIR   # installs Debian's postgresql (apt, as root) if needed; prints
#                                # BACKFILL_TEST_PG_URL=postgres://backfill@127.0.0.1:PORT/backfill
#                                # BACKFILL_TEST_PG_PASSWORD=…
#   bash local-pg.sh down DIR    # stops the server, keeping its data (an outage)
#   bash local-pg.sh up DIR      # starts it again on the same port
#   bash local-pg.sh stop DIR    # stops it (fast shutdown)
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_user() { if [ "$(id -u)" = 0 ]; then su -s /bin/sh postgres -c "$*"; else sh -c "$*"; fi; }
case $cmd in
start)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    else
      echo "PostgreSQL's server binaries are missing: sudo apt-get install -y postgresql" >&2; exit 1
    fi
  fi
  # The server runs as postgres when we are root: it owns the folder.
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
  printf '%s\n' "$password" > "$dir/pwfile"; chmod 600 "$dir/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pwfile"
  as_user "'$bin/initdb' -D '$dir/data' -U backfill --pwfile='$dir/pwfile' --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1" \
    || { echo "initdb failed: see $dir/initdb.log" >&2; tail -5 "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  port=""
  for _ in $(seq 1 20); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
  [ -n "$port" ] || { echo "no free port found" >&2; exit 1; }
  as_user "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null" \
    || { echo "postgres did not start: see $dir/server.log" >&2; tail -5 "$dir/server.log" >&2; exit 1; }
  as_user "'$bin/createdb' -h '$dir' -p $port -U backfill backfill"
  echo "$port" > "$dir/port"
  echo "BACKFILL_TEST_PG_URL=postgres://backfill@127.0.0.1:$port/backfill"
  echo "BACKFILL_TEST_PG_PASSWORD=$password"
  ;;
down)
  as_user "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null"
  ;;
up)
  port=$(cat "$dir/port")
  as_user "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
  ;;
stop)
  [ -d "$dir/data" ] && as_user "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null 2>&1" || true
  ;;
*) echo "usage: $0 start|down|up|stop DIR" >&2; exit 2 ;;
esac
