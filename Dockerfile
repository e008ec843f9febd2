# The API image: a slim Python, the project's virtualenv (runtime dependencies only, no dev tools),
# the code, the migrations and the seed. Runs as an unprivileged user; one uvicorn process per container
# (scale with replicas). `docker build -t cadre-families-data:1.0.0 .`
# PYTHON_IMAGE: any Debian-based Python 3.11 with `python` and venv; scripts/base-images.sh builds a local one
# from Debian's packages where no registry can be reached (`--build-arg PYTHON_IMAGE=...`).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN python -m venv /opt/venv
# Dependencies first, from pyproject.toml and the lock alone: this layer is rebuilt only when they change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir --constraint requirements.lock --requirement /tmp/requirements.txt
# Then the project, editable at /app, the path it keeps in the final stage: this installs the
# `cadre-data` command and puts /app on sys.path (app/config.py finds alembic/ and seed/ beside app/).
COPY app ./app
RUN pip install --no-cache-dir --no-deps --config-settings editable_mode=compat --editable . \
    && pip uninstall --yes --quiet setuptools pip
# pip and setuptools were needed to install; the runtime venv does without them (no installer at run time).

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="cadre-families-data" \
      org.opencontainers.image.description="Read-only HTTP API over the figures of the February 2006 CCP report" \
      org.opencontainers.image.version="1.0.0" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ACCESS_LOG=json
# A fixed uid/gid above the system range (no --system: useradd would warn that 10001 > SYS_UID_MAX).
RUN groupadd --gid 10001 cadre \
    && useradd --uid 10001 --gid cadre --no-log-init --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cadre
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY alembic.ini ./
COPY alembic ./alembic
COPY seed ./seed
COPY app ./app
# Byte-compile now: at run time the code is read-only to the process (owned by root).
RUN python -m compileall -q app alembic
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as r; sys.exit(r.urlopen('http://127.0.0.1:8000/health/ready', timeout=4).status != 200)"]
# uvicorn finishes in-flight requests on SIGTERM (serve --graceful-timeout, default 10 s), then exits.
# One JSON line per request on stdout (ACCESS_LOG=json, app/access_log.py) replaces uvicorn's text log.
CMD ["cadre-data", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
