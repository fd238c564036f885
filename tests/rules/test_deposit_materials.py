"""bot/rules/deposit_materials.py: what a leaving provider sends to get the deposit back, by when it was paid."""

from __future__ import annotations

import pytest

from bot.engine import AnswerEngine
from bot.reply import Session
from tests.helpers import talk


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
