"""Timelines of the FAQ (a window of working days, a deadline, an expected day) worked out from the day the user
started: concrete dates on the Chinese working-day calendar.

One rule per entry of ``knowledge/rules.yaml`` → ``timelines``; their shared sentences → ``timeline_texts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, RootModel, model_validator

from bot.rules.base import Extraction, Outcome, Rule, RuleBase, RuleKit, Texts, Turn, section
from bot.workdays import WorkCalendar


class TimelineFacts(BaseModel):
    label: str
    slot: str
    start: str
    unit: Literal["working_days", "calendar_days"]
    max: int
    min: int | None = None
    estimate: bool = False
    on_day: bool = False
    cite: str
    quote: str
    ask: str
    topic: list[str]
    asks: list[str]
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimelineFacts:
        if self.min is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Timelines(RootModel[dict[str, TimelineFacts]]):
    pass


class Timeline(RuleBase):
    """When something started on a given day will be done."""

    yields = True

    def __init__(self, name: str, facts: TimelineFacts, texts: Texts, kit: RuleKit) -> None:
        self.id = name
        self.facts = facts
        self.texts = texts
        self.kit = kit
        self.offered_by = (facts.cite,)

    def cited(self) -> set[str]:
        return {self.facts.cite}

    def offer(self) -> str | None:
        return self.texts.say("offer", start=self.facts.start)

    def triggers(self, turn: Turn) -> bool:
        """A start day (not one still to come: "报销截止到这周五" is a deadline of the user's, not a start),
        the topic and a question about when."""
        k = self.kit
        started = any(d.value is None or d.value <= turn.today for d in k.dates(turn))
        return started and k.has(turn, self.facts.topic) and k.has(turn, self.facts.asks)

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        found = self.kit.extraction(turn)
        iso, _ = self.kit.first_date(turn)
        if iso:
            found.slots[self.facts.slot] = iso
        return found

    def ask(self, slot: str, outcome: Outcome) -> str:
        return self.facts.ask

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        f = self.facts
        if not slots.get(f.slot):
            return Outcome(self.id, None, "", [f.cite], missing=[f.slot])
        start = date.fromisoformat(slots[f.slot])
        if start > turn.today:
            return Outcome(self.id, None, "", [f.cite], missing=[f.slot], extra={"invalid": "future_date"})
        return self._timeline(start, turn.today)

    def _timeline(self, start: date, today: date) -> Outcome:
        f, t = self.facts, self.texts
        cal = WorkCalendar()  # per call: it records which years it had to approximate

        def add(n: int) -> date:
            return cal.add_workdays(start, n) if f.unit == "working_days" else start + timedelta(days=n)

        unit = t.say(f"unit_{f.unit}")
        latest = add(f.max)
        if f.min is not None:
            earliest = add(f.min)
            span = t.say("span_range", min=f.min, max=f.max, unit=unit)
            when = t.say("when_range", earliest=earliest.isoformat(), latest=latest.isoformat())
        elif f.on_day:
            earliest = latest
            span = t.say("span_day", max=f.max, unit=unit)
            when = t.say("when_day", expected=t.say("expected") if f.estimate else "", latest=latest.isoformat())
        else:
            earliest = start
            span = t.say("span_deadline", max=f.max, unit=unit)
            when = t.say("when_deadline", latest=latest.isoformat())
        lines = [t.say("summary", label=f.label, start=f.start, day=start.isoformat(), quote=f.quote, span=span,
                       when=when)]  # fmt: skip
        if today > latest:
            decision = "overdue"
            lines.append(t.say("overdue", today=today.isoformat()))
        else:
            decision = "pending"
            lines.append(t.say("pending", today=today.isoformat(), latest=latest.isoformat(),
                               days=(latest - today).days))  # fmt: skip
        if f.unit == "working_days":
            lines.append(t.say("working_days_note"))
        if cal.approximated:
            first, last = cal.covered
            years = t.say("year_joiner").join(str(y) for y in sorted(cal.approximated))
            lines.append(t.say("approximated", years=years, first=first, last=last))
        if f.note:
            lines.append(f.note)
        lines.append(self.cite_line([f.cite]))
        calendar = "approximate" if cal.approximated else "official"
        extra: dict[str, Any] = {"start": start.isoformat(), "calendar": calendar}
        return Outcome(self.id, decision, "\n\n".join(lines), [f.cite], dates=(earliest, latest), extra=extra)


def build(data: Mapping[str, Any], kit: RuleKit) -> list[Rule]:
    texts = section(data, "timeline_texts", Texts)
    timelines = section(data, "timelines", Timelines).root
    return [Timeline(name, facts, texts, kit) for name, facts in timelines.items()]
