"""服务商怎么退出云市场: the nine exit conditions, read from what the provider says or asked one at a time; the
answer lists exactly the ones not met.

Facts and sentences: ``knowledge/rules.yaml`` → ``provider_exit``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section

_CLAUSES = re.compile(r"[，,。；;！!？?、]|但是|但|不过|而且|并且|还有(?=\d|[一两几]|个|笔|张|单)")
_NEGATED = re.compile(r"没|未|不|还有|尚有|仍有|剩|在审|中的")
_NOT_NEGATED = re.compile(r"没有(?:了|申请中|待|未|在|剩|发货)|不再有|都没了|没了")


class ExitCondition(BaseModel):
    id: str
    label: str
    ask: str
    words: list[str]


class ExitFacts(BaseModel):
    cite: str
    topic: list[str]
    not_topic: list[str]
    asks: list[str]
    policy_asks: list[str]  # "发票要处于什么状态": asking what a condition requires, not reporting it
    conditions: list[ExitCondition]
    next_step: str
    texts: Texts


class ProviderExitCheck(RuleBase):
    id = "provider_exit_check"
    yields = True

    def __init__(self, facts: ExitFacts, kit: RuleKit) -> None:
        self.facts = facts
        self.kit = kit

    def cited(self) -> set[str]:
        return {self.facts.cite}

    def _statuses(self, turn: Turn) -> dict[str, bool | None]:
        """Conditions the message speaks about: clause by clause, negation marks 'not met'."""
        out: dict[str, bool | None] = {}
        for clause in _CLAUSES.split(turn.text):
            for c in self.facts.conditions:
                if any(w in clause for w in c.words) and c.id not in out:
                    out[c.id] = not (_NEGATED.search(clause) and not _NOT_NEGATED.search(clause))
        return out

    def triggers(self, turn: Turn) -> bool:
        """The provider reports the state of their conditions, or asks about their own exit."""
        f, k = self.facts, self.kit
        if not k.has(turn, f.topic) or k.has(turn, f.not_topic) or k.how_to(turn):
            return False
        reported = any(v is not None for v in self._statuses(turn).values())
        return reported or (k.has(turn, k.words.personal) and k.has(turn, f.asks))

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        k = self.kit
        found = k.extraction(turn)
        if awaiting and k.has(turn, k.words.all_yes):
            found.slots.update({c.id: True for c in self.facts.conditions})
        elif awaiting:
            answer = k.yes_no(turn)
            if answer is not None:
                found.slots[awaiting] = answer
        for cid, met in self._statuses(turn).items():
            found.slots.setdefault(cid, met)
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        conditions = self.facts.conditions
        n, condition = next((n, c) for n, c in enumerate(conditions, 1) if c.id == slot)
        return self.facts.texts.say("ask", n=n, total=len(conditions), question=condition.ask)

    def policy(self, turn: Turn, slots: Mapping[str, Any]) -> Outcome | None:
        """ "退出时发票要处于什么状态": what the conditions it names require (all nine if it names none), not a
        check of the provider's own state — unless the provider speaks of their own ("我们的发票…")."""
        f, k, t = self.facts, self.kit, self.facts.texts
        if k.has(turn, k.words.personal) or not k.has(turn, f.policy_asks):
            return None
        named = [c for c in f.conditions if c.id in self._statuses(turn)] or f.conditions
        lines = [t.say("policy_head"), *(t.say("policy_item", label=c.label) for c in named)]
        if len(named) < len(f.conditions):
            lines += ["", t.say("policy_more", total=len(f.conditions))]
        lines += ["", self.cite_line([f.cite]), "", t.say("policy_offer")]
        return Outcome(self.id, "policy", "\n".join(lines), [f.cite])

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f, t = self.facts, self.facts.texts
        unmet = [c for c in f.conditions if slots.get(c.id) is False]
        unknown = [c for c in f.conditions if slots.get(c.id) is None]
        extra: dict[str, Any] = {"unmet": [c.id for c in unmet], "unchecked": [c.id for c in unknown]}
        cite_line = self.cite_line([f.cite])
        if unmet:
            lines = [t.say("not_met_head")] + [t.say("unmet_item", label=c.label) for c in unmet]
            if unknown:
                lines += ["", t.say("unknown_head")] + [t.say("unknown_item", label=c.label) for c in unknown]
            lines += ["", t.say("recheck"), "", cite_line]
            return Outcome(self.id, "exit_conditions_not_met", "\n".join(lines), [f.cite], extra=extra)
        if unknown:
            return Outcome(self.id, None, "", [f.cite], missing=[c.id for c in unknown], extra=extra)
        lines = [t.say("met_head"), "", t.say("met_next", next_step=f.next_step), "", cite_line]
        return Outcome(self.id, "exit_conditions_met", "\n".join(lines), [f.cite], extra=extra)


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [ProviderExitCheck(section(data, "provider_exit", ExitFacts), kit)]
