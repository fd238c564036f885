"""What every rule is made of, and what rules share.

A rule is a plug-in (see :class:`Rule`): it says when a message is about it, which slots it needs and how to find
them in a message, how it decides, what it asks for a missing slot and what it offers under an FAQ answer. Its
facts and every sentence it shows come from ``knowledge/rules.yaml``; the dialogue loop (bot/dialogue.py) knows
none of them by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.errors import RulesError, first_error
from bot.messages import DialogueCopy
from bot.normalize import Normalizer, word_chars
from bot.reply import Context
from bot.slots import DateMention, find_any, find_dates, find_month_range, yes_no


@dataclass
class Turn:
    """One message as the rules see it."""

    raw: str
    text: str  # normalised: simplified, lower case
    key: str  # text without spaces and punctuation
    today: date
    ctx: Context

    @staticmethod
    def key_of(text: str) -> str:
        return word_chars(text)

    def without_page(self) -> Turn:
        """The same message without the page's order: only what the user said."""
        return Turn(self.raw, self.text, self.key, self.today, self.ctx.model_copy(update={"order": None}))


@dataclass
class Extraction:
    """What a message gives a rule: slot values, and notes for the user about what could not be used (a day that
    does not exist, an order id that is unknown, a page order the message contradicts)."""

    slots: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejected: bool = False  # the message gave a value the rule cannot use (a day that does not exist, …)

    @property
    def useful(self) -> bool:
        return bool(self.slots)


@dataclass
class Outcome:
    """What a rule decided (or which slots it still needs), in words and as data."""

    rule: str
    decision: str | None
    text: str
    cites: list[str]
    dates: tuple[date, date] | None = None
    missing: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Texts(BaseModel):
    """A rule's sentences, from the data: ``texts.say("head", last="2026-12-02")``."""

    model_config = ConfigDict(extra="allow")

    def say(self, name: str, **values: Any) -> str:
        template = getattr(self, name, None)
        if not isinstance(template, str):
            raise KeyError(f"no text {name!r} in the rule's texts")
        return template.format(**values) if values else template


class Rule(Protocol):
    """A rule of the FAQ applied to the user's own case. Registered in ``bot.rules.REGISTRY``."""

    @property
    def id(self) -> str:
        """Stable name, in the reply's ``rule.id`` and ``reason``."""
        ...

    @property
    def yields(self) -> bool:
        """Its trigger is a few words (a date and a topic, a word like 个人) that other questions use too: when
        retrieval is sure the message asks another FAQ entry than the rule's, the rule leaves it to retrieval."""
        ...

    @property
    def offered_by(self) -> tuple[str, ...]:
        """FAQ entries whose answer this rule can work out for the user: a short follow-up after one of them
        ("11月3日申请的") continues this rule."""
        ...

    def cited(self) -> set[str]:
        """Every FAQ entry the rule's data cites (checked to exist)."""
        ...

    def offer(self) -> str | None:
        """A line under those FAQ answers, offering to work out the user's case (None: no offer)."""
        ...

    def triggers(self, turn: Turn) -> bool:
        """The message asks about the user's own case under this rule."""
        ...

    def extract(self, turn: Turn, awaiting: str | None, held: Mapping[str, Any]) -> Extraction:
        """Slots this message gives (``awaiting``: the slot just asked for; ``held``: what the conversation
        holds)."""
        ...

    def decide(self, slots: Mapping[str, Any], turn: Turn) -> Outcome:
        """The decision, or the slots still missing."""
        ...

    def ask(self, slot: str, outcome: Outcome) -> str:
        """The question for a missing slot."""
        ...

    def merge(self, held: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        """An answer's slots merged into what the conversation holds."""
        ...

    def carry(self, held: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        """A follow-up's slots ("那API商品呢？"): what of the last decision carries over, merged with the new."""
        ...

    def policy(self, turn: Turn, slots: Mapping[str, Any]) -> Outcome | None:
        """A general question about the rule ("SaaS 几天内可以无理由退款", "退出时发票要处于什么状态"), with no
        facts of the user's own: the rule's fact with its citation, instead of asking for the user's facts
        (None: the message is about the user's own case, or the rule has nothing to state)."""
        ...


M = TypeVar("M", bound=BaseModel)


def section(data: Mapping[str, Any], key: str, model: type[M]) -> M:
    """The rules data's ``key`` section as ``model``; a missing or invalid one is a :class:`RulesError` naming
    the field ("refund.delivery_types.saas.window_days: …")."""
    if key not in data:
        raise RulesError(f"missing section {key!r}")
    try:
        return model.model_validate(data[key])
    except ValidationError as exc:
        raise RulesError(f"{key}.{first_error(exc.errors())}") from exc


class RuleBase:
    """Defaults most rules keep: no offer, plain merges."""

    id: str = ""
    yields: bool = False
    offered_by: tuple[str, ...] = ()
    kit: RuleKit

    def offer(self) -> str | None:
        return None

    def merge(self, held: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        return {**held, **new}

    def carry(self, held: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        return {**held, **new}

    def policy(self, turn: Turn, slots: Mapping[str, Any]) -> Outcome | None:
        return None

    def cite_line(self, cites: list[str]) -> str:
        return self.kit.cite_line(cites)


@dataclass
class Words:
    """Words the dialogue and several rules share (``knowledge/dialogue.yaml``)."""

    yes: list[str]
    no: list[str]
    all_yes: list[str]
    personal: list[str]
    this_order: list[str]
    order_refs: list[str]
    howto: list[str]
    followup_markers: list[str]
    # the phrases that ask for or name a person (handoff patterns: 转人工, 人工客服): never a product or a topic word
    person: list[str] = field(default_factory=list)


@dataclass
class RuleKit:
    """What rules are given: the normaliser, the FAQ questions (to cite), the order store, the shared words and
    sentences, and small helpers over a :class:`Turn`."""

    normalizer: Normalizer
    questions: Mapping[str, str]
    words: Words
    texts: DialogueCopy
    orders: Any = None  # bot.orders.OrderStore | None

    def has(self, turn: Turn, words: list[str]) -> bool:
        return find_any(turn.text, words) is not None

    def how_to(self, turn: Turn) -> bool:
        """A how-to question ("怎么退款") rather than one about the user's own case."""
        return self.has(turn, self.words.howto)

    def dates(self, turn: Turn) -> list[DateMention]:
        return find_dates(turn.text, turn.today)

    def marked_followup(self, turn: Turn) -> bool:
        """Worded as a follow-up: "那…", "如果…", "…呢", "…的话"."""
        markers = self.words.followup_markers
        return any(turn.key.startswith(m) for m in markers) or turn.key.endswith("呢") or "的话" in turn.key

    def first_date(self, turn: Turn) -> tuple[str | None, str | None]:
        """(ISO date, invalid text): the first date mentioned, or the text of a day that does not exist."""
        for d in find_dates(turn.text, turn.today):
            if d.value is not None:
                return d.value.isoformat(), None
            return None, d.text
        return None, None

    def month_range(self, turn: Turn) -> tuple[date, date] | None:
        return find_month_range(turn.text, turn.today)

    def yes_no(self, turn: Turn) -> bool | None:
        return yes_no(turn.text, self.words.yes, self.words.no)

    def invalid_date_note(self, text: str) -> str:
        return self.texts.invalid_date.format(text=text)

    def extraction(self, turn: Turn) -> Extraction:
        """An extraction to fill in, with a note when the first date the message names does not exist (or lies
        outside the sane range)."""
        _, invalid = self.first_date(turn)
        return Extraction(notes=[self.invalid_date_note(invalid)], rejected=True) if invalid else Extraction()

    def cite_line(self, cites: list[str]) -> str:
        t = self.texts
        quoted = t.cite_joiner.join(
            t.cite.format(question=self.questions[c]) for c in dict.fromkeys(cites) if c in self.questions
        )
        return t.cite_line.format(cites=quoted)
