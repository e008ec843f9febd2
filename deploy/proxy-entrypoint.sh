#!/bin/sh
# Entrypoint of the `proxy` service (docker-compose.yml): nginx with deploy/nginx.conf, which includes the
# files written here under /tmp/nginx/ (a tmpfs; the root filesystem is read-only):
#   limits.conf, limit.conf, retry_after.conf  per-client limits from CADRE_RATE_LIMIT, CADRE_RATE_BURST,
#                                              CADRE_CONN_LIMIT, CADRE_RETRY_AFTER
#   real_ip.conf                               CADRE_TRUSTED_PROXIES (addresses/CIDRs; empty: trust none)
#   cache.conf                                 CADRE_PROXY_CACHE (on|off)
#   upstream.conf                              one `server` per address of `api`, with keep-alive
# Keep-alive needs an `upstream` block, whose server addresses nginx resolves once, at (re)load; nginx
# re-resolves them itself (`server api:8000 resolve`) only from 1.27.3. So this script resolves `api`
# through Docker's DNS every second and, when the set of replicas changed, rewrites upstream.conf and
# reloads nginx (graceful: in-flight requests finish on the old workers). A stopped replica is also
# skipped at once by nginx (connect refused or 250 ms timeout, then max_fails), before the reload.
# Any POSIX sh with getent: the official nginx images (Debian) and the local stand-in.
set -eu

RUN=/tmp/nginx
UPSTREAM_HOST=${CADRE_UPSTREAM_HOST:-api}
UPSTREAM_PORT=${CADRE_UPSTREAM_PORT:-8000}
RATE=${CADRE_RATE_LIMIT:-10r/s}
BURST=${CADRE_RATE_BURST:-40}
CONN=${CADRE_CONN_LIMIT:-20}
RETRY_AFTER=${CADRE_RETRY_AFTER:-1}
TRUSTED=${CADRE_TRUSTED_PROXIES:-}
CACHE=${CADRE_PROXY_CACHE:-on}

die() {
  echo "proxy-entrypoint: $*" >&2
  exit 2
}
echo "$RATE" | grep -Eq '^[1-9][0-9]{0,5}r/[sm]$' || die "CADRE_RATE_LIMIT must look like 10r/s or 600r/m (got '$RATE')"
echo "$BURST" | grep -Eq '^[0-9]{1,6}$' || die "CADRE_RATE_BURST must be a whole number (got '$BURST')"
echo "$CONN" | grep -Eq '^[1-9][0-9]{0,5}$' || die "CADRE_CONN_LIMIT must be a positive number (got '$CONN')"
echo "$RETRY_AFTER" | grep -Eq '^[1-9][0-9]{0,4}$' || die "CADRE_RETRY_AFTER must be seconds (got '$RETRY_AFTER')"
case "$CACHE" in on | off) ;; *) die "CADRE_PROXY_CACHE must be on or off (got '$CACHE')" ;; esac

mkdir -p "$RUN/cache" "$RUN/client_body" "$RUN/proxy" "$RUN/fastcgi" "$RUN/uwsgi" "$RUN/scgi"
chown nobody "$RUN/cache" "$RUN/client_body" "$RUN/proxy" "$RUN/fastcgi" "$RUN/uwsgi" "$RUN/scgi"

cat >"$RUN/limits.conf" <<EOF
limit_req_zone \$binary_remote_addr zone=per_client:10m rate=$RATE;
limit_conn_zone \$binary_remote_addr zone=per_client_conn:10m;
EOF
cat >"$RUN/limit.conf" <<EOF
limit_req zone=per_client burst=$BURST nodelay;
limit_conn per_client_conn $CONN;
EOF
echo "add_header Retry-After $RETRY_AFTER always;" >"$RUN/retry_after.conf"

: >"$RUN/real_ip.conf"
for address in $(echo "$TRUSTED" | tr ',' ' '); do
  echo "$address" | grep -Eq '^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$' || die "CADRE_TRUSTED_PROXIES: not an address or CIDR: '$address'"
  echo "set_real_ip_from $address;" >>"$RUN/real_ip.conf"
done
if [ -s "$RUN/real_ip.conf" ]; then
  printf 'real_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n' >>"$RUN/real_ip.conf"
fi

if [ "$CACHE" = on ]; then
  echo "proxy_cache cadre;" >"$RUN/cache.conf"
else
  echo "proxy_cache off;" >"$RUN/cache.conf"
fi

replicas() {
  getent ahostsv4 "$UPSTREAM_HOST" 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' '
}

write_upstream() { # ADDRESSES
  {
    echo "upstream api {"
    if [ -z "$1" ]; then
      # No replica running: nginx needs a server; a `down` one makes every request a 503 problem+json.
      echo "    server 127.0.0.1:$UPSTREAM_PORT down;"
    fi
    for address in $1; do
      echo "    server $address:$UPSTREAM_PORT max_fails=1 fail_timeout=3s;"
    done
    echo "    keepalive 32;"
    # Below uvicorn's own idle timeout (5 s): nginx drops an idle connection before the replica does.
    echo "    keepalive_timeout 4s;"
    echo "}"
  } >"$RUN/upstream.conf.new"
  mv "$RUN/upstream.conf.new" "$RUN/upstream.conf"
}

current=$(replicas)
write_upstream "$current"
nginx -t -q
nginx -g 'daemon off;' &
nginx_pid=$!
echo "proxy-entrypoint: nginx started; replicas: ${current:-none}; rate $RATE burst $BURST, $CONN connections per client; cache $CACHE"

stop() {
  kill -QUIT "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" || true
  exit 0
}
trap stop TERM INT QUIT

while kill -0 "$nginx_pid" 2>/dev/null; do
  sleep 1 &
  wait $! || true
  latest=$(replicas)
  if [ "$latest" != "$current" ]; then
    write_upstream "$latest"
    if nginx -t -q 2>/dev/null; then
      kill -HUP "$nginx_pid"
      echo "proxy-entrypoint: replicas: ${latest:-none} (reloaded)"
      current=$latest
    fi
  fi
done
wait "$nginx_pid"
