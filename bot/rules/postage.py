"""纸质发票的快递费由谁承担: the invoice's face value against the FAQ's threshold.

Facts and sentences: ``knowledge/rules.yaml`` → ``invoice_postage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section
from bot.slots import bare_number, find_amount


class PostageFacts(BaseModel):
    threshold_yuan: Decimal
    cite: str
    quote: str
    topic: list[str]
    invoice_words: list[str]
    at_or_above: str
    below: str
    note: str
    ask: str
    texts: Texts


class InvoicePostage(RuleBase):
    id = "invoice_postage"

    def __init__(self, facts: PostageFacts, kit: RuleKit) -> None:
        self.facts = facts
        self.kit = kit
        self.offered_by = (facts.cite,)

    def cited(self) -> set[str]:
        return {self.facts.cite}

    def offer(self) -> str | None:
        return self.facts.texts.say("offer")

    def triggers(self, turn: Turn) -> bool:
        f, k = self.facts, self.kit
        return k.has(turn, f.topic) and k.has(turn, f.invoice_words) and find_amount(turn.text) is not None

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        found = self.kit.extraction(turn)
        amount = find_amount(turn.text)
        if amount is None and awaiting == "amount":
            amount = bare_number(turn.text)
        if amount is not None:
            found.slots["amount"] = str(amount)
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        return self.facts.ask

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f, t = self.facts, self.facts.texts
        if slots.get("amount") is None:
            return Outcome(self.id, None, "", [f.cite], missing=["amount"])
        amount = Decimal(slots["amount"])
        threshold = f.threshold_yuan
        shown = f"{amount.normalize():f}"
        if amount >= threshold:
            decision, rule_text = "provider_pays", f.at_or_above.format(threshold=threshold)
            head = t.say("provider_pays", amount=shown, threshold=threshold)
        else:
            decision, rule_text = "cash_on_delivery_allowed", f.below.format(threshold=threshold)
            head = t.say("cash_on_delivery", amount=shown, threshold=threshold)
        text = "\n".join([t.say("head", head=head), "", t.say("line_rule", rule=rule_text),
                          t.say("line_note", note=f.note), "", self.cite_line([f.cite])])  # fmt: skip
        return Outcome(self.id, decision, text, [f.cite], extra={"amount": shown})


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [InvoicePostage(section(data, "invoice_postage", PostageFacts), kit)]
