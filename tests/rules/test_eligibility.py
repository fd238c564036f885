"""bot/rules/eligibility.py: individuals cannot become providers; the documents an enterprise needs."""

from __future__ import annotations

from bot.engine import AnswerEngine


def test_provider_eligibility(engine: AnswerEngine) -> None:
    reply = engine.answer("我是个人能入驻吗")
    assert reply.kind == "rule" and reply.rule is not None and reply.rule.decision == "not_eligible"
    assert reply.faq is not None and reply.faq.id == "provider-individual"
    for doc in ("营业执照", "开户许可证", "组织机构代码证", "法人身份证"):
        assert doc in reply.text
