"""The decision layer's trade-off curve: what answering, clarifying and falling back would do at other thresholds.

For every question of the given sets the engine answers once (the real reply) and ranks once (the calibrated
scores). Replies decided before the decision layer (rules, known gaps, refusals, small talk, other platforms) keep
their outcome; for the rest the thresholds are swept offline: confidence ≥ answer → answer (right or confidently
wrong), ≥ clarify → "您是想问…" (right entry among the options or not), below → fallback. Out-of-scope questions:
rejected, clarified or answered. Usage: python bench/tradeoff.py tests/data/fresh_a/questions.jsonl [more sets …].
Not a test: read the numbers (and only on dev sets — never on a frozen holdout).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engine import MAX_OPTIONS, AnswerEngine  # noqa: E402
from bot.evaluation import EvalCase, outcome, read_cases, replay  # noqa: E402
from bot.reply import Reason, Reply  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_engine, open_storage  # noqa: E402

DECIDED = {Reason.CONFIDENT, Reason.AMBIGUOUS, Reason.LOW_CONFIDENCE}


@dataclass
class Point:
    """One question as the sweep sees it."""

    in_scope: bool
    fixed: str | None  # the outcome when the decision layer did not decide
    score: float = 0.0
    top_right: bool = False
    listed: bool = False  # the right entry is among the first options


def points(paths: list[Path]) -> list[Point]:
    settings = Settings()
    engine = build_engine(settings, open_storage(settings).orders, warm=True)
    out = []
    for path in paths:
        cases = read_cases(path)
        for case, reply in zip(cases, replay(engine.answer, cases), strict=True):
            out.append(_point(engine, case, reply))
    return out


def _point(engine: AnswerEngine, case: EvalCase, reply: Reply) -> Point:
    if reply.reason not in DECIDED or case.earlier:  # conversations: the state decides too
        return Point(case.expect is not None, outcome(case, reply))
    ranked = engine.rank(case.q.strip(), case.context.get("audience"))
    right = {case.expect, *case.also}
    questions = [c.entry.question for c in ranked[:MAX_OPTIONS]]
    return Point(
        case.expect is not None, None, ranked[0].answer_score, questions[0] in right, bool(right & set(questions))
    )


def sweep(pts: list[Point], answer: float, clarify: float) -> dict[str, float]:
    counts: dict[str, int] = {}
    for p in pts:
        if p.fixed is not None:
            result = p.fixed
        elif p.score >= answer:
            result = ("right" if p.top_right else "wrong") if p.in_scope else "answered"
        elif p.score >= clarify:
            result = ("clarify_listed" if p.listed else "clarify_missing") if p.in_scope else "clarified"
        else:
            result = "fallback" if p.in_scope else "rejected"
        key = result if not result.startswith("clarify_") else "clarify"
        counts[key] = counts.get(key, 0) + 1
    n_in = sum(p.in_scope for p in pts)
    n_oos = len(pts) - n_in
    return {
        "right": counts.get("right", 0) / n_in,
        "wrong": counts.get("wrong", 0) / n_in,
        "clarify": counts.get("clarify", 0) / n_in,
        "fallback": counts.get("fallback", 0) / n_in,
        "oos_rejected": counts.get("rejected", 0) / n_oos if n_oos else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", type=Path)
    args = parser.parse_args()
    pts = points(args.sets)
    s = Settings()
    n_in = sum(p.in_scope for p in pts)
    fixed = sum(p.fixed is not None for p in pts)
    print(f"{n_in} in-scope and {len(pts) - n_in} out-of-scope questions from {len(args.sets)} set(s); "
          f"{fixed} decided before the thresholds (rules, gaps, refusals, …)")  # fmt: skip
    print(f"current: answer ≥ {s.answer_threshold}, clarify ≥ {s.clarify_threshold}")
    header = f"{'answer':>7} {'clarify':>7}  {'right':>6} {'wrong':>6} {'clarify':>7} {'fallbk':>6}  {'OOS rej':>7}"
    for title, grid in (
        ("answer threshold (clarify fixed)", [(a / 100, s.clarify_threshold) for a in range(20, 85, 5)]),
        ("clarify threshold (answer fixed)", [(s.answer_threshold, c / 100) for c in range(5, 45, 5)]),
    ):
        print(f"\n{title}\n{header}")
        for answer, clarify in grid:
            if clarify > answer:
                continue
            m = sweep(pts, answer, clarify)
            print(f"{answer:7.2f} {clarify:7.2f}  {m['right']:6.1%} {m['wrong']:6.1%} {m['clarify']:7.1%} "
                  f"{m['fallback']:6.1%}  {m['oos_rejected']:7.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
