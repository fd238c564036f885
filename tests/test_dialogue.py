"""Multi-turn dialogue: missing slots asked one at a time and filled, follow-ups, cancel, hand-over.

The scripted conversation runs through `faqbot ask --batch` with sessions (a real subprocess);
the rest drives the engine directly.
"""

from __future__ import annotations

import pytest

from bot.engine import AnswerEngine
from bot.reply import Session
from tests.helpers import TODAY, batch_replies, talk


@pytest.mark.integration
def test_scripted_conversation_through_the_cli_batch(cli_env: dict[str, str]) -> None:
    script = [
        ("a", "我买的东西能退款吗", {}),  # → asks the product type
        ("b", "我能退出云市场吗", {}),  # a second conversation, interleaved
        ("a", "一个SaaS模板", {}),  # → asks the purchase date
        ("b", "都满足", {}),
        ("a", "上周五", {}),  # → decides
        ("a", "那API商品呢？", {}),  # follow-up
        (
            "a",
            "这个订单能退吗",
            {"order": {"id": "P9", "product_type": "manual_service", "purchased_on": "2026-11-01"}},
        ),
        ("a", "算了", {}),  # cancel
        ("a", "还没验收", {}),  # no longer a slot answer
        ("a", "转人工", {}),
    ]
    r = batch_replies([{"q": q, "context": {**TODAY, **ctx}, "session": s} for s, q, ctx in script], cli_env)
    assert [x["session_id"] for x in r] == [s for s, _, _ in script]
    asked_type, asked_all, asked_date, exit_done, decided, follow, asked_confirm, cancel, after, handoff = r
    assert asked_type["kind"] == "rule" and asked_type["rule"]["decision"] is None
    assert asked_type["rule"]["missing"] == ["delivery_type"] and "哪类商品" in asked_type["text"]
    assert asked_all["rule"]["id"] == "provider_exit_check" and asked_all["rule"]["decision"] is None
    assert asked_date["rule"]["missing"] == ["purchased_on"] and asked_date["rule"]["slots"] == {
        "delivery_type": "saas"
    }
    assert exit_done["rule"]["decision"] == "exit_conditions_met"
    assert decided["rule"]["decision"] == "refund_in_window"
    assert decided["rule"]["slots"] == {"delivery_type": "saas", "purchased_on": "2026-11-27"}
    assert decided["rule"]["dates"] == {"earliest": "2026-11-27", "latest": "2026-12-01"}
    assert follow["rule"]["decision"] == "no_refund" and follow["rule"]["slots"]["delivery_type"] == "api"
    assert asked_confirm["rule"]["missing"] == ["service_confirmed"]
    assert cancel["kind"] == "smalltalk" and cancel["reason"] == "cancelled:refund_eligibility"
    # "还没验收" no longer answers the cancelled rule (alone it is read as a question, not as that slot)
    assert after["kind"] != "rule" and after["rule"] is None and not after["reason"].startswith("rule")
    assert handoff["kind"] == "handoff" and handoff["rule"] is None


def test_missing_slots_are_asked_one_at_a_time_and_the_rule_resumes(engine: AnswerEngine) -> None:
    s = Session()
    first = talk(engine, s, "我想给这个订单退款")
    assert first.rule is not None and first.rule.missing == ["delivery_type"]
    second = talk(engine, s, "运维服务")
    assert second.rule is not None and second.rule.missing == ["service_confirmed"]
    assert "是" in second.text and "否" in second.text
    third = talk(engine, s, "否")
    assert third.rule is not None and third.rule.decision == "refund_in_window"
    assert s.active_rule is None and s.last_rule == "refund_eligibility"


def test_a_known_order_answers_at_once(engine: AnswerEngine) -> None:
    reply = engine.answer("订单 2026112500005 能退吗", TODAY)
    assert reply.rule is not None and reply.rule.decision == "no_refund"
    assert reply.rule.slots["order_id"] == "2026112500005"


def test_unclear_answer_is_asked_again_then_a_new_question_leaves_the_rule(engine: AnswerEngine) -> None:
    s = Session()
    talk(engine, s, "我买的SaaS能退吗")
    again = talk(engine, s, "嗯？")
    assert again.kind == "rule" and again.rule is not None and again.rule.missing == ["purchased_on"]
    assert "没有看懂" in again.text
    other = talk(engine, s, "镜像可以下载到本地吗")
    assert other.kind == "faq" and other.faq is not None and other.faq.id == "image-download"
    assert s.active_rule is None


def test_invalid_date_is_named_and_asked_again(engine: AnswerEngine) -> None:
    s = Session()
    talk(engine, s, "我买的SaaS能退吗")
    reply = talk(engine, s, "2月30日")
    assert reply.rule is not None and reply.rule.missing == ["purchased_on"] and "2月30日" in reply.text
    assert talk(engine, s, "11月29日").rule.decision == "refund_in_window"  # type: ignore[union-attr]


def test_follow_up_after_the_refund_faq(engine: AnswerEngine) -> None:
    s = Session()
    faq = talk(engine, s, "云市场的具体退款规则是什么？")
    assert faq.kind == "faq" and faq.faq is not None and faq.faq.id == "refund-rules"
    assert "购买日期" in faq.text  # the offer to work out the user's own case
    api = talk(engine, s, "那API商品呢？")
    assert api.kind == "rule" and api.rule is not None and api.rule.decision == "no_refund"
    saas = talk(engine, s, "那SaaS呢")
    assert saas.rule is not None and saas.rule.missing == ["purchased_on"]


def test_follow_up_with_just_a_date_after_a_timeline_faq(engine: AnswerEngine) -> None:
    s = Session()
    assert talk(engine, s, "提现多久到账").kind == "faq"
    reply = talk(engine, s, "11月3日申请的")
    assert reply.rule is not None and reply.rule.id == "withdrawal_arrival"
    assert reply.rule.model_dump(mode="json")["dates"] == {"earliest": "2026-11-24", "latest": "2026-12-01"}


def test_a_new_topic_is_not_taken_for_a_follow_up(engine: AnswerEngine) -> None:
    s = Session()
    talk(engine, s, "我前天买的SaaS模板能退款吗")
    reply = talk(engine, s, "那镜像怎么下载呢")
    assert reply.kind == "faq" and reply.faq is not None and reply.faq.id == "image-download"


def test_handoff_anywhere(engine: AnswerEngine) -> None:
    s = Session()
    talk(engine, s, "我买的东西能退款吗")
    reply = talk(engine, s, "我要转人工")
    assert reply.kind == "handoff" and s.handoff and s.active_rule is None
    assert engine.answer("人工").kind == "handoff"
    # "人工服务" is a product kind, not a request for a person
    assert engine.answer("人工服务类商品能退款吗", TODAY).kind == "rule"


def test_cancel_leaves_the_rule(engine: AnswerEngine) -> None:
    s = Session()
    talk(engine, s, "我能退出云市场吗")
    reply = talk(engine, s, "取消")
    assert reply.reason == "cancelled:provider_exit_check" and s.active_rule is None
    after = talk(engine, s, "是")  # no longer an answer to the cancelled checklist
    assert after.kind == "fallback" and after.rule is None and s.active_rule is None


def test_today_is_injectable(engine: AnswerEngine) -> None:
    a = engine.answer("我11月24日买的SaaS模板能退款吗", {"today": "2026-11-28"})
    b = engine.answer("我11月24日买的SaaS模板能退款吗", {"today": "2026-11-29"})
    assert a.rule.decision == "refund_in_window" and b.rule.decision == "negotiate_with_provider"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("message", "handoff"),
    [
        ("联系不上服务商的时候，腾讯云人工客服电话是多少？", False),  # asks for the number the FAQ states
        ("人工客服热线多少", False),
        ("人工客服电话打不通，帮我转人工", True),  # 转人工 asks for a person, whatever else it says
        ("我要人工客服", True),
        ("找人工客服，电话说不清楚", True),
    ],
)
def test_naming_the_service_to_ask_about_it_is_not_a_request(engine: AnswerEngine, message: str, handoff: bool) -> None:
    reply = engine.answer(message)
    assert (reply.kind == "handoff") is handoff, (reply.kind, reply.reason)


def test_the_hotline_question_gets_the_number_not_a_refund_decision(engine: AnswerEngine) -> None:
    """ "联系不上服务商" is a refund situation, but "人工客服" is the hotline, not a 人工服务 product: no rule starts,
    and the FAQ's number is the answer."""
    reply = engine.answer("联系不上服务商的时候，腾讯云人工客服电话是多少？")
    assert reply.kind == "faq" and reply.faq is not None
    assert reply.faq.question == "如果联系不到服务商，如何处理？" and "4009100100" in reply.text
