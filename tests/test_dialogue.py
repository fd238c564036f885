"""Multi-turn dialogue: missing slots asked one at a time and filled, follow-ups, cancel, hand-over.

The scripted conversation runs through `faqbot ask --batch` with sessions (a real subprocess);
the rest drives the engine directly.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import AnswerEngine
from bot.reply import Reply, Session
from tests.conftest import batch_replies

TODAY = {"today": "2026-11-30"}


def talk(engine: AnswerEngine, session: Session, message: str, **ctx: Any) -> Reply:
    return engine.answer(message, {**TODAY, **ctx}, session)


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
    assert after["kind"] != "rule" or after["rule"]["id"] != "refund_eligibility" or after["rule"]["decision"] is None
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
    assert talk(engine, s, "是").kind == "smalltalk" or s.active_rule is None


def test_provider_exit_self_check_lists_what_is_not_met(engine: AnswerEngine) -> None:
    reply = engine.answer("我们商品都下架了，订单也都完成了，但还有两笔提现没完成，API客户还有剩余调用次数，能退出吗")
    assert reply.rule is not None and reply.rule.decision == "exit_conditions_not_met"
    assert set(reply.rule.unmet) == {"withdrawals_done", "api_calls_used_up"}
    assert "products_delisted" not in reply.rule.unmet + reply.rule.unchecked
    s = Session()
    first = talk(engine, s, "我可以退出云市场吗")
    assert first.rule is not None and first.rule.missing[0] == "products_delisted" and "1/9" in first.text
    for _ in range(3):
        talk(engine, s, "是")
    blocked = talk(engine, s, "还没有")
    assert blocked.rule is not None and blocked.rule.decision == "exit_conditions_not_met"
    assert blocked.rule.unmet == ["delivery_accepted"]  # the 4th condition


def test_provider_eligibility(engine: AnswerEngine) -> None:
    reply = engine.answer("我是个人能入驻吗")
    assert reply.kind == "rule" and reply.rule is not None and reply.rule.decision == "not_eligible"
    assert reply.faq is not None and reply.faq.id == "provider-individual"
    for doc in ("营业执照", "开户许可证", "组织机构代码证", "法人身份证"):
        assert doc in reply.text


@pytest.mark.parametrize(
    ("message", "decision"),
    [("发票50元，快递费谁出", "provider_pays"), ("票面金额49.99元的发票邮费谁承担", "cash_on_delivery_allowed")],
)
def test_invoice_postage_threshold(engine: AnswerEngine, message: str, decision: str) -> None:
    reply = engine.answer(message)
    assert reply.rule is not None and reply.rule.decision == decision


def test_postage_amount_is_asked_after_the_faq(engine: AnswerEngine) -> None:
    s = Session()
    assert talk(engine, s, "纸质发票快递费谁出").faq.id == "invoice-postage"  # type: ignore[union-attr]
    reply = talk(engine, s, "30元")
    assert reply.rule is not None and reply.rule.decision == "cash_on_delivery_allowed"


def test_custom_image_quota(engine: AnswerEngine) -> None:
    ok = engine.answer("我在广州已经有498个自定义镜像了，还能建几个")
    assert ok.rule is not None and ok.rule.decision == "within_quota" and ok.rule.left == 2
    full = engine.answer("广州地域已经有500个自定义镜像了，还能创建吗")
    assert full.rule is not None and full.rule.decision == "quota_reached"


def test_today_is_injectable(engine: AnswerEngine) -> None:
    a = engine.answer("我11月24日买的SaaS模板能退款吗", {"today": "2026-11-28"})
    b = engine.answer("我11月24日买的SaaS模板能退款吗", {"today": "2026-11-29"})
    assert a.rule.decision == "refund_in_window" and b.rule.decision == "negotiate_with_provider"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("message", "decision"),
    [
        ("我们2018年交的保证金，退出的时候要准备什么材料", "offline_receipt"),
        ("我们2017年8月5日汇款交的保证金，退出要寄收据原件吗", "offline_receipt"),
        ("我们是2020年3月缴纳的保证金，退出怎么退", "online_proof"),
    ],
)
def test_deposit_materials_follow_when_the_deposit_was_paid(engine: AnswerEngine, message: str, decision: str) -> None:
    reply = engine.answer(message)
    assert reply.rule is not None and reply.rule.id == "deposit_materials" and reply.rule.decision == decision
    assert reply.faq is not None and reply.faq.id == "provider-exit"
    # offline: the receipt's original is mailed (and the address is given); online: a payment proof is enough
    assert ("邮寄" in reply.text and "万利达大厦" in reply.text) == (decision == "offline_receipt")
    assert ("付款凭证" in reply.text) == (decision == "online_proof")


def test_a_deposit_paid_in_september_2019_goes_to_the_platform(engine: AnswerEngine) -> None:
    """The FAQ says 2019年09月前 (offline) and 2019年09月后 (online): the month itself is on neither side."""
    reply = engine.answer("2019年9月交的保证金，退出要上传什么凭证")
    assert reply.rule is not None and reply.rule.decision is None
    assert reply.rule.ambiguous is True and reply.rule.route == "platform"
    assert "工单" in reply.text and "没有写明" in reply.text


def test_deposit_payment_month_is_asked_and_a_bare_month_is_read_in_the_year_given(engine: AnswerEngine) -> None:
    s = Session()
    first = talk(engine, s, "我们2019年交的保证金，退出要准备什么")
    assert first.rule is not None and first.rule.missing == ["paid_in"] and "哪年哪月" in first.text
    reply = talk(engine, s, "8月")
    assert reply.rule is not None and reply.rule.decision == "offline_receipt"
    assert reply.rule.slots["paid_in"] == ["2019-08-01", "2019-08-31"]
    s = Session()
    assert talk(engine, s, "我们交的保证金退出时要传什么凭证").rule.missing == ["paid_in"]  # type: ignore[union-attr]
    later = talk(engine, s, "2020年5月")
    assert later.rule is not None and later.rule.decision == "online_proof"
