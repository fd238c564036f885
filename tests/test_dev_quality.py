"""Answer quality on the held-out development set (real encoder, real index).

The floors sit just below what the current build measures (see the README), so a
change that makes retrieval worse fails here.
"""

from __future__ import annotations

import pytest

from bot.engine import AnswerEngine
from bot.evaluation import evaluate, read_cases
from tests.conftest import DEV_SET

pytestmark = pytest.mark.slow


def test_dev_set_is_large_and_independent_of_the_alternates(engine: AnswerEngine) -> None:
    cases = read_cases(DEV_SET)
    in_scope = [c for c in cases if c.expect is not None]
    assert len(in_scope) >= 200 and len(cases) - len(in_scope) >= 50
    questions = {e.question for e in engine.kb.entries}
    assert {c.expect for c in in_scope} == questions  # every entry covered
    alternates = {a for e in engine.kb.entries for a in e.alternates}
    assert not alternates & {c.q for c in cases}


def test_dev_set_quality_floors(engine: AnswerEngine) -> None:
    cases = read_cases(DEV_SET)
    replies = [engine.answer(c.q, c.context) for c in cases]
    m = evaluate(cases, replies, {e.question: e.category for e in engine.kb.entries}).metrics()
    assert m["top1"] >= 0.95, m
    assert m["top3"] >= 0.98, m
    assert m["oos_recall"] >= 0.90, m
    assert m["false_fallback_rate"] <= 0.02, m
    assert m["answered_wrong"] <= 0.03, m
