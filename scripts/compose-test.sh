#!/usr/bin/env bash
# The compose stack on a real Docker engine: build, bring up, exercise through the proxy, tear down.
# The checks are in scripts/compose_test.py (cold up, every endpoint, problem+json errors, proxy cache,
# request ids, hardening, scaling, a killed replica, the database stopped, every replica stopped
# (stale within stale-if-error, then 503), migrate with a changed seed, rate and connection limits, `down -v`). Run by .ci/run after `make test`.
#
#   scripts/compose-test.sh          # skipped, with a message, where no Docker engine answers
#   REQUIRE_DOCKER=1 scripts/compose-test.sh   # ... fails there instead (CI)
#
# Base images come from scripts/base-images.sh (the official ones if present, else local stand-ins built
# once per engine). Its own project name and a free 127.0.0.1 port, so it never touches another stack;
# always `down -v` on exit; every step bounded (COMPOSE_TEST_TIMEOUT_S in all, default 900 s).
# Last line: "compose: N passed, M failed"; exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v docker >/dev/null || ! command -v docker-compose >/dev/null || ! docker info >/dev/null 2>&1; then
  if [[ "${REQUIRE_DOCKER:-0}" == 1 ]]; then
    echo "compose: REQUIRE_DOCKER=1 but no Docker engine (or docker-compose) answers"
    echo "compose: 0 passed, 1 failed"
    exit 1
  fi
  echo "compose: skipped: no Docker engine answers (docker info); REQUIRE_DOCKER=1 makes this a failure"
  exit 0
fi

started=$SECONDS
eval "$(scripts/base-images.sh)"
echo "compose: base images ready in $((SECONDS - started)) s: $PYTHON_IMAGE $POSTGRES_IMAGE $NGINX_IMAGE"

COMPOSE_PROJECT_NAME=cadreci$$
CADRE_HTTP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Classic builder (no BuildKit here); a short max-age so the cache and reload checks fit in seconds.
export COMPOSE_PROJECT_NAME CADRE_HTTP_PORT PYTHON_IMAGE POSTGRES_IMAGE NGINX_IMAGE
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 CADRE_HTTP_BIND=127.0.0.1 CADRE_CACHE_MAX_AGE=4
# ... and a short stale-if-error, so that the end of stale use is seen too.
export CADRE_STALE_IF_ERROR=8
# Generous limits for the checks' own request loops; the rate-limit checks set theirs.
export CADRE_RATE_LIMIT=100000r/s CADRE_RATE_BURST=100000 CADRE_CONN_LIMIT=1000 CADRE_TRUSTED_PROXIES=
unset POSTGRES_PASSWORD CADRE_READER_PASSWORD

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  timeout 120 docker-compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  echo "compose: took $((SECONDS - started)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

timeout --kill-after=30 "${COMPOSE_TEST_TIMEOUT_S:-900}" python3 scripts/compose_test.py
