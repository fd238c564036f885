"""镜像的使用限制: how many more custom images fit in a region.

Facts and sentences: ``knowledge/rules.yaml`` → ``custom_image_quota``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section
from bot.slots import bare_number, find_count


class QuotaFacts(BaseModel):
    per_region: int
    cite: str
    quote: str
    topic: list[str]
    asks: list[str]
    texts: Texts


class CustomImageQuota(RuleBase):
    id = "custom_image_quota"

    def __init__(self, facts: QuotaFacts, kit: RuleKit) -> None:
        self.facts = facts
        self.kit = kit
        self.offered_by = (facts.cite,)

    def cited(self) -> set[str]:
        return {self.facts.cite}

    def offer(self) -> str | None:
        return self.facts.texts.say("offer")

    def triggers(self, turn: Turn) -> bool:
        f, k = self.facts, self.kit
        return k.has(turn, f.topic) and k.has(turn, f.asks) and find_count(turn.text) is not None

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        found = self.kit.extraction(turn)
        count = find_count(turn.text)
        if count is None and awaiting == "used_count":
            n = bare_number(turn.text)
            count = int(n) if n is not None else None
        if count is not None:
            found.slots["used_count"] = count
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        return self.facts.texts.say("ask_used_count")

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f, t = self.facts, self.facts.texts
        if slots.get("used_count") is None:
            return Outcome(self.id, None, "", [f.cite], missing=["used_count"])
        used = int(slots["used_count"])
        left = f.per_region - used
        if left > 0:
            head, decision = t.say("within", left=left, limit=f.per_region, used=used), "within_quota"
        else:
            head, decision = t.say("reached", limit=f.per_region, used=used), "quota_reached"
        text = "\n".join([head, "", t.say("faq_line", quote=f.quote), "", self.cite_line([f.cite])])
        return Outcome(self.id, decision, text, [f.cite], extra={"used": used, "left": max(left, 0)})


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [CustomImageQuota(section(data, "custom_image_quota", QuotaFacts), kit)]
