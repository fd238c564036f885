"""What the web service says while people are involved (``knowledge/messages.yaml``), and which messages are
chatter rather than questions."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, PrivateAttr, ValidationError

from bot.errors import KnowledgeError, first_error

_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)
_BARE_ID = re.compile(r"[a-z0-9][a-z0-9\-]{5,}")


class PeopleCopy(BaseModel):
    handoff_request: str
    with_agent: str
    waiting: str
    already_waiting: str
    bot_note: str
    too_many_handoffs: str


class ServiceMessages(BaseModel):
    people: PeopleCopy
    chatter: list[str]
    handoff_words: list[str] = []  # from dialogue.yaml: "转人工", "找真人" … ask for a person, nothing else
    _chatter: re.Pattern[str] | None = PrivateAttr(None)

    def model_post_init(self, __context: object) -> None:
        words = sorted({w.lower() for w in [*self.chatter, *self.handoff_words] if w.strip()}, key=len, reverse=True)
        self._chatter = re.compile("|".join(map(re.escape, words))) if words else None

    def is_chatter(self, text: str) -> bool:
        """Only nudges, acknowledgements and requests for a person ("还要等多久？有人吗", "好的谢谢", "找真人"), or
        only an id or a number: a person reading it learns nothing to answer. ("我要投诉服务商，一直联系不上" asks
        for a person *and* says what is wrong: not chatter.)"""
        key = _NOT_WORD.sub("", text.lower())
        if not key or _BARE_ID.fullmatch(key):
            return True
        return self._chatter is not None and not self._chatter.sub("", key)


def load_messages(knowledge_dir: Path) -> ServiceMessages:
    from bot.dialogue import load_dialogue_words

    handoff = load_dialogue_words(knowledge_dir / "dialogue.yaml").handoff
    path = knowledge_dir / "messages.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            raw["handoff_words"] = [*handoff.patterns, *handoff.exact]
        return ServiceMessages.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise KnowledgeError(f"{path}: {first_error(exc.errors())}") from exc
