"""The checks of scripts/compose-test.sh, on a real Docker engine (Python 3.11 standard library only).

Run by scripts/compose-test.sh, which picks the base images, the project name and the port, and always
removes the stack. Every request goes to the proxy's published 127.0.0.1 port; every wait is bounded.
Prints one line per check and, last, "compose: N passed, M failed"; exits non-zero on any failure.
"""

# ruff: noqa: S603, S607 - it runs docker and docker-compose from PATH with arguments it builds itself

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = os.environ["COMPOSE_PROJECT_NAME"]
PORT = int(os.environ["CADRE_HTTP_PORT"])
MAX_AGE = int(os.environ["CADRE_CACHE_MAX_AGE"])
STALE_IF_ERROR = int(os.environ["CADRE_STALE_IF_ERROR"])
UP_BOUND_S = float(os.environ.get("COMPOSE_UP_BOUND_S", "300"))
PROBLEM = "application/problem+json"
RESULTS: list[tuple[str, bool, str]] = []


class Failed(Exception):
    pass


def check(name: str) -> Callable[[Callable[[], str | None]], Callable[[], None]]:
    def wrap(fn: Callable[[], str | None]) -> Callable[[], None]:
        def run() -> None:
            started = time.monotonic()
            try:
                detail = fn() or ""
                ok = True
            except Exception as exc:  # every failure is reported, then the run goes on
                detail, ok = f"{type(exc).__name__}: {exc}", False
            took = time.monotonic() - started
            RESULTS.append((name, ok, detail))
            print(f"{'ok  ' if ok else 'FAIL'} {name} ({took:.1f} s){': ' + detail if detail else ''}", flush=True)

        return run

    return wrap


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def compose(*args: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["docker-compose", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise Failed(f"docker-compose {' '.join(args)}: exit {result.returncode}: {result.stderr[-1500:]}")
    return result.stdout + result.stderr


def docker(*args: str, timeout: float = 60) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise Failed(f"docker {' '.join(args)}: {result.stderr[-500:]}")
    return result.stdout


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, seconds: float) -> None:
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def problem(self) -> dict[str, object]:
        content_type = self.headers.get("content-type", "")
        expect(content_type.startswith(PROBLEM), f"{self.status}: {self.headers} {self.body[:200]!r}")
        document: dict[str, object] = json.loads(self.body)
        expect(document.get("status") == self.status, f"status {self.status} but document {document}")
        return document


def get(
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 10,
) -> Answer:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.monotonic() - started
        )
    finally:
        conn.close()


def raw(data: bytes) -> bytes:
    """Send bytes as they are; the answer's bytes (status line, headers, body)."""
    import socket

    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def wait_for(what: str, test: Callable[[], bool], bound_s: float, every_s: float = 0.5) -> float:
    started, last = time.monotonic(), ""
    while time.monotonic() - started < bound_s:
        try:
            if test():
                return time.monotonic() - started
        except (OSError, http.client.HTTPException, Failed) as exc:
            last = f" (last: {exc})"
        time.sleep(every_s)
    raise Failed(f"{what}: not within {bound_s:.0f} s{last}")


def containers(service: str) -> list[str]:
    return compose("ps", "-q", service).split()


def healthy(service: str, count: int) -> bool:
    ids = containers(service)
    if len(ids) != count:
        return False
    states = docker("inspect", "--format", "{{.State.Health.Status}}", *ids).split()
    return states == ["healthy"] * count


def api_log_lines() -> list[dict[str, object]]:
    lines = []
    for cid in containers("api"):
        out = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, timeout=30).stdout
        for line in out.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                record["container"] = cid
                lines.append(record)
    return lines


def loop(path_of: Callable[[int], str], seconds: float, during: Callable[[], None], at_s: float) -> list[Answer]:
    """Sequential requests for `seconds`; `during()` runs in a thread `at_s` seconds in."""
    answers: list[Answer] = []
    timer = threading.Timer(at_s, during)
    timer.start()
    started, i = time.monotonic(), 0
    try:
        while time.monotonic() - started < seconds:
            try:
                answers.append(get(path_of(i), timeout=5))
            except (OSError, http.client.HTTPException) as exc:
                answers.append(Answer(0, {}, str(exc).encode(), 5.0))
            i += 1
    finally:
        timer.join()
    return answers


# --- the checks, in order --------------------------------------------------------------------


@check("cold `up --build` healthy")
def cold_up() -> str:
    started = time.monotonic()
    compose("up", "--build", "-d", timeout=UP_BOUND_S)
    wait_for("proxy answers /health/ready", lambda: get("/health/ready").status == 200, UP_BOUND_S)
    took = time.monotonic() - started
    expect(took < UP_BOUND_S, f"{took:.0f} s")
    return f"{took:.0f} s (bound {UP_BOUND_S:.0f} s)"


@check("every endpoint through the proxy")
def endpoints() -> str:
    paths = ["/", "/openapi.json", "/docs", "/redoc", "/health/live", "/health/ready", "/static/redoc.standalone.js"]
    collections = ["metrics", "citations", "sources", "reports", "periods", "destinations", "checks"]
    for name in collections:
        answer = get(f"/v1/{name}")
        expect(answer.status == 200, f"/v1/{name}: {answer.status}")
        data = json.loads(answer.body)["data"]
        paths.append(f"/v1/{name}/{data[0]['id']}")
    paths.append("/v1/metrics?format=csv")
    for path in paths:
        answer = get(path)
        expect(answer.status == 200, f"{path}: {answer.status} {answer.body[:200]!r}")
    csv = get("/v1/metrics", headers={"Accept": "text/csv"})
    expect(csv.status == 200 and csv.headers["content-type"].startswith("text/csv"), f"csv {csv.headers}")
    return f"{len(paths) + len(collections) + 1} URLs"


@check("errors through the proxy are problem+json (414, 431, 413, 400, 404, 405)")
def errors() -> str:
    seen = []
    for n in (9000, 20000):  # over the app's 8 KiB; over nginx's own 16 KiB buffer
        answer = get("/v1/metrics?" + "a" * n)
        expect(answer.status == 414, f"{n}-byte query: {answer.status}")
        answer.problem()
        seen.append(414)
    uncached = "/v1/metrics?limit=1&offset=777"  # a cached answer would come from the proxy, not the app
    answer = get(uncached, headers={"X-Big": "a" * 9000})
    expect(answer.status == 431, f"9 KiB header: {answer.status}")
    answer.problem()
    answer = get(uncached, headers={f"X-Big-{i}": "a" * 15000 for i in range(8)})
    expect(answer.status == 431, f"120 KiB of headers: {answer.status}")
    answer.problem()
    for size in (10, 5000):  # a GET with a body: the app refuses a small one; nginx a large one, unread
        # An uncached URL: the proxy's cache would answer a GET it holds without reading the body.
        answer = get(f"/v1/metrics?limit=1&offset={size}", method="GET", body=b"x" * size)
        expect(answer.status == 413, f"{size}-byte body: {answer.status}")
        answer.problem()
    # Another method with a body: the method is the first thing wrong (405 with Allow), not the body.
    answer = get("/v1/metrics", method="POST", body=b"x" * 10, headers={"Content-Type": "text/plain"})
    expect(answer.status == 405 and "GET" in answer.headers.get("allow", ""), f"POST with a body: {answer.status}")
    answer.problem()
    reply = raw(b"GARBAGE\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    expect(head.startswith(b"HTTP/1.1 400") and PROBLEM.encode() in head, repr(reply[:300]))
    expect(json.loads(body)["status"] == 400, repr(body))
    for path in ("/nothing-here", "/_problem/unavailable"):
        answer = get(path)
        expect(answer.status == 404, f"{path}: {answer.status}")
        answer.problem()
    answer = get("/v1/metrics", method="DELETE")
    expect(answer.status == 405, f"DELETE: {answer.status}")
    answer.problem()
    return "414 x2, 431 x2, 413 x2, 405 (POST with a body), 400, 404 x2, 405"


@check("proxy cache: HIT, byte-identical, same ETag; conditional GET 304 from the proxy")
def cache() -> str:
    path = "/v1/metrics?limit=3"
    first, second = get(path), get(path)
    expect(first.status == second.status == 200, f"{first.status} {second.status}")
    expect(first.headers.get("x-cache-status") == "MISS", f"first: {first.headers.get('x-cache-status')}")
    expect(second.headers.get("x-cache-status") == "HIT", f"second: {second.headers.get('x-cache-status')}")
    expect(first.body == second.body, "bodies differ")
    expect(first.headers["etag"] == second.headers["etag"], "ETags differ")
    conditional = get(path, headers={"If-None-Match": first.headers["etag"]})
    expect(conditional.status == 304 and conditional.body == b"", f"conditional: {conditional.status}")
    expect(conditional.headers.get("x-cache-status") == "HIT", f"conditional: {conditional.headers}")
    csv = get("/v1/metrics?limit=3", headers={"Accept": "text/csv"})
    expect(csv.headers["content-type"].startswith("text/csv"), f"Vary ignored: {csv.headers['content-type']}")
    return f"ETag {first.headers['etag']}, Vary honoured (CSV variant apart)"


@check("request ids: generated by nginx or taken from the client, logged by the proxy and the replica")
def request_ids() -> str:
    given = f"ci-{uuid.uuid4().hex[:12]}"
    answer = get("/health/ready", headers={"X-Request-ID": given})
    expect(answer.headers.get("x-request-id") == given, f"echo: {answer.headers}")
    generated = get("/health/ready").headers.get("x-request-id", "")
    expect(len(generated) == 32, f"generated: {generated!r}")
    bad = get("/health/ready", headers={"X-Request-ID": "x y\x7f"}).headers.get("x-request-id", "")
    expect(len(bad) == 32, f"replaced: {bad!r}")
    time.sleep(0.5)
    for rid in (given, generated):
        expect(rid in compose("logs", "--no-color", "proxy"), f"{rid} not in the proxy's log")
        expect(any(line.get("request_id") == rid for line in api_log_lines()), f"{rid} not in a replica's log")
    return "echoed, generated, replaced when not a token; in both logs"


@check("uid 10001, read-only root filesystem")
def hardening() -> str:
    cid = containers("api")[0]
    expect(docker("exec", cid, "id", "-u").strip() == "10001", "uid")
    expect(docker("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", cid).strip() == "true", "rootfs")
    result = subprocess.run(["docker", "exec", cid, "touch", "/app/x"], capture_output=True, text=True, timeout=30)
    expect(result.returncode != 0 and "Read-only file system" in result.stderr, result.stderr)
    venv = docker("exec", cid, "ls", "/opt/venv/bin")
    expect("pip" not in venv.split(), "pip in the runtime venv")
    return "write refused: Read-only file system; no pip in /opt/venv"


@check("`--scale api=3`: requests reach all three")
def scale_up() -> str:
    compose("up", "-d", "--scale", "api=3", timeout=180)
    wait_for("3 healthy replicas", lambda: healthy("api", 3), 90)
    prefix = f"scale-{uuid.uuid4().hex[:8]}"
    reached: set[str] = set()

    def all_three() -> bool:
        for i in range(30):
            get("/health/ready", headers={"X-Request-ID": f"{prefix}-{i}"})
        reached.update(
            str(line["container"]) for line in api_log_lines() if str(line.get("request_id", "")).startswith(prefix)
        )
        return len(reached) == 3

    took = wait_for("requests on 3 replicas", all_three, 20, every_s=0.2)
    return f"3 replicas answered (within {took:.1f} s of healthy)"


def _no_failure(answers: list[Answer], what: str, cut_allowed: int = 0) -> str:
    """No failed request; with `cut_allowed`, up to that many answers cut mid-body are tolerated: a replica
    killed with SIGKILL while it writes a response loses it, and no proxy can retry a response it has begun
    to send. A refused connection, a 5xx, a timeout or a slow answer still fails."""
    cut = [a for a in answers if a.status == 0 and a.body.startswith(b"IncompleteRead")]
    failed = [a for a in answers if a.status != 200 and a not in cut[:cut_allowed]]
    slowest = max(a.seconds for a in answers if a.status == 200)
    sample = [(a.status, a.body[:80]) for a in failed[:3]]
    expect(not failed, f"{what}: {len(failed)} of {len(answers)} failed: {sample}")
    expect(slowest < 1.0, f"{what}: slowest request {slowest:.2f} s")
    tolerated = f", {len(cut)} cut in flight by the kill" if cut else ""
    return f"{len(answers)} requests, 0 failed{tolerated}, slowest {slowest * 1000:.0f} ms"


@check("a replica killed under a request loop: no failed request (but any it was answering), none slower than 1 s")
def kill_one() -> str:
    victim = containers("api")[0]
    answers = loop(lambda i: "/health/ready", 6, lambda: docker("kill", victim) and None, 2)
    expect(len(containers("api")) == 3, "compose lost track")
    state = docker("inspect", "--format", "{{.State.Status}}", victim).strip()
    expect(state == "exited", f"killed replica is {state}")
    # At most the loop's 6 concurrent requests can be on the victim when it dies.
    return _no_failure(answers, "kill", cut_allowed=6) + " (the killed replica stays down: a manual stop)"


@check("scale 3 -> 1 under a request loop: no failed request, none slower than 1 s")
def scale_down() -> str:
    # The killed replica first comes back (compose keeps the lowest-numbered containers when scaling down).
    compose("up", "-d", "--no-deps", "--scale", "api=3", "api", timeout=120)
    wait_for("3 healthy replicas", lambda: healthy("api", 3), 90)
    answers = loop(
        lambda i: "/health/ready", 8, lambda: compose("up", "-d", "--no-deps", "--scale", "api=1", "api") and None, 1
    )
    expect(len(containers("api")) == 1, f"{len(containers('api'))} replicas")
    return _no_failure(answers, "scale down")


@check("database stopped 10 s: only 503 problem+json with Retry-After, not retried; recovery without restart")
def database_down() -> str:
    api = containers("api")[0]
    started_at = docker("inspect", "--format", "{{.State.StartedAt}}", api).strip()
    compose("stop", "db", timeout=60)
    prefix = f"dbdown-{uuid.uuid4().hex[:8]}"
    answers, statuses = [], set()
    stopped = time.monotonic()
    i = 0
    while time.monotonic() - stopped < 10:
        answer = get(f"/v1/metrics?limit=1&offset={i}", headers={"X-Request-ID": f"{prefix}-{i}"})
        answers.append(answer)
        statuses.add(answer.status)
        expect(answer.status == 503, f"request {i}: {answer.status} {answer.body[:200]!r}")
        answer.problem()
        expect(answer.headers.get("retry-after", "").isdigit(), f"Retry-After: {answer.headers}")
        i += 1
        time.sleep(0.2)
    upstream = [line for line in api_log_lines() if str(line.get("request_id", "")).startswith(prefix)]
    expect(len(upstream) == len(answers), f"{len(answers)} client requests became {len(upstream)} upstream ones")
    compose("start", "db", timeout=60)
    back = time.monotonic()
    wait_for("recovery", lambda: get("/v1/metrics?limit=1&offset=999").status == 200, 60, every_s=0.05)
    recovered = time.monotonic() - back
    after = docker("inspect", "--format", "{{.State.StartedAt}}", api).strip()
    expect(after == started_at, "the replica was restarted")
    return f"{len(answers)} x 503 (one upstream request each); 200 again {recovered:.2f} s after `start db`"


@check("every replica stopped: a cached URL served stale for stale-if-error past max-age, then 503; uncached: 503")
def stale() -> str:
    path = f"/v1/metrics?limit=2&offset={uuid.uuid4().int % 1000 + 2000}"  # cached from now on, not before
    first = get(path)
    cached_at = time.monotonic()
    expect(first.status == 200 and first.headers.get("x-cache-status") == "MISS", f"prime: {first.headers}")
    expect(f"stale-if-error={STALE_IF_ERROR}" in first.headers.get("cache-control", ""), f"{first.headers}")
    compose("stop", "api", timeout=60)

    def at(seconds: float) -> Answer:
        time.sleep(max(0.0, cached_at + seconds - time.monotonic()))
        return get(path)

    # nginx counts whole seconds: 1.5 s either side of each bound.
    early, late = at(MAX_AGE + 1.5), at(MAX_AGE + STALE_IF_ERROR - 1.5)
    for when, answer in (("just past max-age", early), ("near the end of stale-if-error", late)):
        expect(answer.status == 200, f"{when}: {answer.status}")
        expect(answer.headers.get("x-cache-status") == "STALE", f"{when}: {answer.headers.get('x-cache-status')}")
        expect(answer.body == first.body, f"{when}: not the cached body")
    missing = get("/v1/metrics?limit=1&offset=12345")
    expect(missing.status == 503, f"uncached URL: {missing.status}")
    missing.problem()
    expect(missing.headers.get("retry-after", "").isdigit(), "Retry-After")
    past = at(MAX_AGE + STALE_IF_ERROR + 1.5)
    expect(past.status == 503, f"past stale-if-error: {past.status} {past.headers.get('x-cache-status')}")
    past.problem()
    compose("start", "api", timeout=60)
    wait_for("replica back", lambda: get("/health/ready").status == 200, 60)
    bounds = f"max-age {MAX_AGE} s, stale-if-error {STALE_IF_ERROR} s"
    return f"STALE 1.5 s past max-age and 1.5 s before the end of stale use, 503 1.5 s after ({bounds}); uncached: 503"


@check("`run --rm migrate` with a changed seed: no response older than max-age; twice: no changes")
def migrate() -> str:
    seed = Path(tempfile.mkdtemp(prefix="cadre-seed-"))
    try:
        shutil.copytree(ROOT / "seed", seed, dirs_exist_ok=True)
        source = seed / "source.yaml"
        text = source.read_text()
        marker = "(the source gives no title)"
        expect(marker in text, "seed/source.yaml changed shape")
        source.write_text(text.replace(marker, f"{marker} [compose test {uuid.uuid4().hex[:6]}]"))
        seed.chmod(0o755)
        old = get("/")
        expect(old.status == 200, f"/: {old.status}")
        old_tag = old.headers["etag"]
        volume = f"{seed}:/app/seed:ro"
        out = compose("run", "--rm", "-v", volume, "migrate", timeout=180)
        expect("loaded; dataset signature" in out, out[-800:])
        done = time.monotonic()
        stale_after = []
        while time.monotonic() - done < MAX_AGE + 3:
            sent = time.monotonic()
            answer = get("/")
            expect(answer.status == 200, f"/: {answer.status}")
            # Sent more than max-age after the reload committed: must be the new dataset.
            if sent - done > MAX_AGE + 0.5 and answer.headers["etag"] == old_tag:
                stale_after.append((round(sent - done, 2), answer.headers.get("x-cache-status")))
            time.sleep(0.1)
        expect(not stale_after, f"old data served {stale_after} s after the reload (max-age {MAX_AGE})")
        expect(get("/").headers["etag"] != old_tag, "never changed")
        again = compose("run", "--rm", "-v", volume, "migrate", timeout=180)
        expect("no changes" in again, again[-800:])
        # Back to the image's seed for what follows.
        expect("loaded; dataset signature" in compose("run", "--rm", "migrate", timeout=180), "restore")
    finally:
        shutil.rmtree(seed, ignore_errors=True)
    return f"new data within max-age ({MAX_AGE} s); second run: no changes"


def _proxy_with(**env: str) -> None:
    compose("up", "-d", "--no-deps", "proxy", env=env, timeout=60)
    wait_for("proxy", lambda: get("/health/live").status == 200, 30, every_s=0.2)


def _flood(client: str | None, count: int) -> list[Answer]:
    headers = {"X-Forwarded-For": client} if client else {}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: get("/v1/sources", headers=headers), range(count)))


@check("rate limit: 429 problem+json with Retry-After; X-Forwarded-For ignored unless trusted")
def rate_untrusted() -> str:
    _proxy_with(CADRE_RATE_LIMIT="10r/s", CADRE_RATE_BURST="40", CADRE_TRUSTED_PROXIES="")
    time.sleep(5)  # the bucket refills
    answers = _flood("203.0.113.1", 120)
    limited = [a for a in answers if a.status == 429]
    expect(limited and all(a.status in (200, 429) for a in answers), f"{sorted({a.status for a in answers})}")
    limited[0].problem()
    expect(limited[0].headers.get("retry-after") == "1", f"Retry-After: {limited[0].headers}")
    time.sleep(5)
    # A different X-Forwarded-For on every request: were the header believed, none would be limited.
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        forged = list(
            pool.map(lambda i: get("/v1/sources", headers={"X-Forwarded-For": f"198.51.100.{i}"}), range(120))
        )
    forged_limited = sum(a.status == 429 for a in forged)
    expect(forged_limited > 0, "120 forged X-Forwarded-For addresses, none limited: the header was believed")
    return f"{len(limited)} of 120 limited; 120 forged X-Forwarded-For: {forged_limited} limited all the same"


@check("rate limit per client behind a trusted proxy: another client unaffected; under the limit, no 429")
def rate_trusted() -> str:
    network = f"{PROJECT}_default"
    gateway = docker("network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network).strip()
    # Host clients reach nginx through Docker's port forwarder, from the network's gateway: trust it.
    _proxy_with(CADRE_RATE_LIMIT="10r/s", CADRE_RATE_BURST="40", CADRE_TRUSTED_PROXIES=gateway)
    answers = _flood("203.0.113.10", 120)
    expect(any(a.status == 429 for a in answers), "client A never limited")
    other = get("/v1/sources", headers={"X-Forwarded-For": "203.0.113.11"})
    expect(other.status == 200, f"client B: {other.status}")
    polite = []
    for _ in range(30):  # 5 requests a second, under 10 r/s
        polite.append(get("/v1/sources", headers={"X-Forwarded-For": "203.0.113.12"}).status)
        time.sleep(0.2)
    expect(set(polite) == {200}, f"client C: {sorted(set(polite))}")
    return f"trusted {gateway}: A limited, B 200, C 30 x 200 at 5 r/s"


@check("connection limit: over CADRE_CONN_LIMIT requests in progress, 429 problem+json with Retry-After")
def conn_limit() -> str:
    # Host clients all reach nginx from the network's gateway: one client address. Each replica paused
    # (cgroup freezer) holds the requests sent to it in progress until it is unpaused.
    _proxy_with(CADRE_CONN_LIMIT="2", CADRE_TRUSTED_PROXIES="")
    replicas = containers("api")
    held: list[concurrent.futures.Future[Answer]] = []
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        docker("pause", *replicas)
        try:
            base = uuid.uuid4().int % 1000 + 5000  # uncached URLs: each one goes to a replica
            held = [pool.submit(get, f"/v1/metrics?limit=1&offset={base + i}", None, "GET", None, 30) for i in (0, 1)]
            time.sleep(1.0)
            expect(not any(f.done() for f in held), "a request to a paused replica was answered")
            over = get("/v1/sources")
        finally:
            docker("unpause", *replicas)
        answers = [f.result(timeout=30) for f in held]
    expect(over.status == 429, f"third request in progress: {over.status} {over.body[:200]!r}")
    over.problem()
    expect(over.headers.get("retry-after", "").isdigit(), f"Retry-After: {over.headers}")
    expect([a.status for a in answers] == [200, 200], f"held requests: {[a.status for a in answers]}")
    expect(get("/v1/sources").status == 200, "still limited once the others finished")
    limit = "2 connections per client" in compose("logs", "--no-color", "proxy")
    expect(limit, "the proxy did not report CADRE_CONN_LIMIT=2")
    return "CADRE_CONN_LIMIT=2: a third request at once got 429 at once; the two held ones 200 after unpause"


@check("`down -v` leaves nothing")
def down() -> str:
    compose("down", "-v", "--remove-orphans", "--timeout", "10", timeout=120)
    label = f"label=com.docker.compose.project={PROJECT}"
    left = {
        "containers": docker("ps", "-aq", "--filter", label).split(),
        "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
        "networks": docker("network", "ls", "-q", "--filter", label).split(),
    }
    expect(not any(left.values()), f"left: {left}")
    return "no container, volume or network"


def main() -> int:
    cold_up()
    if not RESULTS[-1][1]:
        print(compose("logs", "--no-color", "--tail=40", check=False)[-6000:], file=sys.stderr)
    else:
        for step in (
            endpoints,
            errors,
            cache,
            request_ids,
            hardening,
            scale_up,
            kill_one,
            scale_down,
            database_down,
            stale,
            migrate,
            rate_untrusted,
            rate_trusted,
            conn_limit,
        ):
            step()
    if not all(ok for _, ok, _ in RESULTS):
        print(compose("logs", "--no-color", "--tail=30", check=False)[-6000:], file=sys.stderr)
    down()
    failed = [name for name, ok, _ in RESULTS if not ok]
    print(f"compose: {len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
