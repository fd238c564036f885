"""bot/rules/exit_check.py: a provider's own exit conditions, read from the message or asked one at a time."""

from __future__ import annotations

from bot.engine import AnswerEngine
from bot.reply import Session
from tests.helpers import talk


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
