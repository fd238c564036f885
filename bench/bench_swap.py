"""A knowledge change swapped in under load: do turns keep working, and what does the job cost them?

Starts `faqbot serve` in a subprocess on a fresh database and a fresh live folder (the index from FAQBOT_INDEX_DIR,
so the new version is built from its embedding cache). POST clients (a few turns per conversation, then a new one)
and long-lived WebSocket clients ask dev-set questions with random think time, through three phases:

* baseline — the load alone;
* job — an admin posts a change (one new phrasing as an alternate of an entry); the job runs
  prepare → index → load → guard → swap in the server while the load goes on (its steps followed every 0.1 s);
* after — the new version serves.

Per phase, each beside the baseline of the same run: turns and turn errors (non-200, an error frame, an exception,
a socket closed under a client), p50/p99/max latency for POST and WebSocket, throughput, the server's RSS; the job's
steps with their durations; and whether the new phrasing answers its entry afterwards (a probe asks it every 0.5 s,
so the first turn the new version answered is timed against the swap).

No query-embedding cache by default (every turn encodes, as a novel question does, so the phases compare);
`--query-cache` serves with the default cache. The per-address limits are raised for the run (every client is
127.0.0.1); the server runs with OMP_NUM_THREADS=1 and FAQBOT_ENCODER_THREADS=1 unless set in the environment.
Exits 1 if any turn errored, the job did not end in "done", or the phrasing does not answer its entry after it.
Usage: python bench/bench_swap.py [--post-clients 4] [--ws-clients 4] [--think 0.5] [--baseline 20] [--tail 15]
[--json FILE]. Not a test: read the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import pct, rss_mb, start_server  # noqa: E402
from bot.evaluation import read_cases  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_engine  # noqa: E402

QUESTIONS = [c.q for c in read_cases(ROOT / "tests" / "data" / "dev_queries.jsonl")]
CONTEXT = {"today": "2026-11-30"}
ENTRY = "view-orders"  # 下单后如何查看我的订单？
PHRASING = "青鸟九号在哪里查"  # a team's code word for "my orders": nothing in the FAQ says it
ADMIN_PASSWORD = "bench-admin-password"
TURNS_PER_CONVERSATION = 5  # a POST client starts a new conversation after this many turns
REPLY_TIMEOUT = 30.0
STEPS = ("prepare", "index", "load", "guard", "swap")


@dataclass
class Turn:
    channel: str  # "post" | "ws"
    sent: float  # wall clock (time.time), comparable with the job's own timestamps
    ms: float
    error: str | None = None


@dataclass
class Run:
    turns: list[Turn] = field(default_factory=list)
    rss: list[tuple[float, float, float]] = field(default_factory=list)  # (wall clock, MB, CPU seconds used)
    probes: list[tuple[float, str | None]] = field(default_factory=list)  # (sent, faq id answered)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Timeline:
    posted: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)  # step → when the poll first saw it
    job: dict[str, Any] = field(default_factory=dict)  # the job as the server last reported it
    gave_up: float | None = None  # when the bench stopped waiting for a job still running


async def think(run: Run, rng: random.Random, mean: float) -> None:
    """Random think time (exponential), cut short when the run stops."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.stop.wait(), timeout=rng.expovariate(1 / mean) if mean else 0)


def error_of(response: httpx.Response) -> str:
    try:
        code = response.json().get("code", "")
    except ValueError:
        code = ""
    return f"http {response.status_code} {code}".strip()


async def post_client(base: str, run: Run, rng: random.Random, mean_think: float) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=REPLY_TIMEOUT) as client:
        session_id: str | None = None
        n = 0
        while not run.stop.is_set():
            if n % TURNS_PER_CONVERSATION == 0:
                session_id = None
            n += 1
            body = {"message": rng.choice(QUESTIONS), "session_id": session_id, "context": CONTEXT}
            sent, t0 = time.time(), time.perf_counter()
            error = None
            try:
                r = await client.post("/api/chat", json=body)
                if r.status_code == 200 and "kind" in r.json():
                    session_id = r.json()["session_id"]
                else:
                    error = error_of(r)
            except Exception as exc:  # a failed request is a failed turn
                error = type(exc).__name__
            run.turns.append(Turn("post", sent, (time.perf_counter() - t0) * 1000, error))
            await think(run, rng, mean_think)


async def ws_client(url: str, run: Run, rng: random.Random, mean_think: float) -> None:
    """One long-lived widget socket; a socket that closes under it is an error, and it connects again."""
    while not run.stop.is_set():
        sent, t0 = time.time(), time.perf_counter()
        try:
            async with connect(url, max_size=2**22, open_timeout=REPLY_TIMEOUT) as ws:
                json.loads(await asyncio.wait_for(ws.recv(), timeout=REPLY_TIMEOUT))  # the session frame
                while not run.stop.is_set():
                    sent, t0 = time.time(), time.perf_counter()
                    frame = {"type": "message", "text": rng.choice(QUESTIONS), "context": CONTEXT}
                    await ws.send(json.dumps(frame, ensure_ascii=False))
                    error = None
                    while True:
                        got = json.loads(await asyncio.wait_for(ws.recv(), timeout=REPLY_TIMEOUT))
                        if got["type"] == "reply":
                            break
                        if got["type"] == "error":
                            error = f"error frame {got.get('code')}"
                            break
                    run.turns.append(Turn("ws", sent, (time.perf_counter() - t0) * 1000, error))
                    await think(run, rng, mean_think)
        except Exception as exc:  # closed under the client, a timeout, a refused connection: a failed turn
            run.turns.append(Turn("ws", sent, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}"))
            await asyncio.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sample_server(pid: int, run: Run) -> None:
    while not run.stop.is_set():
        run.rss.append((time.time(), rss_mb(pid), cpu_seconds(pid)))
        await asyncio.sleep(0.25)


async def ask(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    r = await client.post("/api/chat", json={"message": text, "session_id": None, "context": CONTEXT})
    r.raise_for_status()
    reply: dict[str, Any] = r.json()
    return reply


def faq_id(reply: dict[str, Any]) -> str | None:
    return (reply.get("faq") or {}).get("id") if reply.get("kind") == "faq" else None


async def probe(base: str, run: Run, every: float) -> None:
    """Asks the new phrasing in a new conversation every ``every`` s: when does the new version answer it?"""
    async with httpx.AsyncClient(base_url=base, timeout=REPLY_TIMEOUT) as client:
        while not run.stop.is_set():
            sent, t0 = time.time(), time.perf_counter()
            try:
                run.probes.append((sent, faq_id(await ask(client, PHRASING))))
            except Exception as exc:  # counted with the turns: a failed probe is a failed turn
                run.turns.append(Turn("post", sent, (time.perf_counter() - t0) * 1000, f"probe {exc!r}"))
            await asyncio.sleep(every)


async def admin_client(base: str) -> httpx.AsyncClient:
    """Signed in as admin through the console's form, with the CSRF header the admin API wants."""
    client = httpx.AsyncClient(base_url=base, timeout=120)
    page = (await client.get("/agent")).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    form = {"username": "admin", "password": ADMIN_PASSWORD, "csrf": token.group(1) if token else ""}
    r = await client.post("/agent/login", data=form)
    if r.status_code != 303:
        raise SystemExit(f"admin login failed: {r.status_code} {r.text[:200]}")
    meta = re.search(r'name="csrf-token" content="([^"]+)"', (await client.get("/agent")).text)
    if not meta:
        raise SystemExit("no CSRF token on the console page")
    client.headers["x-csrf-token"] = meta.group(1)
    return client


async def change_and_follow(admin: httpx.AsyncClient, timeline: Timeline, limit: float) -> None:
    change = {"kind": "add_alternates", "entry_id": ENTRY, "texts": [PHRASING]}
    timeline.posted = time.time()
    r = await admin.post("/api/admin/knowledge/changes", json={"change": change, "reason": "bench_swap"})
    if r.status_code != 202:
        timeline.job = {"state": f"not started: {r.status_code} {r.text[:200]}"}
        return
    timeline.job = r.json()
    deadline = time.monotonic() + limit
    while timeline.job.get("state") == "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        job = (await admin.get("/api/admin/knowledge/job")).json()
        if job["state"] == "running":
            timeline.seen.setdefault(job["step"], time.time())
        timeline.job = job
    if timeline.job.get("state") == "running":
        timeline.job["state"] = f"still running after {limit:.0f} s"
        timeline.job["finished"] = None  # the phases end where the bench gave up
        timeline.gave_up = time.time()


async def scenario(base: str, pid: int, args: argparse.Namespace) -> tuple[Run, Timeline, dict[str, Any]]:
    run, timeline = Run(), Timeline()
    checks: dict[str, Any] = {}
    rng = random.Random(args.seed)
    ws_url = base.replace("http", "ws", 1) + "/ws/chat"
    admin = await admin_client(base)
    checks["before"] = faq_id(await ask(admin, PHRASING)) or "not answered"
    load = [asyncio.create_task(sample_server(pid, run))]
    load += [asyncio.create_task(post_client(base, run, random.Random(rng.random()), args.think))
             for _ in range(args.post_clients)]  # fmt: skip
    load += [asyncio.create_task(ws_client(ws_url, run, random.Random(rng.random()), args.think))
             for _ in range(args.ws_clients)]  # fmt: skip
    load.append(asyncio.create_task(probe(base, run, 0.5)))
    started = time.time()
    checks["loadavg_start"] = os.getloadavg()
    await asyncio.sleep(args.warm_up + args.baseline)
    await change_and_follow(admin, timeline, args.job_limit)
    await asyncio.sleep(args.tail)
    checks["loadavg_end"] = os.getloadavg()
    run.stop.set()
    await asyncio.gather(*load)
    checks["after_post"] = faq_id(await ask(admin, PHRASING)) or "not answered"
    async with connect(ws_url) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "message", "text": PHRASING, "context": CONTEXT}, ensure_ascii=False))
        while (got := json.loads(await ws.recv()))["type"] != "reply":
            pass
        checks["after_ws"] = faq_id(got["reply"]) or "not answered"
    await admin.aclose()
    checks["load_started"] = started
    return run, timeline, checks


@dataclass
class Phase:
    name: str
    start: float
    end: float

    def turns(self, run: Run, channel: str | None = None) -> list[Turn]:
        return [t for t in run.turns if self.start <= t.sent < self.end and channel in (None, t.channel)]

    def summary(self, run: Run) -> dict[str, Any]:
        out: dict[str, Any] = {"seconds": round(self.end - self.start, 2)}
        for channel in ("post", "ws"):
            turns = self.turns(run, channel)
            ok = [t.ms for t in turns if t.error is None]
            out[channel] = {
                "turns": len(turns), "errors": sum(t.error is not None for t in turns),
                "p50_ms": round(pct(ok, 50), 1), "p99_ms": round(pct(ok, 99), 1),
                "max_ms": round(max(ok), 1) if ok else None,
            }  # fmt: skip
        every = self.turns(run)
        out["turns_per_s"] = round(len(every) / (self.end - self.start), 1) if self.end > self.start else None
        inside = [(at, mb, cpu) for at, mb, cpu in run.rss if self.start <= at < self.end]
        out["rss_peak_mb"] = round(max(mb for _, mb, _ in inside)) if inside else None
        span = inside[-1][0] - inside[0][0] if len(inside) > 1 else 0
        out["server_cpu_pct"] = round(100 * (inside[-1][2] - inside[0][2]) / span) if span else None
        return out


def phases(run: Run, timeline: Timeline, checks: dict[str, Any], args: argparse.Namespace) -> list[Phase]:
    job = timeline.job
    begin = checks["load_started"] + args.warm_up
    finished = job.get("finished") or timeline.gave_up or timeline.posted
    stop = max(t.sent for t in run.turns) + 1e-3 if run.turns else finished
    out = [Phase("baseline", begin, timeline.posted)]
    # each step from when it began (the job's own start for the first, then as the 0.1 s poll saw it)
    starts = [(step, timeline.seen[step]) for step in STEPS if step in timeline.seen]
    if starts and starts[0][0] == "prepare":
        starts[0] = ("prepare", job.get("started") or timeline.posted)
    for k, (step, at) in enumerate(starts):
        out.append(Phase(f"  job: {step}", at, starts[k + 1][1] if k + 1 < len(starts) else finished))
    out.append(Phase("job (posted → done)", timeline.posted, finished))
    out.append(Phase("after", finished, stop))
    return out


def in_flight_across_swap(run: Run, finished: float) -> list[Turn]:
    return [t for t in run.turns if t.sent <= finished <= t.sent + t.ms / 1000]


def report(run: Run, timeline: Timeline, checks: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    job = timeline.job
    rows = {p.name: p.summary(run) for p in phases(run, timeline, checks, args)}
    print(f"swap under load: {args.post_clients} POST + {args.ws_clients} WebSocket clients, think ~{args.think} s, "
          f"dev-set questions, query cache {'on' if args.query_cache else 'off'}, loopback")  # fmt: skip
    start, end = (" ".join(f"{x:.1f}" for x in checks[k]) for k in ("loadavg_start", "loadavg_end"))
    print(f"  machine: {os.cpu_count()} cores, load average {start} at the start, {end} at the end "
          f"(other processes share it: compare phases within a run)")  # fmt: skip
    print(f"  limits raised for the run (all clients are 127.0.0.1): messages per minute per conversation and per "
          f"address, conversations per minute, turns in flight per address; server OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', '1')}, FAQBOT_ENCODER_THREADS="
          f"{os.environ.get('FAQBOT_ENCODER_THREADS', '1')}")  # fmt: skip
    head = (f"  {'phase':<22}{'secs':>6} | {'POST turns':>10}{'err':>4}{'p50':>7}{'p99':>7}{'max':>7} | "
            f"{'WS turns':>8}{'err':>4}{'p50':>7}{'p99':>7}{'max':>7} | {'turns/s':>7} | {'CPU%':>4} | "
            f"{'RSS peak':>8}")  # fmt: skip
    print(head)
    print("  " + "-" * (len(head) - 2))
    for name, r in rows.items():
        cells = []
        for ch in ("post", "ws"):
            c = r[ch]
            width = 10 if ch == "post" else 8
            cells.append(f"{c['turns']:>{width}}{c['errors']:>4}{c['p50_ms']:>7.1f}{c['p99_ms']:>7.1f}"
                         f"{c['max_ms'] if c['max_ms'] is not None else float('nan'):>7.1f}")  # fmt: skip
        rate = f"{r['turns_per_s']:>7.1f}" if r["turns_per_s"] is not None else f"{'':>7}"
        peak = f"{r['rss_peak_mb']:>5} MB" if r["rss_peak_mb"] is not None else f"{'':>8}"
        cpu = f"{r['server_cpu_pct']:>4}" if r["server_cpu_pct"] is not None else f"{'':>4}"
        print(f"  {name:<22}{r['seconds']:>6.1f} | {cells[0]} | {cells[1]} | {rate} | {cpu} | {peak}")
    print("  (latencies in ms over the turns without error; a turn belongs to the phase in which it was sent; CPU% is "
          "the server process's, 200 = both cores)")  # fmt: skip

    finished = job.get("finished") or timeline.gave_up or timeline.posted
    steps = [(s, timeline.seen.get(s)) for s in STEPS]
    if job.get("started"):
        steps[0] = ("prepare", job["started"])
    shown = [(s, at) for s, at in steps if at is not None]
    durations = {s: round((shown[k + 1][1] if k + 1 < len(shown) else finished) - at, 2) for k, (s, at) in
                 enumerate(shown)}  # fmt: skip
    unseen = [s for s, at in steps if at is None]
    why = "shorter than the 0.1 s poll, inside the step before" if job.get("state") == "done" else "not seen"
    note = f" ({', '.join(unseen)}: {why})" if unseen else ""
    print(f"\n  job: {job.get('state')} in {finished - timeline.posted:.1f} s after the POST; steps "
          + ", ".join(f"{s} {d:.2f} s" for s, d in durations.items()) + note)  # fmt: skip
    print(f"       golden questions replayed {job.get('golden')}, worse {job.get('regression_count')}, "
          f"entries {job.get('entries')}, error {job.get('error')}")  # fmt: skip
    crossing = in_flight_across_swap(run, finished) if job.get("state") == "done" else []
    print(f"  turns in flight at the swap: {len(crossing)}, errors {sum(t.error is not None for t in crossing)}, "
          f"slowest {max((t.ms for t in crossing), default=float('nan')):.1f} ms")  # fmt: skip

    rss = [mb for _, mb, _ in run.rss]
    before = [mb for at, mb, _ in run.rss if at < timeline.posted]
    print(f"  server RSS: before {before[-1] if before else float('nan'):.0f} MB, peak {max(rss):.0f} MB, "
          f"after {rss[-1]:.0f} MB")  # fmt: skip

    flipped = next((at for at, got in run.probes if at >= timeline.posted and got == ENTRY), None)
    preview = [(c.get("before"), c.get("after")) for c in job.get("preview", [])]
    print(f"  new phrasing {PHRASING!r} → {ENTRY}: before the change {checks['before']}; guard preview {preview}; "
          f"after: POST {checks['after_post']}, WebSocket {checks['after_ws']}")  # fmt: skip
    if flipped is not None:
        print(f"  first probe answered by the new version was sent {flipped - finished:+.2f} s from the job's end "
              f"(probe every 0.5 s)")  # fmt: skip
    errors = [t for t in run.turns if t.error is not None]
    if errors:
        kinds: dict[str, int] = {}
        for t in errors:
            kinds[t.error or ""] = kinds.get(t.error or "", 0) + 1
        print(f"  turn errors: {kinds}")
    return {
        "settings": {k: v for k, v in vars(args).items() if k != "json"}, "phases": rows,
        "job": {k: job.get(k) for k in ("state", "step", "golden", "regression_count", "entries", "error")},
        "job_seconds": round(finished - timeline.posted, 2), "step_seconds": durations,
        "swap_in_flight": [asdict(t) for t in crossing],
        "rss_mb": {"before": before[-1] if before else None, "peak": max(rss), "after": rss[-1]},
        "phrasing": {"text": PHRASING, "entry": ENTRY, **{k: checks[k] for k in ("before", "after_post", "after_ws")},
                     "first_new_answer_after_swap_s": None if flipped is None else round(flipped - finished, 2)},
        "errors": [asdict(t) for t in errors],
        "loadavg": {"start": checks["loadavg_start"], "end": checks["loadavg_end"]},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--post-clients", type=int, default=4)
    parser.add_argument("--ws-clients", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.5, help="mean think time between a client's turns (s)")
    parser.add_argument("--warm-up", type=float, default=3, help="seconds of load before the baseline counts")
    parser.add_argument("--baseline", type=float, default=20)
    parser.add_argument("--tail", type=float, default=15, help="seconds of load after the job ends")
    parser.add_argument("--job-limit", type=float, default=1800, help="give up on the job after this long (s)")
    parser.add_argument("--query-cache", action="store_true", help="serve with the default query cache")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    build_engine(Settings())  # the index must exist before the server starts (it is built from cache here)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "FAQBOT_LIVE_DIR": str(Path(tmp) / "live"),
            "FAQBOT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            "FAQBOT_ENCODER_THREADS": os.environ.get("FAQBOT_ENCODER_THREADS", "1"),
            # every client is 127.0.0.1: the per-address and per-conversation limits are raised for the run
            "FAQBOT_MESSAGES_PER_MINUTE": "100000",
            "FAQBOT_MESSAGES_PER_MINUTE_PER_ADDRESS": "10000000",
            "FAQBOT_CONVERSATIONS_PER_MINUTE_PER_ADDRESS": "100000",
            "FAQBOT_TURNS_IN_FLIGHT_PER_ADDRESS": "100000",
            "FAQBOT_CONNECTIONS_PER_IP": str(args.ws_clients + 20),
        }
        if not args.query_cache:
            env["FAQBOT_QUERY_CACHE_SIZE"] = "0"
        proc, base = start_server(Path(tmp) / "swap.sqlite3", **env)
        try:
            run, timeline, checks = asyncio.run(scenario(base, proc.pid, args))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    out = report(run, timeline, checks, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    failed = []
    if out["errors"]:
        failed.append(f"{len(out['errors'])} turn errors")
    if out["job"]["state"] != "done":
        failed.append(f"the job ended {out['job']['state']!r}, not 'done'")
    if not checks["after_post"] == checks["after_ws"] == ENTRY:
        failed.append(f"the new phrasing does not answer {ENTRY} after the swap")
    if failed:
        print("FAILED: " + "; ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
