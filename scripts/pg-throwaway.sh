#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, entirely inside one directory.
#
#   scripts/pg-throwaway.sh start DIR   initialise and start it; print its superuser URL (also in DIR/url)
#   scripts/pg-throwaway.sh stop DIR    stop it and remove DIR
#
# The server listens on 127.0.0.1 only (a free port) and on a unix socket in DIR, trusts local
# connections and runs with fsync off: test data only, never anything worth keeping.
# Binaries: PG_BINDIR, else /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin.
# As root, initdb and the server run as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

readonly MARKER=.pg-throwaway
readonly READY_TIMEOUT_S=30

die() {
  echo "pg-throwaway: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    echo "$PG_BINDIR"
  elif [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
  else
    local found
    found=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
    [[ -n "$found" ]] || die "no PostgreSQL server binaries (install the postgresql package, or set PG_BINDIR)"
    dirname "$found"
  fi
}

# Run a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local port
  for ((port = 55432; port < 56432; port++)); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port between 55432 and 56431"
}

# Up and answering on the port recorded in DIR/url.
running() {
  local port
  [[ -f "$1/url" && -f "$1/data/postmaster.pid" ]] || return 1
  port=$(sed -E 's|.*:([0-9]+)/.*|\1|' "$1/url")
  "$BIN/pg_isready" --quiet --host=127.0.0.1 --port="$port" --username=postgres
}

start() {
  local dir=$1 port url attempt deadline
  if running "$dir"; then
    cat "$dir/url"
    return
  fi
  if [[ -f "$dir/$MARKER" ]]; then
    stop "$dir" # a cluster left over (crashed, or stopped by hand): start afresh
  fi
  if [[ -d "$dir" && ! -f "$dir/$MARKER" && -n "$(ls -A "$dir")" ]]; then
    die "$dir is not empty and is not a throwaway cluster; refusing to use it"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  touch "$dir/$MARKER"
  chmod 700 "$dir"
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to own the cluster"
    chown postgres: "$dir"
  fi
  as_owner test -w "$dir" || die "$dir is not writable by the cluster's owner (is a parent directory private?)"

  as_owner "$BIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust --encoding=UTF8 \
    --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }

  # A port can be taken between choosing and binding it: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$BIN/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout="$READY_TIMEOUT_S" \
      --options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
      start >/dev/null 2>&1; then
      break
    fi
    [[ $attempt -lt 5 ]] || {
      tail -n 20 "$dir/server.log" >&2 || true
      die "the server did not start"
    }
  done

  deadline=$((SECONDS + READY_TIMEOUT_S))
  until "$BIN/pg_isready" --quiet --host=127.0.0.1 --port="$port" --username=postgres; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$dir/server.log" >&2 || true
      die "the server is not ready after ${READY_TIMEOUT_S}s"
    fi
    sleep 0.2
  done

  url="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "$url" >"$dir/url"
  echo "$url"
}

stop() {
  local dir=$1 pid
  [[ -e "$dir" ]] || return 0
  [[ -f "$dir/$MARKER" ]] || die "$dir is not a throwaway cluster (no $MARKER); refusing to remove it"
  dir=$(cd "$dir" && pwd)
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    if ! as_owner "$BIN/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --timeout="$READY_TIMEOUT_S" stop \
      >/dev/null 2>&1; then
      # Still running but not stopping: end it, if that pid really is this cluster's postmaster.
      pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      if [[ "$pid" =~ ^[0-9]+$ ]] && grep -qaF -- "$dir/data" "/proc/$pid/cmdline" 2>/dev/null; then
        kill -QUIT "$pid" 2>/dev/null || true
        sleep 1
      fi
    fi
  fi
  rm -rf -- "$dir"
}

[[ $# -eq 2 ]] || usage
BIN=$(bindir)
case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
