#!/usr/bin/env bash
# What docker-compose.yml does, without Docker, on loopback only:
#   a throwaway PostgreSQL (scripts/pg-throwaway.sh); an owner role that owns the database and a
#   read-only role, as an administrator would create them; then, as the owner, `cadre-data migrate`,
#   `cadre-data seed`, `cadre-data grant-readonly`; then N API processes (default 3) as the read-only
#   role on free 127.0.0.1 ports; it waits for /health/ready on each, checks that a write as the API's
#   role fails, reads /health/ready and data URLs from each, stops them with SIGTERM and removes the
#   cluster. Exits non-zero on any failure; every wait is bounded.
#
#   scripts/compose-without-docker.sh [REPLICAS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

REPLICAS=${1:-${API_REPLICAS:-3}}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-60}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-15}
OWNER=cadre_owner
READER=cadre_reader
DATABASE=cadre
[[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || {
  echo "usage: $0 [REPLICAS (1-99)]" >&2
  exit 2
}

if [[ -x "$ROOT/.venv/bin/cadre-data" ]]; then
  PATH="$ROOT/.venv/bin:$PATH"
fi
command -v cadre-data >/dev/null || {
  echo "cadre-data is not installed (make venv)" >&2
  exit 1
}
PY=$(command -v python)

WORK=$(mktemp -d /tmp/cadre-compose.XXXXXX)
chmod 711 "$WORK" # the cluster runs as `postgres` when we are root: it must reach $WORK/pg
PGDIR="$WORK/pg"
API_PIDS=()
API_PORTS=()

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

cleanup() {
  local status=$? pid
  trap - EXIT INT TERM
  for pid in "${API_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${API_PIDS[@]}"; do
    for _ in $(seq 1 $((STOP_TIMEOUT_S * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if ((status != 0)); then
    for log in "$WORK"/api-*.log; do
      [[ -f "$log" ]] || continue
      echo "--- last lines of $(basename "$log")" >&2
      tail -n 20 "$log" >&2
    done
  fi
  scripts/pg-throwaway.sh stop "$PGDIR" || true
  rm -rf -- "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# GET (or HEAD) URL; print "STATUS SECONDS BODY-PREFIX"; never waits longer than TIMEOUT seconds.
http() {
  "$PY" - "$@" <<'PY'
import sys, time, urllib.error, urllib.request
method, url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
start = time.monotonic()
try:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=timeout) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
except OSError as e:
    status, body = 0, str(e).encode()
print(status, f"{time.monotonic() - start:.3f}s", body[:100].decode("utf-8", "replace").replace("\n", " "))
PY
}

step "PostgreSQL: throwaway cluster on loopback"
SUPER_URL=$(scripts/pg-throwaway.sh start "$PGDIR")
echo "superuser: $SUPER_URL"
BASE=${SUPER_URL%/*}
HOSTPORT=${BASE#postgresql://*@}
OWNER_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
READER_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
OWNER_URL="postgresql://$OWNER:$OWNER_PASSWORD@$HOSTPORT/$DATABASE"
READER_URL="postgresql://$READER:$READER_PASSWORD@$HOSTPORT/$DATABASE"

step "roles and database, as the administrator: $OWNER owns $DATABASE, $READER may only log in"
psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 "$SUPER_URL" \
  --set=owner="$OWNER" --set=reader="$READER" --set=db="$DATABASE" \
  --set=owner_pw="$OWNER_PASSWORD" --set=reader_pw="$READER_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE :"reader" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_pw';
ALTER ROLE :"reader" SET default_transaction_read_only = on;
CREATE DATABASE :"db" OWNER :"owner";
SQL
psql --no-psqlrc --tuples-only --no-align "$SUPER_URL" \
  -c "SELECT rolname || ': superuser=' || rolsuper || ' createrole=' || rolcreaterole FROM pg_roles WHERE rolname IN ('$OWNER', '$READER') ORDER BY 1"

step "cadre-data migrate (as $OWNER)"
LOADER_DATABASE_URL=$OWNER_URL DATABASE_URL=$READER_URL cadre-data migrate 2>&1

step "cadre-data seed (as $OWNER)"
LOADER_DATABASE_URL=$OWNER_URL DATABASE_URL=$READER_URL cadre-data seed

step "cadre-data grant-readonly --role $READER (as $OWNER)"
LOADER_DATABASE_URL=$OWNER_URL DATABASE_URL=$READER_URL cadre-data grant-readonly --role "$READER"

step "a write as $READER fails: its sessions are read-only, and a transaction declared READ WRITE lacks the grants"
for sql in "INSERT INTO measures (id, label) VALUES ('x', 'x')" \
  "BEGIN READ WRITE; DELETE FROM dataset; COMMIT" \
  "BEGIN READ WRITE; CREATE TABLE intruder (id int); COMMIT"; do
  if out=$(psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 "$READER_URL" -c "$sql" 2>&1); then
    fail "as $READER, '$sql' succeeded: $out"
  fi
  reason=${out##*ERROR:  }
  echo "refused: $sql -> ${reason%%$'\n'*}"
done

step "$REPLICAS API processes as $READER on 127.0.0.1"
started=$SECONDS
for i in $(seq 1 "$REPLICAS"); do
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  DATABASE_URL=$READER_URL cadre-data serve --host 127.0.0.1 --port "$port" --no-access-log \
    >"$WORK/api-$i.log" 2>&1 </dev/null &
  API_PIDS+=("$!")
  API_PORTS+=("$port")
  echo "api-$i: pid $! on http://127.0.0.1:$port"
done

step "waiting for /health/ready on each (at most ${READY_TIMEOUT_S}s)"
deadline=$((SECONDS + READY_TIMEOUT_S))
for i in "${!API_PORTS[@]}"; do
  port=${API_PORTS[$i]}
  until [[ "$(http GET "http://127.0.0.1:$port/health/ready" 2 | cut -d' ' -f1)" == 200 ]]; do
    kill -0 "${API_PIDS[$i]}" 2>/dev/null || fail "api-$((i + 1)) exited before it was ready"
    ((SECONDS < deadline)) || fail "api-$((i + 1)) not ready after ${READY_TIMEOUT_S}s"
    sleep 0.2
  done
  echo "api-$((i + 1)) ready $((SECONDS - started))s after start"
done

step "requests to each replica"
for i in "${!API_PORTS[@]}"; do
  port=${API_PORTS[$i]}
  for request in "GET /health/live" "GET /health/ready" "HEAD /health/ready" "GET /" "GET /v1/metrics?limit=1"; do
    result=$(http "${request% *}" "http://127.0.0.1:$port${request#* }" 5)
    echo "api-$((i + 1)) $request -> $result"
    [[ "${result%% *}" == 200 ]] || fail "api-$((i + 1)) $request answered ${result%% *}"
  done
done

step "stopping the API processes (SIGTERM, at most ${STOP_TIMEOUT_S}s each)"
for i in "${!API_PIDS[@]}"; do
  pid=${API_PIDS[$i]}
  kill -TERM "$pid"
  status=0
  for _ in $(seq 1 $((STOP_TIMEOUT_S * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "api-$((i + 1)) still running ${STOP_TIMEOUT_S}s after SIGTERM"
  wait "$pid" || status=$?
  # uvicorn finishes its requests and shutdown, then re-raises SIGTERM: 143 is a clean stop too.
  grep -q "Finished server process" "$WORK/api-$((i + 1)).log" || fail "api-$((i + 1)) did not shut down cleanly"
  echo "api-$((i + 1)) shut down cleanly (exit status $status)"
  ((status == 0 || status == 143)) || fail "api-$((i + 1)) exited with status $status"
done
API_PIDS=()

step "done: $REPLICAS replicas served the dataset read-only; removing the cluster"
