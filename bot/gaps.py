"""Known gaps: questions in the marketplace's own vocabulary that the FAQ does not answer
(``knowledge/gaps.yaml``). They get an honest "常见问题里没有写" instead of a rule decision or a near answer. The same
file lists the shapes of messages that try to instruct the bot itself (prompt injection, role-play): refused."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import KnowledgeError, first_error
from bot.knowledge import KnowledgeBase, parse_yaml
from bot.messages import ReplyCopy
from bot.reply import Reason, Reply, Suggestion
from bot.slots import find_any


class Gap(BaseModel):
    id: str
    topic: list[str]
    not_topic: list[str] = []
    asks: list[str]
    reply: str
    related: list[str] = []

    def matches(self, text: str) -> bool:
        """``text`` (normalised) asks this unanswered question."""
        return (
            find_any(text, self.topic) is not None
            and find_any(text, self.asks) is not None
            and find_any(text, self.not_topic) is None
        )


class Gaps(BaseModel):
    gaps: list[Gap]
    instructions_to_the_bot: list[str] = []

    def find(self, text: str) -> Gap | None:
        return next((g for g in self.gaps if g.matches(text)), None)

    @cached_property
    def _instructions(self) -> re.Pattern[str] | None:
        patterns = self.instructions_to_the_bot
        return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def instructs(self, text: str) -> bool:
        """``text`` (normalised) tries to instruct the bot: prompt injection, role-play, asking for its setup."""
        return self._instructions is not None and self._instructions.search(text) is not None


def gap_reply(gap: Gap, q: str, kb: KnowledgeBase, say: ReplyCopy) -> Reply:
    """ "The FAQ does not say", the related entries as reading (not as answers), and a person offered."""
    related = [kb.by_id[r] for r in gap.related]
    text = gap.reply.strip()
    if related:
        text += "\n\n" + say.gap_related + "\n\n" + say.bulleted([e.question for e in related])
    return Reply(
        q=q,
        kind="fallback",
        text=text,
        score=0.0,
        suggestions=[Suggestion(id=e.id, question=e.question, score=0.0) for e in related],
        reason=Reason.NOT_IN_FAQ,
    )


def load_gaps(knowledge_dir: Path, entry_ids: set[str]) -> Gaps:
    path = knowledge_dir / "gaps.yaml"
    if not path.exists():
        return Gaps(gaps=[])
    try:
        gaps = Gaps.model_validate(parse_yaml(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise KnowledgeError(f"{path}: {first_error(exc.errors())}") from exc
    for pattern in gaps.instructions_to_the_bot:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise KnowledgeError(f"{path}: instructions_to_the_bot: {pattern!r} is not a valid pattern: {exc}") from exc
    for gap in gaps.gaps:
        unknown = [r for r in gap.related if r not in entry_ids]
        if unknown:
            raise KnowledgeError(f"{path}: gap {gap.id}: related entries that do not exist: {', '.join(unknown)}")
    return gaps
