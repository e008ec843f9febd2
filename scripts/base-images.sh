#!/usr/bin/env bash
# The three base images docker-compose.yml builds on, for a Docker engine that cannot pull them.
#
#   eval "$(scripts/base-images.sh)"   # prints: export PYTHON_IMAGE=... POSTGRES_IMAGE=... NGINX_IMAGE=...
#
# If the official images (python:3.11.14-slim-bookworm, postgres:15.14-bookworm, nginx:1.27.5-bookworm) are
# already on this engine, it names them. Otherwise it builds local stand-ins from Debian bookworm packages,
# with debootstrap (minbase) from the apt mirror this host uses, and names those:
#   cadre-local/python:3.11-bookworm-HASH    python3 (3.11), venv, `python`
#   cadre-local/postgres:15-bookworm-HASH    postgresql-15, deploy/base-images/postgres-entrypoint.sh
#   cadre-local/nginx:1.22-bookworm-HASH     nginx (1.22), wget
# HASH is taken from this script and deploy/base-images/: a change rebuilds, otherwise an image built
# once is reused (a second run takes a second). The stand-ins are never tagged with the official names.
# docker import cannot set STOPSIGNAL: docker-compose.yml sets the official images' (SIGINT, SIGQUIT).
# The host's CA certificates (local ones included) go into every stand-in: TLS to the package registries
# may depend on them. Needs root (debootstrap, chroot) and about 1-2 minutes the first time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OFFICIAL_PYTHON=python:3.11.14-slim-bookworm
OFFICIAL_POSTGRES=postgres:15.14-bookworm
OFFICIAL_NGINX=nginx:1.27.5-bookworm
log() { printf 'base-images: %s\n' "$*" >&2; }

if docker image inspect "$OFFICIAL_PYTHON" "$OFFICIAL_POSTGRES" "$OFFICIAL_NGINX" >/dev/null 2>&1; then
  log "official images present"
  printf 'export PYTHON_IMAGE=%s POSTGRES_IMAGE=%s NGINX_IMAGE=%s\n' \
    "$OFFICIAL_PYTHON" "$OFFICIAL_POSTGRES" "$OFFICIAL_NGINX"
  exit 0
fi

HASH=$(cat scripts/base-images.sh deploy/base-images/* | sha256sum | cut -c1-12)
PYTHON_IMAGE=cadre-local/python:3.11-bookworm-$HASH
POSTGRES_IMAGE=cadre-local/postgres:15-bookworm-$HASH
NGINX_IMAGE=cadre-local/nginx:1.22-bookworm-$HASH
result() { printf 'export PYTHON_IMAGE=%s POSTGRES_IMAGE=%s NGINX_IMAGE=%s\n' "$PYTHON_IMAGE" "$POSTGRES_IMAGE" "$NGINX_IMAGE"; }

if docker image inspect "$PYTHON_IMAGE" "$POSTGRES_IMAGE" "$NGINX_IMAGE" >/dev/null 2>&1; then
  log "local stand-ins present ($HASH)"
  result
  exit 0
fi

command -v debootstrap >/dev/null || {
  echo "base-images: debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 1
}
# The host's Debian mirror: the first URIs: line of a deb822 source, or the first `deb` line.
MIRROR=$(
  {
    grep -h -m1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -h -m1 -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
  } | grep -m1 -E '^https?://' || true
)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

WORK=$(mktemp -d /tmp/cadre-base.XXXXXX)
cleanup() {
  local dir
  for dir in "$WORK"/*/; do
    [[ -d "$dir/proc" ]] && umount "$dir/proc" 2>/dev/null || true
  done
  rm -rf -- "$WORK"
}
trap cleanup EXIT

started=$SECONDS
# The bare Debian rootfs is itself kept as an image (BASE_IMAGE): debootstrap runs once per engine.
BASE_IMAGE=cadre-local/debian:bookworm-minbase-1
mkdir "$WORK/base"
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "reusing $BASE_IMAGE"
  container=$(docker create "$BASE_IMAGE" /bin/true)
  docker export "$container" | tar -C "$WORK/base" -x
  docker rm "$container" >/dev/null
else
  log "debootstrap bookworm (minbase) from $MIRROR"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$WORK/base" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$WORK"/base/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$WORK/base" -c . | docker import - "$BASE_IMAGE" >/dev/null
fi
# Only the Debian sources (never the host's apt credentials), and the host's CA certificates.
rm -f "$WORK/base/etc/apt/sources.list"
cp /etc/apt/sources.list.d/debian.sources "$WORK/base/etc/apt/sources.list.d/" 2>/dev/null ||
  echo "deb $MIRROR bookworm main" >"$WORK/base/etc/apt/sources.list"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  cp -a /usr/local/share/ca-certificates/. "$WORK/base/usr/local/share/ca-certificates/"
fi
chroot "$WORK/base" update-ca-certificates >/dev/null 2>&1
# No service starts in a chroot; PostgreSQL's package creates no cluster (the entrypoint does, at run time).
printf '#!/bin/sh\nexit 101\n' >"$WORK/base/usr/sbin/policy-rc.d"
chmod +x "$WORK/base/usr/sbin/policy-rc.d"
mkdir -p "$WORK/base/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' >"$WORK/base/etc/postgresql-common/createcluster.d/no-main.conf"
chroot "$WORK/base" apt-get update -qq >/dev/null
log "base ready in $((SECONDS - started)) s"

# build NAME IMAGE PACKAGES [--change ...]: copy the base, install PACKAGES, import as IMAGE.
build() {
  local name=$1 image=$2 packages=$3
  shift 3
  local root="$WORK/$name"
  cp -a "$WORK/base" "$root"
  mount -t proc proc "$root/proc"
  # shellcheck disable=SC2086 # PACKAGES is a list
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends $packages \
    >"$WORK/$name.log" 2>&1 || {
    tail -n 30 "$WORK/$name.log" >&2
    return 1
  }
  umount "$root/proc"
  "${CUSTOMIZE[@]}"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/sbin/policy-rc.d "$root"/var/cache/debconf/*-old
  tar --numeric-owner -C "$root" -c . | docker import "$@" --message "cadre stand-in ($HASH)" - "$image" >/dev/null
  rm -rf -- "$root"
  log "$image built ($((SECONDS - started)) s)"
}

CUSTOMIZE=(true)
build python "$PYTHON_IMAGE" "python3 python3-venv python-is-python3" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]'

customize_postgres() {
  install -m 0755 deploy/base-images/postgres-entrypoint.sh "$WORK/postgres/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$WORK/postgres/var/lib/postgresql/data"
}
CUSTOMIZE=(customize_postgres)
build postgres "$POSTGRES_IMAGE" "postgresql-15" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'EXPOSE 5432' \
  --change 'CMD ["postgres"]'

customize_nginx() {
  # As in the official image: the logs nginx opens before reading its configuration go to the container's.
  ln -sf /dev/stdout "$WORK/nginx/var/log/nginx/access.log"
  ln -sf /dev/stderr "$WORK/nginx/var/log/nginx/error.log"
}
CUSTOMIZE=(customize_nginx)
build nginx "$NGINX_IMAGE" "nginx wget" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'EXPOSE 80' \
  --change 'CMD ["nginx", "-g", "daemon off;"]'

result
