"""纸质发票的快递费由谁承担: the invoice's face value against the FAQ's threshold.

Facts and sentences: ``knowledge/rules.yaml`` → ``invoice_postage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section
from bot.slots import bare_number, find_amount_bound


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
        bound = find_amount_bound(turn.text)
        # a bound on either side of the threshold ("不到100块") decides nothing: the FAQ's rule answers it
        decisive = bound is not None and _side(bound[0], bound[1], f.threshold_yuan) is not None
        return decisive and k.has(turn, f.topic) and k.has(turn, f.invoice_words)

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        found = self.kit.extraction(turn)
        bound = find_amount_bound(turn.text)
        if bound is None and awaiting == "amount":
            number = bare_number(turn.text)
            bound = (number, "=") if number is not None else None
        if bound is not None:
            found.slots["amount"], found.slots["relation"] = str(bound[0]), bound[1]
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        return self.facts.ask

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f, t = self.facts, self.facts.texts
        if slots.get("amount") is None:
            return Outcome(self.id, None, "", [f.cite], missing=["amount"])
        amount = Decimal(slots["amount"])
        relation = str(slots.get("relation") or "=")
        threshold = f.threshold_yuan
        shown = f"{amount.normalize():f}"
        above = _side(amount, relation, threshold)
        if above is None:  # "不到100块": on either side of the threshold — the exact amount decides
            return Outcome(self.id, None, "", [f.cite], missing=["amount"])
        template = ("provider_pays" if above else "cash_on_delivery") + ("" if relation == "=" else "_bound")
        versus = "" if amount == threshold else t.say("versus_above" if above else "versus_below", threshold=threshold)
        head = t.say(template, amount=shown, threshold=threshold, versus=versus,
                     relation=t.say("relation_" + RELATIONS[relation]))  # fmt: skip
        if above:
            decision, rule_text = "provider_pays", f.at_or_above.format(threshold=threshold)
        else:
            decision, rule_text = "cash_on_delivery_allowed", f.below.format(threshold=threshold)
        text = "\n".join([t.say("head", head=head), "", t.say("line_rule", rule=rule_text),
                          t.say("line_note", note=f.note), "", self.cite_line([f.cite])])  # fmt: skip
        return Outcome(self.id, decision, text, [f.cite], extra={"amount": shown})


RELATIONS = {"=": "eq", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def _side(amount: Decimal, relation: str, threshold: Decimal) -> bool | None:
    """True: at or above the threshold; False: below it; None: the message's bound ("不到100块") allows both."""
    if relation == "=":
        return amount >= threshold
    if relation in ("<", "<="):
        return False if amount < threshold or (relation == "<" and amount == threshold) else None
    return True if amount >= threshold else None


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [InvoicePostage(section(data, "invoice_postage", PostageFacts), kit)]
