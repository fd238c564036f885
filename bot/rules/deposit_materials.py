"""服务商退出时保证金退款要准备什么: the FAQ splits providers by when they paid the deposit — before 2019-09 it was
paid offline (upload the receipt and mail the original), after it online (upload the payment proof). The FAQ does
not say which side September 2019 itself falls on: a payment in that month is routed to the platform, not guessed.

Facts and sentences: ``knowledge/rules.yaml`` → ``deposit_materials``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section
from bot.slots import cn_number

_MONTH = re.compile(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年(?!\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月)")


class DepositFacts(BaseModel):
    cite: str
    cutoff: date  # the first day of the month the FAQ draws the line at ("2019年09月前 / 后")
    quote: str  # the offline side, as the FAQ says it
    online_quote: str
    offline_steps_quote: str
    online_steps_quote: str
    mail_to_quote: list[str]
    lost_receipt_quote: str
    topic: list[str]
    paid: list[str]
    asks: list[str]
    texts: Texts


class DepositMaterials(RuleBase):
    """What a leaving provider uploads (and mails) to get the deposit back, by when it was paid."""

    id = "deposit_materials"

    def __init__(self, facts: DepositFacts, kit: RuleKit) -> None:
        self.facts = facts
        self.kit = kit

    def cited(self) -> set[str]:
        return {self.facts.cite}

    def _paid_in(self, turn: Turn) -> tuple[date, date] | None:
        """When the deposit was paid, as a span: a day, a month ("2019年8月"), or a year ("2018年")."""
        for mention in self.kit.dates(turn):
            if mention.value is not None:
                return mention.value, mention.value
        month = self.kit.month_range(turn)
        if month is not None:
            return month
        year = _YEAR.search(turn.text)
        return (date(int(year.group(1)), 1, 1), date(int(year.group(1)), 12, 31)) if year else None

    def triggers(self, turn: Turn) -> bool:
        """The deposit was paid at some time (or the provider asks about their own), and they ask what it takes."""
        f, k = self.facts, self.kit
        if not (k.has(turn, f.topic) and k.has(turn, f.paid) and k.has(turn, f.asks)):
            return False
        return self._paid_in(turn) is not None or k.has(turn, k.words.personal)

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        found = Extraction()
        span = self._paid_in(turn)
        asked = held.get("paid_in")
        month = _MONTH.search(turn.text)
        if awaiting == "paid_in" and asked and asked[0][:4] == asked[1][:4] and month and not _YEAR.search(turn.text):
            # "8月" answering "2019年几月？": that year's month
            n = cn_number(month.group(1))
            if n is not None and 1 <= n <= 12:
                year = int(asked[0][:4])
                span = date(year, n, 1), date(year, n, calendar.monthrange(year, n)[1])
        if span is not None:
            found.slots["paid_in"] = [span[0].isoformat(), span[1].isoformat()]
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        return self.facts.texts.say("ask_paid_in", cutoff=self._cutoff_text())

    def _cutoff_text(self) -> str:
        return self.facts.texts.say("cutoff", year=self.facts.cutoff.year, month=self.facts.cutoff.month)

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f, t = self.facts, self.facts.texts
        cites = [f.cite]
        paid = slots.get("paid_in")
        if not paid:
            return Outcome(self.id, None, "", cites, missing=["paid_in"])
        first, last = date.fromisoformat(paid[0]), date.fromisoformat(paid[1])
        month_after = date(f.cutoff.year + f.cutoff.month // 12, f.cutoff.month % 12 + 1, 1)
        cite_line = self.cite_line(cites)
        cutoff = self._cutoff_text()
        if last < f.cutoff:  # entirely before the cutoff month: paid offline
            mail = [t.say("item", item=i) for i in f.mail_to_quote]
            lines = [t.say("offline_head", cutoff=cutoff), t.say("steps", steps=f.offline_steps_quote)]
            lines += ["\n".join([t.say("mail_to"), *mail]), t.say("lost_receipt", note=f.lost_receipt_quote)]
            lines += [t.say("offline_start"), cite_line]
            return Outcome(self.id, "offline_receipt", "\n\n".join(lines), cites)
        if first >= month_after:  # entirely after it: paid online
            lines = [t.say("online_head", cutoff=cutoff), t.say("steps", steps=f.online_steps_quote)]
            lines += [t.say("online_start"), cite_line]
            return Outcome(self.id, "online_proof", "\n\n".join(lines), cites)
        if f.cutoff <= first and last < month_after:  # within the cutoff month: the FAQ does not say
            reason = t.say("unclear_reason", offline=f.quote, online=f.online_quote)
            lines = [t.say("unclear_head", cutoff=cutoff), reason, t.say("unclear_next"), cite_line]
            return Outcome(self.id, None, "\n\n".join(lines), cites, extra={"ambiguous": True, "route": "platform"})
        return Outcome(self.id, None, "", cites, missing=["paid_in"])  # a span across the cutoff: which month?


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    return [DepositMaterials(section(data, "deposit_materials", DepositFacts), kit)]
