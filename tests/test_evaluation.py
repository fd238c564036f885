"""bot/evaluation.py: each case's outcome, per-style and per-kind counts, buried facts, conversations replayed in
one session. The replies are built by hand: this is about the scoring, not the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.errors import EvalFileError
from bot.evaluation import EvalCase, contains_fact, evaluate, outcome, read_cases, replay
from bot.reply import FaqRef, Reply, Session, Suggestion

A, B, C = "镜像如何下载？", "发票的开具能不能催促？", "申请发票何时可以收到？"


def ref(question: str) -> FaqRef:
    return FaqRef(id=question, question=question, category="x", updated="2025-01-01")


def reply(kind: str, first: str | None = None, *others: str, text: str = "") -> Reply:
    faq = ref(first) if first and kind == "faq" else None
    listed = ([first] if first and kind != "faq" else []) + list(others)
    suggestions = [Suggestion(id=q, question=q, score=0.5) for q in listed]
    return Reply(q="?", kind=kind, text=text or "…", faq=faq, suggestions=suggestions)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expect", "got", "result"),
    [
        (A, reply("faq", A), "right"),
        (A, reply("faq", B, A), "wrong"),
        (A, reply("clarify", A, B), "clarify_first"),
        (A, reply("clarify", B, A), "clarify_listed"),
        (A, reply("clarify", B, C), "clarify_missing"),
        (A, reply("fallback", None, A), "fallback"),
        (A, reply("handoff"), "fallback"),
        (None, reply("fallback", None, A), "rejected"),
        (None, reply("smalltalk"), "rejected"),
        (None, reply("clarify", A, B), "clarified"),
        (None, reply("faq", A), "answered"),
    ],
)
def test_each_case_gets_one_outcome(expect: str | None, got: Reply, result: str) -> None:
    assert outcome(EvalCase("?", expect), got) == result


def test_counts_per_style_per_kind_facts_and_follow_ups() -> None:
    cases = [
        EvalCase("a", A, style="typo_ime"),
        EvalCase("b", A, style="typo_ime"),
        EvalCase("c", B, style="keyword", fact="5个工作日"),
        EvalCase("d", None, oos_kind="near_miss"),
        EvalCase("e", None, oos_kind="injection"),
        EvalCase("f", C, earlier=["开票要多久"]),
    ]
    replies = [
        reply("faq", A),
        reply("clarify", B, A),
        reply("faq", B, text="一般在 **5 个工作日**内"),  # the fact, formatted differently
        reply("clarify", A, B),
        reply("fallback"),
        reply("faq", A),
    ]
    report = evaluate(cases, replies, {})
    assert report.breakdown() == {
        "by_style": {"-": {"wrong": 1}, "keyword": {"right": 1}, "typo_ime": {"right": 1, "clarify_listed": 1}},
        "oos_by_kind": {"injection": {"rejected": 1}, "near_miss": {"clarified": 1}},
        "facts": {"asked": 1, "contained": 1},
        "followups": {"wrong": 1},
    }
    assert report.metrics()["top1"] == 0.5 and report.metrics()["oos_recall"] == 0.5


def test_a_fact_counts_only_when_the_reply_states_it() -> None:
    assert contains_fact(reply("faq", A, text="预计 45 个工作日内退还"), "45个工作日")
    assert contains_fact(reply("faq", A, text="满５０元"), "50元")  # full-width digits
    assert not contains_fact(reply("faq", A, text="预计 15 个工作日内退还"), "45个工作日")


def test_conversations_are_read_as_their_last_turn_and_replayed_in_one_session(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    lines = [
        {"turns": ["发票多久能收到", "电子的呢"], "expect": [C, C], "style": "followup"},
        {"q": "你好", "expect": None, "oos_kind": "chitchat"},
    ]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    cases = read_cases(path)
    first = cases[0]
    assert (first.q, first.expect, first.earlier, first.style) == ("电子的呢", C, ["发票多久能收到"], "followup")
    assert (cases[1].earlier, cases[1].oos_kind) == ([], "chitchat")
    seen: list[tuple[str, int]] = []
    sessions: list[Session] = []

    def answer(text: str, context: dict[str, Any], session: Session) -> Reply:
        seen.append((text, len(sessions)))
        if not any(s is session for s in sessions):
            sessions.append(session)
        return reply("fallback")

    replay(answer, cases)
    assert seen == [("发票多久能收到", 0), ("电子的呢", 1), ("你好", 1)]
    assert len(sessions) == 2  # one session per case, shared by a conversation's turns


@pytest.mark.parametrize(
    "line",
    [
        '{"turns": [], "expect": []}',
        '{"turns": ["a", "b"], "expect": ["x"]}',
        '{"turns": ["a", 3], "expect": [null, null]}',
        '{"q": "a", "expect": null, "fact": 5}',
        '{"expect": null}',
        "[1, 2]",
    ],
)
def test_a_malformed_line_is_named(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "ok", "expect": null}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(EvalFileError, match=r"bad\.jsonl:2"):
        read_cases(path)


def test_alt_expect_names_other_entries_that_answer_the_question_too() -> None:
    case = EvalCase("开票", A, also=[B])
    assert outcome(case, reply("faq", B)) == "right"
    assert outcome(case, reply("clarify", C, B)) == "clarify_listed"
    assert outcome(case, reply("faq", C)) == "wrong"
    assert evaluate([case], [reply("clarify", B, A)], {}).metrics()["top1"] == 1.0


def test_alt_expect_must_be_a_list_beside_an_expect(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    for line in ('{"q": "a", "expect": null, "alt_expect": ["x"]}', '{"q": "a", "expect": "x", "alt_expect": "y"}'):
        path.write_text(line + "\n", encoding="utf-8")
        with pytest.raises(EvalFileError, match="alt_expect"):
            read_cases(path)


def test_a_conversation_may_list_other_answers_per_turn(tmp_path: Path) -> None:
    path = tmp_path / "conv.jsonl"
    line = {"turns": ["a", "b"], "expect": ["x", "y"], "also": [["x2"], ["y2", "y3"]]}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert read_cases(path)[0].also == ["y2", "y3"]  # the last turn's, the one scored
    line["also"] = [["y2"]]
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(EvalFileError, match="one list of source questions per turn"):
        read_cases(path)
