"""bot/rules/postage.py: who pays an invoice's postage, by its face value."""

from __future__ import annotations

import pytest

from bot.engine import AnswerEngine
from bot.reply import Session
from tests.helpers import talk


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


@pytest.mark.parametrize(
    ("message", "decision"),
    [
        ("票面金额不到50块的，邮费怎么算", "cash_on_delivery_allowed"),  # a bound, not the amount 50
        ("发票金额低于50元，快递费谁出", "cash_on_delivery_allowed"),
        ("发票40块都不到，邮费谁出", "cash_on_delivery_allowed"),
        ("不超过40元的发票，快递费谁承担", "cash_on_delivery_allowed"),
        ("发票五十多块，邮费谁承担", "provider_pays"),
        ("100元以上的发票快递费谁出", "provider_pays"),
        ("票面金额超过50元，邮费谁付", "provider_pays"),
    ],
)
def test_a_bound_on_one_side_of_the_threshold_decides(engine: AnswerEngine, message: str, decision: str) -> None:
    reply = engine.answer(message)
    assert reply.rule is not None and reply.rule.decision == decision, reply.text


@pytest.mark.parametrize("message", ["50元以下的发票快递费谁出", "发票金额不到100块，邮费谁出"])
def test_a_bound_across_the_threshold_gets_the_faq_rule_both_ways(engine: AnswerEngine, message: str) -> None:
    reply = engine.answer(message)
    assert reply.kind == "faq" and reply.faq is not None and reply.faq.id == "invoice-postage", reply.text
    assert "大于等于50元" in reply.text and "低于50元" in reply.text
