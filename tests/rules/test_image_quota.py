"""bot/rules/image_quota.py: custom images left in a region."""

from __future__ import annotations

from bot.engine import AnswerEngine


def test_custom_image_quota(engine: AnswerEngine) -> None:
    ok = engine.answer("我在广州已经有498个自定义镜像了，还能建几个")
    assert ok.rule is not None and ok.rule.decision == "within_quota" and ok.rule.left == 2
    full = engine.answer("广州地域已经有500个自定义镜像了，还能创建吗")
    assert full.rule is not None and full.rule.decision == "quota_reached"
