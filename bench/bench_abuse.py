"""Abuse bench: what an attacker's traffic costs `faqbot serve` in memory and in everyone else's latency.

Runs, against a fresh server on loopback, with /healthz p50/p99 and the server's RSS sampled throughout:
  1. idle (the baseline, same run);
  2. one 200 MB request body sent chunked (no Content-Length), then four 100 MB ones at once;
  3. 100 wrong logins in parallel from one address — with the default limits, and again with the per-address
     and per-account login limits lifted, so that every attempt reaches the password hasher and only the bound
     on concurrent hash checks stands in the way;
  4. a normal login (right password), p50 of 5;
  5. one address sending 16 chat requests at a time (novel questions) while a normal user at another address
     asks one question a second — the normal user's latency beside its own baseline (addresses simulated with
     X-Forwarded-For from a trusted proxy, as behind nginx).
Targets (issue 8): RSS within 50 MB of idle and /healthz p99 under 100 ms during 2 and 3.
Usage: python bench/bench_abuse.py. Not a test: read the numbers.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import pct, rss_mb, start_server  # noqa: E402

PASSWORD = "bench-password-123"


class Probe:
    """Samples the server's RSS and /healthz latency in the background."""

    def __init__(self, pid: int, base: str) -> None:
        self.pid, self.base = pid, base
        self.rss: list[float] = []
        self.health: list[float] = []
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss.append(rss_mb(self.pid))
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=30) as r:
                    r.read()
                self.health.append((time.perf_counter() - started) * 1000)
            except OSError:
                self.health.append(30_000.0)
            time.sleep(0.05)

    @contextmanager
    def running(self) -> Any:
        self.rss, self.health = [], []
        self._stop.clear()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            time.sleep(0.3)
            self._stop.set()
            thread.join()


def chunked_body(base: str, megabytes: int) -> tuple[str, int]:
    """POST /api/chat with a chunked body of ``megabytes`` MB; returns the status line and the bytes it took."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    s = socket.create_connection((host, int(port)))
    s.sendall(
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"
    sent = 0
    try:
        for _ in range(megabytes):
            s.sendall(chunk)
            sent += 0x100000
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server hung up: it stopped reading at the limit
    s.settimeout(30)
    try:
        status = s.recv(4096).split(b"\r\n")[0].decode(errors="replace")
    except OSError as exc:
        status = f"no answer ({exc})"
    s.close()
    return status, sent


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def login(base: str, password: str, username: str = "agent") -> int:
    """The console's login form, as a browser posts it; returns the status (303 = logged in)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(), _NoRedirect())
    page = opener.open(base + "/agent", timeout=60).read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrf": token.group(1) if token else ""})
    try:
        return int(opener.open(base + "/agent/login", data=data.encode(), timeout=120).status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def row(name: str, probe: Probe, idle_rss: float, extra: str) -> str:
    peak = max(probe.rss) if probe.rss else float("nan")
    return (
        f"| {name} | {peak:.0f} MB (+{peak - idle_rss:.0f}) | {probe.rss[-1]:.0f} MB | "
        f"{pct(probe.health, 50):.1f} ms | {pct(probe.health, 99):.1f} ms | {extra} |"
    )


def flood_logins(base: str, n: int = 100) -> str:
    with ThreadPoolExecutor(max_workers=n) as pool:
        codes = list(pool.map(lambda k: login(base, f"wrong-{k}"), range(n)))
    counts = {c: codes.count(c) for c in sorted(set(codes))}
    return ", ".join(f"{c}×{k}" for c, k in counts.items())


def ask(base: str, text: str, address: str, session: str | None = None) -> tuple[int, float, str | None]:
    """POST /api/chat as a client at ``address``; returns status, milliseconds and the conversation id."""
    body = json.dumps({"message": text, "session_id": session}).encode()
    headers = {"content-type": "application/json", "x-forwarded-for": address}
    request = urllib.request.Request(base + "/api/chat", data=body, method="POST", headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            reply = json.loads(r.read())
            return r.status, (time.perf_counter() - started) * 1000, reply.get("session_id")
    except urllib.error.HTTPError as exc:
        return exc.code, (time.perf_counter() - started) * 1000, session


def normal_user(base: str, seconds: float) -> list[float]:
    """One conversation, a novel question every 1.5 s (within every default limit)."""
    latencies: list[float] = []
    session = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, ms, session = ask(base, f"发票多久能开出来？第{len(latencies) + 1}次问", "198.51.100.7", session)
        assert status == 200, status
        latencies.append(ms)
        time.sleep(max(0.0, 1.5 - ms / 1000))
    return latencies


def fairness(base: str) -> list[str]:
    """The normal user's latency alone, then while one other address keeps 16 requests in flight."""
    alone = normal_user(base, 10)
    stop = threading.Event()
    codes: list[int] = []

    def attacker(n: int) -> None:
        k = 0
        while not stop.is_set():
            k += 1
            codes.append(ask(base, f"镜像能不能下载到本地 {n}-{k}", "203.0.113.9")[0])

    threads = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(16)]
    for t in threads:
        t.start()
    flooded = normal_user(base, 20)
    stop.set()
    for t in threads:
        t.join()
    counts = ", ".join(f"{c}×{codes.count(c)}" for c in sorted(set(codes)))
    return [
        f"| normal user alone (baseline) | {pct(alone, 50):.0f} ms | {pct(alone, 99):.0f} ms | — |",
        f"| normal user, another address keeps 16 in flight | {pct(flooded, 50):.0f} ms | {pct(flooded, 99):.0f} ms "
        f"| attacker: {counts} |",
    ]


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp) / "a.sqlite3", FAQBOT_AGENT_PASSWORD=PASSWORD)
        probe = Probe(proc.pid, base)
        try:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                code = login(base, PASSWORD)
                assert code == 303, code
                times.append((time.perf_counter() - started) * 1000)
            normal_login = pct(times, 50)
            with probe.running():
                time.sleep(3)
            idle = pct(probe.rss, 50)
            rows.append(row("idle (baseline)", probe, idle, "—"))
            with probe.running():
                status, sent = chunked_body(base, 200)
            rows.append(row("one 200 MB chunked body", probe, idle, f"{status}; {sent / 2**20:.1f} MB sent"))
            with probe.running(), ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda _: chunked_body(base, 100), range(4)))
            answers = "; ".join(sorted({r[0] for r in results}))
            rows.append(row("four 100 MB chunked bodies at once", probe, idle, answers))
            with probe.running():
                codes = flood_logins(base)
            rows.append(row("100 parallel wrong logins (default limits)", probe, idle, codes))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        lifted = {
            "FAQBOT_LOGIN_LIMITS_PER_ADDRESS": "100000/minute",
            "FAQBOT_LOGIN_FAILURES_PER_ACCOUNT": "100000/minute",
        }
        proc, base = start_server(Path(tmp) / "b.sqlite3", FAQBOT_AGENT_PASSWORD=PASSWORD, **lifted)
        probe = Probe(proc.pid, base)
        try:
            with probe.running():
                time.sleep(2)
            idle_b = pct(probe.rss, 50)
            with probe.running():
                codes = flood_logins(base)
            rows.append(row("100 parallel wrong logins (login limits lifted)", probe, idle_b, codes))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        proxy = {"FAQBOT_TRUSTED_PROXIES": '["127.0.0.1"]', "FAQBOT_QUERY_CACHE_SIZE": "0"}
        proc, base = start_server(Path(tmp) / "c.sqlite3", **proxy)
        try:
            fair = fairness(base)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print("| run | peak RSS (over idle) | RSS after | /healthz p50 | /healthz p99 | result |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nnormal login (right password, argon2id 19 MiB, t=2): p50 {normal_login:.0f} ms\n")
    print("| POST /api/chat, one question a second | p50 | p99 | other traffic |")
    print("|---|---|---|---|")
    print("\n".join(fair))


if __name__ == "__main__":
    main()
