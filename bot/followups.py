"""Does an elliptical turn stay on the entry just answered? A small learned model over the two readings.

A follow-up such as "如果他要的是纸质票呢" after "买家开票信息填错了，服务商怎么联系他" names a word another entry owns
(发票是纸质版还是电子版？): read alone, retrieval is sure of that other entry. The writer meant a sub-case of the
entry just answered, whose answer covers paper invoices. "整个店都不想干了呢" after "商品不想卖了怎么办", on the
other hand, moves on to leaving the marketplace. Which of the two a turn does is not a phrase list: it is a
logistic regression over how each reading scores, how much of the turn the last answer's own words cover, and
the marks of an elliptical turn (a closing 呢, an opening 那/如果, a pronoun).

The model is fitted by ``faqbot followups fit`` on conversations written by people who saw only the FAQ source
(each conversation: earlier turns replayed through the engine, the last turn's reading labelled "stay" when its
expected entry is the one just answered), and kept in ``knowledge/followups.json`` with how it was fitted and
its cross-validated accuracy (leave one writer out). It applies where it was fitted: a turn of at most
``MAX_CHARS`` characters of words, after an answered entry, when the turn alone points to another entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.errors import KnowledgeError
from bot.evaluation import EvalCase
from bot.knowledge import FaqEntry, KnowledgeBase
from bot.normalize import Normalizer, word_chars
from bot.reply import Reply, Session
from bot.retriever import Candidate

# A turn this short (characters of words) may lean on the question answered before it.
MAX_CHARS = 16
FEATURES = (
    "alone_top",  # the turn alone: confidence in its best entry
    "alone_last",  # the turn alone: confidence in the entry just answered
    "joint_last",  # read with the previous question: confidence in the entry just answered
    "joint_top",  # read with the previous question: confidence in its best entry
    "joint_top_is_last",
    "ends_ne",  # "…的呢"
    "opens_on",  # "那…", "如果…", "要是…"
    "pronoun",  # "他", "这个", "那种"
    "length",  # characters of words / (2 × MAX_CHARS), at most 1
    "last_covers",  # share of the turn's character pairs found in the last entry's question and answer
    "top_covers",  # the same for the turn's own best entry
    "same_category",  # the two entries are of one category
    "last_rank",  # where the turn alone ranks the entry just answered (0 = first; 1 = 20th or lower)
)
_ENDS_NE = re.compile(r"[呢嘞]\W*$")
_OPENS_ON = re.compile(r"^(那|如果|要是|假如|若|万一|还有|另外)")
_PRONOUN = re.compile(r"[他她它]|这个|那个|这种|那种|这笔|那笔|这样|那样|该")
# pairs of function characters that say nothing about a topic ("那如果…的话呢")
_FUNCTION_WORDS = ("那如果的话呢", "吗吧啊", "这个那个", "怎么什么哪里多少", "可以能不能", "是不是", "一下还有", "要是")
_FUNCTION_PAIRS = frozenset(t[i : i + 2] for t in (*_FUNCTION_WORDS, "这种那种", "他们") for i in range(len(t) - 1))
_RANK_DEPTH = 20


def _pairs(text: str) -> set[str]:
    t = word_chars(text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _covers(turn_pairs: set[str], text: str) -> float:
    return len(turn_pairs & _pairs(text)) / len(turn_pairs) if turn_pairs else 0.0


def features(turn: str, last: FaqEntry, alone: Sequence[Candidate], joint: Sequence[Candidate]) -> list[float]:
    """The model's inputs for ``turn`` (normalised: simplified, lower case) after ``last`` was answered; ``alone``
    and ``joint`` rank all entries for the turn and for the previous question followed by the turn."""
    a = {c.entry.id: c.answer_score for c in alone}
    j = {c.entry.id: c.answer_score for c in joint}
    top = alone[0].entry
    order = [c.entry.id for c in alone[:_RANK_DEPTH]]
    key = word_chars(turn)
    pairs = _pairs(key) - _FUNCTION_PAIRS
    return [
        alone[0].answer_score,
        a.get(last.id, 0.0),
        j.get(last.id, 0.0),
        joint[0].answer_score,
        float(joint[0].entry.id == last.id),
        float(bool(_ENDS_NE.search(turn))),
        float(bool(_OPENS_ON.match(key))),
        float(bool(_PRONOUN.search(turn))),
        min(len(key), MAX_CHARS * 2) / (MAX_CHARS * 2),
        _covers(pairs, last.question + last.answer),
        _covers(pairs, top.question + top.answer),
        float(top.category == last.category),
        (order.index(last.id) if last.id in order else _RANK_DEPTH) / _RANK_DEPTH,
    ]


def applies(turn: str, last: FaqEntry, alone: Sequence[Candidate]) -> bool:
    """Where the model was fitted: a short turn after ``last`` was answered that, alone, ranks another entry first."""
    return len(word_chars(turn)) <= MAX_CHARS and alone[0].entry.id != last.id


@dataclass(frozen=True)
class FollowupModel:
    """P(the turn stays on the entry just answered) = logistic(coef · features + intercept)."""

    coef: tuple[float, ...]
    intercept: float
    about: Mapping[str, Any]  # how it was fitted: sets, counts, cross-validated accuracy

    def stay(self, turn: str, last: FaqEntry, alone: Sequence[Candidate], joint: Sequence[Candidate]) -> float:
        x = np.asarray(features(turn, last, alone, joint))
        return float(1.0 / (1.0 + np.exp(-(x @ np.asarray(self.coef) + self.intercept))))

    def to_json(self) -> str:
        coef, intercept = [round(c, 6) for c in self.coef], round(self.intercept, 6)
        data = {"features": list(FEATURES), "coef": coef, "intercept": intercept, "about": dict(self.about)}
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> FollowupModel | None:
        """The model in ``path``; None when there is no file (follow-ups are then read as before: alone or joint)."""
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            names, coef, intercept = data["features"], data["coef"], data["intercept"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KnowledgeError(f"{path}: not a follow-up model ({exc})") from exc
        if list(names) != list(FEATURES) or len(coef) != len(FEATURES):
            why = "fitted on other features than this code computes; refit it (faqbot followups fit)"
            raise KnowledgeError(f"{path}: {why}")
        return cls(tuple(float(c) for c in coef), float(intercept), data.get("about") or {})


def fit(x: np.ndarray, y: np.ndarray, groups: np.ndarray, about: Mapping[str, Any]) -> FollowupModel:
    """Fit on all examples; ``about`` gains the leave-one-group-out accuracy of the stay/move decision at 0.5 and
    the share a "never stay" rule gets right, both on these examples."""
    from sklearn.linear_model import LogisticRegression

    held_out = np.zeros(len(y))
    for g in sorted(set(groups)):
        out = groups == g
        if len(set(y[~out])) < 2:
            held_out[out] = float(y[~out].mean())
            continue
        held_out[out] = LogisticRegression(max_iter=1000).fit(x[~out], y[~out]).predict_proba(x[out])[:, 1]
    model = LogisticRegression(max_iter=1000).fit(x, y)
    cv = {
        "examples": len(y),
        "stay_examples": int(y.sum()),
        "groups": len(set(groups)),
        "held_out_accuracy": round(float(((held_out >= 0.5) == (y == 1)).mean()), 4),
        "never_stay_accuracy": round(float((y == 0).mean()), 4),
    }
    return FollowupModel(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), {**about, **cv})


class _Engine(Protocol):
    """What collecting examples needs of the answer engine."""

    kb: KnowledgeBase
    normalizer: Normalizer
    followup_model: FollowupModel | None

    def answer(self, message: Any, context: Any = None, session: Session | None = None) -> Reply: ...

    def rank(self, message: str, audience: str | None = None) -> list[Candidate]: ...


def collect(engine: _Engine, cases: Sequence[EvalCase]) -> tuple[list[list[float]], list[int]]:
    """Features and stay labels for the conversations in ``cases`` where the model applies: the earlier turns
    are played through ``engine`` (without a follow-up model), then the last turn is read alone and together
    with the question last answered. Label 1: an entry the case expects is the one just answered."""
    x: list[list[float]] = []
    y: list[int] = []
    model, engine.followup_model = engine.followup_model, None
    try:
        for case in cases:
            if not case.earlier:
                continue
            session = Session()
            for turn in case.earlier:
                engine.answer(turn, case.context, session)
            last = engine.kb.by_id.get(session.last_faq or "")
            if session.topic_text is None or last is None:
                continue
            audience = (case.context or {}).get("audience")
            alone = engine.rank(case.q, audience)
            if not applies(case.q, last, alone):
                continue
            joint = engine.rank(session.topic_text + "，" + case.q, audience)
            x.append(features(engine.normalizer.text(case.q), last, alone, joint))
            y.append(int(last.question in {case.expect, *case.also}))
    finally:
        engine.followup_model = model
    return x, y
