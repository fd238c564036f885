"""Evaluation of replies against ``{"q", "expect"}`` lines (expect = source question or null).

Lines may also carry ``style`` (how the question is phrased: colloquial, typo_ime, rambling, …), ``oos_kind`` for an
out-of-scope line (near_miss, injection, …), ``fact`` (a few words of the expected answer that the reply must
contain: a buried fact) — or be a conversation, ``{"turns": [...], "expect": [...]}``, scored on its last turn after
the earlier ones were played in the same session. Every case gets one outcome: for a question the FAQ answers,
``right`` (answered with the expected entry), ``wrong`` (answered with another: confidently wrong),
``clarify_first`` / ``clarify_listed`` / ``clarify_missing`` (asked "您是想问…" with the expected entry first, listed
lower, or not listed) or ``fallback``; for one it does not, ``rejected``, ``clarified`` or ``answered``."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import EvalFileError
from bot.reply import Reply, Session


@dataclass
class EvalCase:
    q: str
    expect: str | None
    context: dict[str, Any] = field(default_factory=dict)
    style: str | None = None
    oos_kind: str | None = None
    fact: str | None = None
    earlier: list[str] = field(default_factory=list)  # a conversation's turns before ``q``
    also: list[str] = field(default_factory=list)  # other source questions that answer it as well (``alt_expect``)


def _case(raw: Any, where: str) -> EvalCase:
    if not isinstance(raw, dict):
        raise EvalFileError(f"{where}: expected a JSON object")
    context = raw.get("context") or {}
    turns = raw.get("turns")
    if turns is not None:  # a conversation: scored on its last turn
        expects = raw.get("expect")
        if not (isinstance(turns, list) and turns and all(isinstance(t, str) for t in turns)):
            raise EvalFileError(f"{where}: 'turns' must be a non-empty list of strings")
        if not (isinstance(expects, list) and len(expects) == len(turns)):
            raise EvalFileError(f"{where}: 'expect' must list one source question (or null) per turn")
        q, expect, earlier = turns[-1], expects[-1], turns[:-1]
    else:
        if "q" not in raw:
            raise EvalFileError(f"{where}: expected a JSON object with 'q' and 'expect'")
        q, expect, earlier = raw["q"], raw.get("expect"), []
    if not isinstance(q, str) or (expect is not None and not isinstance(expect, str)):
        raise EvalFileError(f"{where}: 'q' must be a string and 'expect' a string or null")
    text = {k: raw.get(k) for k in ("style", "oos_kind", "fact")}
    if any(v is not None and not isinstance(v, str) for v in text.values()) or not isinstance(context, dict):
        raise EvalFileError(f"{where}: 'style', 'oos_kind' and 'fact' must be strings, 'context' an object")
    also = raw.get("alt_expect") or raw.get("also") or []  # two writers, two names for the same list
    if turns is not None and isinstance(also, list) and also and all(isinstance(a, list) for a in also):
        if len(also) != len(turns):
            raise EvalFileError(f"{where}: a conversation's 'also' lists one list of source questions per turn")
        also = also[-1]  # one list per turn: the last turn's is scored
    if not (isinstance(also, list) and all(isinstance(a, str) for a in also)) or (also and expect is None):
        raise EvalFileError(f"{where}: 'alt_expect' (or 'also') must be a list of source questions, beside an 'expect'")
    return EvalCase(q, expect, context, text["style"], text["oos_kind"], text["fact"], earlier, also)


def read_cases(path: Path) -> list[EvalCase]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise EvalFileError(f"{path}:{n}: expected a JSON object with 'q' and 'expect' ({exc})") from exc
        cases.append(_case(raw, f"{path}:{n}"))
    return cases


Answer = Callable[[str, dict[str, Any], Session], Reply]


def replay(answer: Answer, cases: Iterable[EvalCase]) -> list[Reply]:
    """Each case's reply: a conversation's earlier turns are played first, in the same session."""
    replies = []
    for case in cases:
        session = Session()
        for turn in case.earlier:
            answer(turn, case.context, session)
        replies.append(answer(case.q, case.context, session))
    return replies


_MARKUP = re.compile(r"[\s*_`>#|\\]+")


def _plain(text: str) -> str:
    return _MARKUP.sub("", unicodedata.normalize("NFKC", text))


def contains_fact(reply: Reply, fact: str) -> bool:
    """The fact appears in the reply's text, formatting (Markdown, spaces, full/half width) aside."""
    return _plain(fact) in _plain(reply.text)


FALLBACK_KINDS = ("fallback", "handoff", "smalltalk")


def outcome(case: EvalCase, reply: Reply) -> str:
    ranked = ranked_questions(reply)
    if case.expect is None:
        if reply.kind in FALLBACK_KINDS:
            return "rejected"
        return "clarified" if reply.kind == "clarify" else "answered"
    rank = _rank(case, ranked)
    if reply.kind in ("faq", "rule"):
        return "right" if rank == 1 else "wrong"
    if reply.kind == "clarify":
        return "clarify_first" if rank == 1 else "clarify_listed" if rank else "clarify_missing"
    return "fallback"


def _rank(case: EvalCase, ranked: list[str]) -> int | None:
    """Where the first entry that answers the case stands in the bot's ranking (1 = first), or None."""
    right = {case.expect, *case.also}
    return next((i for i, q in enumerate(ranked, 1) if q in right), None)


IN_SCOPE_OUTCOMES = ("right", "wrong", "clarify_first", "clarify_listed", "clarify_missing", "fallback")
OOS_OUTCOMES = ("rejected", "clarified", "answered")


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
    by_style: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    oos_by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    facts: Counter[str] = field(default_factory=Counter)  # asked, contained
    followups: Counter[str] = field(default_factory=Counter)  # the last turns' outcomes

    def breakdown(self) -> dict[str, Any]:
        """Outcome counts per style, per out-of-scope kind, buried facts and follow-ups."""
        return {
            "by_style": {k: dict(v) for k, v in sorted(self.by_style.items())},
            "oos_by_kind": {k: dict(v) for k, v in sorted(self.oos_by_kind.items())},
            "facts": dict(self.facts),
            "followups": dict(self.followups),
        }

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
        result = outcome(case, reply)
        if case.expect is None:
            rep.oos_by_kind[case.oos_kind or "-"][result] += 1
        else:
            rep.by_style[case.style or "-"][result] += 1
        if case.fact is not None:
            rep.facts["asked"] += 1
            rep.facts["contained"] += contains_fact(reply, case.fact)
        if case.earlier:
            rep.followups[result] += 1
        is_fallback = reply.kind in FALLBACK_KINDS
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
        rank = _rank(case, ranked)
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
