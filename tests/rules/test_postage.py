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
