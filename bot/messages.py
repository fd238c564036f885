"""Every sentence the bot and the pages show (``knowledge/messages.yaml``), except the rules' own (each rule's
``texts`` in ``knowledge/rules.yaml``) and the FAQ itself — and which messages are chatter rather than questions.

Read once per engine (bot/wiring.py) and handed to whoever speaks: the engine, the dialogue, the chat service,
the API's errors, the templates, the widget and the console. A missing sentence is a :class:`KnowledgeError`
naming the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from bot.errors import KnowledgeError, first_error
from bot.knowledge import parse_yaml
from bot.normalize import word_chars

_BARE_ID = re.compile(r"[a-z0-9][a-z0-9\-]{5,}")


class Copy(BaseModel):
    """A section of sentences, each a ``str.format`` template: ``copy.say("too_long", chars=900, limit=500)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def say(self, name: str, **values: Any) -> str:
        template = getattr(self, name)
        return str(template).format(**values) if values else str(template)


class Contact(Copy):
    hotline: str


class ReplyCopy(Copy):
    """What the answer engine says around the FAQ answers."""

    bad_context: str
    invalid_input: str
    too_long: str
    empty_input: str
    other_platform: str
    instructions: str
    lead: str
    lead_elsewhere: str
    low_confidence: str
    fact_not_stated: str
    offer_person: str
    offer_end: str
    offer_related: str
    clarify: str
    option: str
    listed: str
    rule_hint: str
    conflict: str
    gap_related: str
    lexical_head: str
    lexical_nothing: str
    lexical_clarify: str

    def numbered(self, questions: list[str]) -> str:
        return "\n".join(self.say("option", n=i, question=q) for i, q in enumerate(questions, 1))

    def bulleted(self, questions: list[str]) -> str:
        return "\n".join(self.say("listed", question=q) for q in questions)


class DialogueCopy(Copy):
    """What the dialogue around the rules says, and what every rule shares."""

    handoff: str
    cancelled: str
    cite_line: str  # "依据：{cites}"
    cite: str  # "「{question}」"
    cite_joiner: str
    not_understood: str
    how_to_leave: str
    unknown_order: str
    invalid_date: str


class PeopleCopy(Copy):
    handoff_request: str  # what the transcript shows for a press of the widget's hand-over button
    with_agent: str
    waiting: str
    already_waiting: str
    bot_note: str
    too_many_handoffs: str
    taken_from: str
    assigned: str
    offline_left: str


class ErrorCopy(Copy):
    """Errors a person sees (API messages, the error page, the login form)."""

    retry_after: str
    unavailable: str
    login_required: str
    admin_required: str
    editor_required: str
    override_admin_only: str
    form_expired: str
    login_busy: str
    login_failed: str
    message_too_long: str
    internal_error: str
    message_not_handled: str
    binary_frame: str
    lone_surrogates: str
    storage_unavailable: str
    page_not_found: str
    faq_not_found: str
    messages_per_conversation: str
    messages_per_address: str
    conversations_per_address: str
    searches_per_address: str
    turn_in_flight: str
    logins_per_address: str
    logins_per_account: str
    body_too_large: str
    body_too_slow: str
    owned_by_other: str
    not_owner: str
    unknown_account: str
    account_exists: str
    bad_contact: str
    nothing_to_rate: str


class Messages(BaseModel):
    """``knowledge/messages.yaml``. ``pages``, ``widget``, ``console`` and ``knowledge_page`` are the words of the
    templates and the scripts (the templates render with StrictUndefined and a test checks every key the scripts
    use)."""

    model_config = ConfigDict(frozen=True)

    contact: Contact
    replies: ReplyCopy
    dialogue: DialogueCopy
    people: PeopleCopy
    errors: ErrorCopy
    pages: dict[str, Any]
    widget: dict[str, str]
    console: dict[str, str]
    knowledge_page: dict[str, str]
    dashboard: dict[str, Any]  # the support lead's dashboard (web/templates/dashboard.html, web/static/dashboard.js)
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
        key = word_chars(text.lower())
        if not key or _BARE_ID.fullmatch(key):
            return True
        return self._chatter is not None and not self._chatter.sub("", key)

    def widget_copy(self) -> dict[str, str]:
        """The widget's words, with the hand-over button's caption (what the transcript shows for it)."""
        return {**self.widget, "handoff": self.people.handoff_request}


def _fill(value: Any, hotline: str) -> Any:
    """``{hotline}`` replaced everywhere (a plain replacement: other placeholders stay for the code to fill)."""
    if isinstance(value, str):
        return value.replace("{hotline}", hotline)
    if isinstance(value, list):
        return [_fill(v, hotline) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, hotline) for k, v in value.items()}
    return value


def load_messages(knowledge_dir: Path) -> Messages:
    from bot.dialogue import load_dialogue_words

    handoff = load_dialogue_words(knowledge_dir / "dialogue.yaml").handoff
    path = knowledge_dir / "messages.yaml"
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{path}: expected a mapping of sections")
    hotline = str((raw.get("contact") or {}).get("hotline") or "")
    if not hotline:
        raise KnowledgeError(f"{path}: contact.hotline: missing")
    raw = _fill(raw, hotline)
    raw["handoff_words"] = [*handoff.patterns, *handoff.exact]
    try:
        return Messages.model_validate(raw)
    except ValidationError as exc:
        raise KnowledgeError(f"{path}: {first_error(exc.errors())}") from exc
