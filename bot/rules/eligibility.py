"""个人能否成为云市场服务商: individuals cannot; an enterprise needs these documents.

Facts and sentences: ``knowledge/rules.yaml`` → ``provider_eligibility``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section


class EligibilityFacts(BaseModel):
    cites: list[str]
    individual_quote: str
    individual_words: list[str]
    not_individual: list[str]
    asks: list[str]
    enterprise_words: list[str]
    topic: list[str]
    documents: list[str]
    documents_quote: str
    documents_note: str
    texts: Texts


class ProviderEligibility(RuleBase):
    yields = True
    id = "provider_eligibility"

    def __init__(self, facts: EligibilityFacts, kit: RuleKit) -> None:
        self.facts = facts
        self.kit = kit
        self.offered_by = tuple(facts.cites[:1])

    def cited(self) -> set[str]:
        return set(self.facts.cites)

    def _individual(self, turn: Turn) -> bool:
        return self.kit.has(turn, self.facts.individual_words) and not self.kit.has(turn, self.facts.not_individual)

    def triggers(self, turn: Turn) -> bool:
        """An individual asking whether they can become a provider."""
        f, k = self.facts, self.kit
        return k.has(turn, f.topic) and k.has(turn, f.asks) and self._individual(turn)

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        found = self.kit.extraction(turn)
        if self._individual(turn):
            found.slots["entity_type"] = "individual"
        elif self.kit.has(turn, self.facts.enterprise_words):
            found.slots["entity_type"] = "enterprise"
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        return self.facts.texts.say("ask_entity_type")

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f, t = self.facts, self.facts.texts
        cites = list(f.cites)
        entity = slots.get("entity_type")
        if entity is None:
            return Outcome(self.id, None, "", cites, missing=["entity_type"])
        docs = "\n".join(t.say("document", document=d) for d in f.documents)
        decision = "not_eligible" if entity == "individual" else "eligible_enterprise"
        who = "individual" if entity == "individual" else "enterprise"
        head, body = t.say(f"{who}_head"), t.say(f"{who}_body", quote=f.individual_quote)
        text = "\n".join([head, "", body, "", docs, "", f.documents_note, "", self.cite_line(cites)])
        return Outcome(self.id, decision, text, cites, extra={"entity_type": entity})


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [ProviderEligibility(section(data, "provider_eligibility", EligibilityFacts), kit)]
