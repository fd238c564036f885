"""The reply object: the machine-readable contract shared by the CLI, the web UI and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from bot.safe_text import has_surrogates

if TYPE_CHECKING:
    from bot.knowledge import FaqEntry

ReplyKind = Literal["faq", "rule", "clarify", "fallback", "smalltalk", "handoff"]


class FaqRef(BaseModel):
    id: str
    question: str = Field(description="The source question, verbatim.")
    category: str
    updated: str = Field(description="最近更新时间 of the entry's section, YYYY-MM-DD.")

    @classmethod
    def of(cls, entry: FaqEntry) -> FaqRef:
        return cls(id=entry.id, question=entry.question, category=entry.category, updated=entry.updated_date)


class Suggestion(BaseModel):
    id: str
    question: str
    score: float = Field(ge=0.0, le=1.0)


class Reason(StrEnum):
    """Why a reply is what it is (the reply's ``reason``). Four are prefixes of a name: ``smalltalk:<intent>``,
    ``rule:<rule id>``, ``rule_policy:<rule id>``, ``cancelled:<rule id>`` (see :meth:`of`)."""

    CONFIDENT = "confident"
    AMBIGUOUS = "ambiguous"
    LOW_CONFIDENCE = "low_confidence"
    OTHER_PLATFORM = "other_platform"
    INSTRUCTIONS = "instructions"  # the message tries to instruct the bot (prompt injection, role-play): refused
    NOT_IN_FAQ = "not_in_faq"
    FACT_NOT_STATED = "fact_not_stated"  # asks for a value (a time, an amount, a count) no close entry states
    FACT_STATED = "fact_stated"  # between close entries, the one that states the fact asked for answers
    EMPTY_INPUT = "empty_input"
    TOO_LONG = "too_long"
    INVALID_INPUT = "invalid_input"
    BAD_CONTEXT = "bad_context"
    DEGRADED = "degraded"
    DEGRADED_EXACT_QUESTION = "degraded_exact_question"
    RULE_NEEDS_SLOT = "rule_needs_slot"
    USER_REQUEST = "user_request"  # the user asked for a person
    # while people are involved (bot/conversations.py)
    WITH_AGENT = "with_agent"
    WAITING_FOR_AGENT = "waiting_for_agent"
    ALREADY_WAITING = "already_waiting"
    HANDOFF_LIMITED = "handoff_limited"
    # prefixes
    SMALLTALK = "smalltalk"
    RULE = "rule"
    RULE_POLICY = "rule_policy"  # a general question about a rule, answered with the rule's fact
    CANCELLED = "cancelled"

    def of(self, name: str) -> str:
        """A prefixed reason: ``Reason.RULE.of("invoice_postage")`` → ``"rule:invoice_postage"``."""
        return f"{self.value}:{name}"


class DateSpan(BaseModel):
    earliest: str = Field(description="YYYY-MM-DD")
    latest: str = Field(description="YYYY-MM-DD")


class CiteRef(BaseModel):
    id: str
    question: str


RULE_DETAILS = ("situation", "ambiguous", "route", "start", "calendar", "amount", "unmet", "unchecked",
                "entity_type", "used", "left", "invalid")  # fmt: skip


class RuleResult(BaseModel):
    """A rule's result in a reply: its decision (None while slots are missing), the dates it worked out, the slots
    it used, what it still needs, the FAQ entries it rests on — and, per rule, a few details (present only when
    the rule gives them)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    decision: str | None
    dates: DateSpan | None
    slots: dict[str, Any]
    missing: list[str]
    cites: list[CiteRef]
    today: str
    situation: str | None = Field(None, description="refund: which provider fault or user-side case applied")
    ambiguous: bool | None = Field(None, description="the FAQ's rules disagree on, or are silent about, this case")
    route: str | None = Field(None, description="'platform' — the platform must decide")
    start: str | None = Field(None, description="timelines: the day counted from")
    calendar: Literal["official", "approximate"] | None = Field(None, description="timelines: holiday data used")
    amount: str | None = Field(None, description="invoice postage: the face value, in yuan")
    unmet: list[str] | None = Field(None, description="exit check: conditions not met")
    unchecked: list[str] | None = Field(None, description="exit check: conditions not yet known")
    entity_type: str | None = Field(None, description="eligibility: 'individual' or 'enterprise'")
    used: int | None = Field(None, description="image quota: custom images the user has")
    left: int | None = Field(None, description="image quota: how many more fit")
    invalid: str | None = Field(None, description="'future_date' when the day given is still ahead")

    @model_serializer(mode="wrap")
    def _omit_absent_details(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k not in RULE_DETAILS or v is not None}


class Reply(BaseModel):
    q: str
    kind: ReplyKind
    text: str = Field(description="Markdown shown to the user.")
    faq: FaqRef | None = None
    score: float = Field(0.0, ge=0.0, le=1.0, description="Calibrated confidence of the top candidate.")
    suggestions: list[Suggestion] = Field(default_factory=list)
    rule: RuleResult | None = None
    # Additions to the contract (free to add, never rename the fields above):
    reason: str | None = Field(None, description="Why this kind was chosen, e.g. 'empty_input', 'low_confidence'.")
    conflicts: list[str] = Field(default_factory=list, description="Notes where the FAQ contradicts itself.")
    lead: str | None = Field(
        None,
        description="The passage of the answer that states the fact asked for (a time limit, an amount, an "
        "address): ``text`` starts with it, then the whole entry.",
    )
    latency_ms: float | None = None
    session_id: str | None = Field(None, description="The conversation this reply belongs to, when there is one.")
    message_id: int | None = Field(None, description="The stored message (for feedback), when stored.")
    html: str | None = Field(None, description="`text` rendered to sanitised HTML (web clients).")


class Context(BaseModel):
    """What the page or caller knows about the user; unknown keys are kept for later issues."""

    model_config = ConfigDict(extra="allow")

    audience: Literal["buyer", "provider"] | None = None
    today: date | None = Field(None, description="Overrides today's date (YYYY-MM-DD, Asia/Shanghai).")
    order: dict[str, Any] | None = Field(
        None, description='The order the page shows: {"id", "product_type", "purchased_on", "service_confirmed"}.'
    )

    @model_validator(mode="before")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        if has_surrogates(value):
            raise ValueError("context contains characters that are not valid Unicode (lone surrogates)")
        return value

    @field_validator("today", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, date) and not (isinstance(value, str) and len(value) == 10):
            raise ValueError("today must be a date written YYYY-MM-DD")
        return value

    @field_validator("today")
    @classmethod
    def _sane_today(cls, value: date | None) -> date | None:
        from bot.slots import EARLIEST_DATE, LATEST_DATE

        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValueError(f"today must lie between {EARLIEST_DATE} and {LATEST_DATE}")
        return value

    @field_validator("order")
    @classmethod
    def _valid_order(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from bot.orders import OrderInfo

            OrderInfo.model_validate(value)  # raises a ValidationError naming the bad field
        return value


KINDS_KEPT = 2  # the dialogue looks back at the kinds of the last two replies (the transcript is in the database)


class Topic(Protocol):
    """The FAQ entry retrieval takes a message to ask, or None: sure of it (calibrated confidence ≥ the engine's
    topic bar, 0.9), or — ``answering`` — confident enough that the engine would answer with it."""

    def __call__(self, answering: bool = False) -> str | None: ...


@dataclass
class Session:
    """Per-conversation state: the kinds of the last replies, the last FAQ shown, the rule being worked through."""

    recent_kinds: list[ReplyKind] = field(default_factory=list)
    last_faq: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)  # JSON-friendly values (dates as YYYY-MM-DD)
    active_rule: str | None = None  # a rule waiting for a slot
    awaiting: str | None = None  # the slot it asked for
    last_rule: str | None = None  # the last rule that decided: short follow-ups continue it
    reasks: int = 0
    handoff: bool = False
    topic_text: str | None = None  # the words of the question last answered: an elliptical turn is read with them

    def record(self, reply: Reply) -> None:
        self.recent_kinds.append(reply.kind)
        del self.recent_kinds[:-KINDS_KEPT]
        if reply.faq is not None:
            self.last_faq = reply.faq.id

    @property
    def last_kind(self) -> ReplyKind | None:
        return self.recent_kinds[-1] if self.recent_kinds else None

    def to_state(self) -> dict[str, Any]:
        """JSON-friendly state, enough to resume the conversation after a restart."""
        return {
            "last_faq": self.last_faq,
            "slots": self.slots,
            "active_rule": self.active_rule,
            "awaiting": self.awaiting,
            "last_rule": self.last_rule,
            "reasks": self.reasks,
            "handoff": self.handoff,
            "topic_text": self.topic_text,
            "recent_kinds": list(self.recent_kinds),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Session:
        return cls(
            recent_kinds=list(state.get("recent_kinds") or [])[-KINDS_KEPT:],
            last_faq=state.get("last_faq"),
            slots=dict(state.get("slots") or {}),
            active_rule=state.get("active_rule"),
            awaiting=state.get("awaiting"),
            last_rule=state.get("last_rule"),
            reasks=int(state.get("reasks") or 0),
            handoff=bool(state.get("handoff")),
            topic_text=state.get("topic_text") if isinstance(state.get("topic_text"), str) else None,
        )
