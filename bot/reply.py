"""The reply object: the machine-readable contract shared by the CLI, the web UI and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.safe_text import has_surrogates

ReplyKind = Literal["faq", "rule", "clarify", "fallback", "smalltalk", "handoff"]


class FaqRef(BaseModel):
    id: str
    question: str = Field(description="The source question, verbatim.")
    category: str
    updated: str = Field(description="最近更新时间 of the entry's section, YYYY-MM-DD.")


class Suggestion(BaseModel):
    id: str
    question: str
    score: float = Field(ge=0.0, le=1.0)


class Reply(BaseModel):
    q: str
    kind: ReplyKind
    text: str = Field(description="Markdown shown to the user.")
    faq: FaqRef | None = None
    score: float = Field(0.0, ge=0.0, le=1.0, description="Calibrated confidence of the top candidate.")
    suggestions: list[Suggestion] = Field(default_factory=list)
    rule: dict[str, Any] | None = None
    # Additions to the contract (free to add, never rename the fields above):
    reason: str | None = Field(None, description="Why this kind was chosen, e.g. 'empty_input', 'low_confidence'.")
    conflicts: list[str] = Field(default_factory=list, description="Notes where the FAQ contradicts itself.")
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


HISTORY_KEPT = 5  # replies kept in memory per conversation (the full transcript lives in the database)


@dataclass
class Session:
    """Per-conversation state: history, the last FAQ shown, and the rule being worked through."""

    history: list[Reply] = field(default_factory=list)
    last_faq: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)  # JSON-friendly values (dates as YYYY-MM-DD)
    active_rule: str | None = None  # a rule waiting for a slot
    awaiting: str | None = None  # the slot it asked for
    last_rule: str | None = None  # the last rule that decided: short follow-ups continue it
    reasks: int = 0
    handoff: bool = False

    def record(self, reply: Reply) -> None:
        self.history.append(reply)
        del self.history[:-HISTORY_KEPT]
        if reply.faq is not None:
            self.last_faq = reply.faq.id

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
            # the dialogue looks back only at the kinds of the last replies; the transcript lives in the database
            "recent_kinds": [r.kind for r in self.history[-2:]],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Session:
        history = [Reply.model_construct(q="", kind=k, text="") for k in state.get("recent_kinds") or []]
        return cls(
            history=history,
            last_faq=state.get("last_faq"),
            slots=dict(state.get("slots") or {}),
            active_rule=state.get("active_rule"),
            awaiting=state.get("awaiting"),
            last_rule=state.get("last_rule"),
            reasks=int(state.get("reasks") or 0),
            handoff=bool(state.get("handoff")),
        )
