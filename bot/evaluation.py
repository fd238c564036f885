"""Evaluation of replies against ``{"q", "expect"}`` lines (expect = source question or null)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import EvalFileError
from bot.reply import Reply


@dataclass
class EvalCase:
    q: str
    expect: str | None
    context: dict[str, Any] = field(default_factory=dict)
    style: str | None = None


def read_cases(path: Path) -> list[EvalCase]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            q = raw["q"]
            expect = raw.get("expect")
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}:{n}: expected a JSON object with 'q' and 'expect' ({exc})") from exc
        if not isinstance(q, str) or (expect is not None and not isinstance(expect, str)):
            raise EvalFileError(f"{path}:{n}: 'q' must be a string and 'expect' a string or null")
        cases.append(EvalCase(q=q, expect=expect, context=raw.get("context") or {}, style=raw.get("style")))
    return cases


def ranked_questions(reply: Reply) -> list[str]:
    """The bot's ranking as the user sees it: the answered entry first, then the suggestions."""
    out = [reply.faq.question] if reply.faq else []
    if reply.rule:  # a rule's reply: the entries it cites, in order
        out += [c.question for c in reply.rule.cites if c.question not in out]
    out += [s.question for s in reply.suggestions if s.question not in out]
    return out


@dataclass
class Miss:
    q: str
    expect: str | None
    got: str | None
    kind: str
    score: float


@dataclass
class EvalReport:
    n_in: int = 0
    n_oos: int = 0
    top1: int = 0
    top3: int = 0
    rr: float = 0.0
    answered_right: int = 0
    answered_wrong: int = 0
    clarified: int = 0
    false_fallback: int = 0
    oos_caught: int = 0
    fallbacks: int = 0
    fallbacks_oos: int = 0
    per_category: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    misses: list[Miss] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        def ratio(a: float, b: float) -> float:
            return round(a / b, 4) if b else 0.0

        return {
            "in_scope": self.n_in,
            "out_of_scope": self.n_oos,
            "top1": ratio(self.top1, self.n_in),
            "top3": ratio(self.top3, self.n_in),
            "mrr": ratio(self.rr, self.n_in),
            "answered_correct": ratio(self.answered_right, self.n_in),
            "answered_wrong": ratio(self.answered_wrong, self.n_in),
            "clarify_rate": ratio(self.clarified, self.n_in),
            "false_fallback_rate": ratio(self.false_fallback, self.n_in),
            "oos_recall": ratio(self.oos_caught, self.n_oos),
            "oos_precision": ratio(self.fallbacks_oos, self.fallbacks),
        }


def evaluate(cases: Iterable[EvalCase], replies: Iterable[Reply], categories: dict[str, str]) -> EvalReport:
    """``categories`` maps source question → category, for the per-category table."""
    rep = EvalReport()
    for case, reply in zip(cases, replies, strict=True):
        is_fallback = reply.kind in ("fallback", "handoff", "smalltalk")
        if reply.kind == "fallback":
            rep.fallbacks += 1
        ranked = ranked_questions(reply)
        if case.expect is None:
            rep.n_oos += 1
            if is_fallback:
                rep.oos_caught += 1
                rep.fallbacks_oos += reply.kind == "fallback"
            else:
                rep.misses.append(Miss(case.q, None, ranked[0] if ranked else None, reply.kind, reply.score))
            continue
        rep.n_in += 1
        cat = rep.per_category[categories.get(case.expect, "?")]
        cat[0] += 1
        rank = ranked.index(case.expect) + 1 if case.expect in ranked else None
        if rank == 1:
            rep.top1 += 1
            cat[1] += 1
        if rank is not None and rank <= 3:
            rep.top3 += 1
            cat[2] += 1
        if rank is not None:
            rep.rr += 1.0 / rank
        if reply.kind in ("faq", "rule"):
            if rank == 1:
                rep.answered_right += 1
            else:
                rep.answered_wrong += 1
        elif reply.kind == "clarify":
            rep.clarified += 1
        elif is_fallback:
            rep.false_fallback += 1
        if rank != 1 or reply.kind not in ("faq", "rule"):
            rep.misses.append(Miss(case.q, case.expect, ranked[0] if ranked else None, reply.kind, reply.score))
    return rep
