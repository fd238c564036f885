"""The reply object: the machine-readable contract shared by the CLI, the web UI and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Context(BaseModel):
    """What the page or caller knows about the user; unknown keys are kept for later issues."""

    model_config = ConfigDict(extra="allow")

    audience: Literal["buyer", "provider"] | None = None
    today: str | None = None
    order: dict[str, Any] | None = None


@dataclass
class Session:
    """Per-conversation state (the rules issue adds slots and an active rule)."""

    history: list[Reply] = field(default_factory=list)
    last_faq: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    active_rule: str | None = None

    def record(self, reply: Reply) -> None:
        self.history.append(reply)
        if reply.faq is not None:
            self.last_faq = reply.faq.id
