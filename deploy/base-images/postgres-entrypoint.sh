#!/bin/sh
# Entrypoint of the local PostgreSQL stand-in (scripts/base-images.sh), for machines that cannot pull the
# official image. It does what the official image documents, for what docker-compose.yml uses:
#   - on first start (empty $PGDATA): initdb with POSTGRES_USER (default postgres) as the superuser and
#     POSTGRES_PASSWORD as its password (required), create POSTGRES_DB (default: the user's name);
#   - listen on every interface inside the container; local socket connections trusted, every network
#     connection by password (scram-sha-256), as the official image does with a password set;
#   - run the server as `postgres`, in the foreground, as PID 1 (SIGINT: fast shutdown).
set -eu

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the superuser's password)}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
  if [ "$db" != postgres ]; then
    # Through stdin: psql interpolates :"db" (quoted as an identifier) there, not in --command.
    echo 'CREATE DATABASE :"db";' |
      psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres --set=db="$db"
  fi
  pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
  echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
