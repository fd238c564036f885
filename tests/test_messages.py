"""knowledge/messages.yaml: every sentence the bot and the pages show, read once and checked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.errors import KnowledgeError
from bot.messages import load_messages
from bot.settings import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"
STATIC = PROJECT_ROOT / "web" / "static"


def _words_used(script: Path) -> set[str]:
    code = script.read_text(encoding="utf-8")
    return set(re.findall(r"\bT\.(\w+)", code)) | set(re.findall(r"\bsay\(\"(\w+)\"", code))


@pytest.mark.parametrize(
    ("script", "section"), [("widget.js", "widget"), ("agent.js", "console"), ("knowledge.js", "knowledge_page")]
)
def test_every_word_a_script_uses_is_in_the_file(script: str, section: str) -> None:
    messages = load_messages(KNOWLEDGE)
    words = messages.widget_copy() if section == "widget" else getattr(messages, section)
    used = _words_used(STATIC / script)
    assert len(used) >= 20
    assert used <= set(words), used - set(words)


def test_the_hotline_is_filled_in_everywhere_it_is_named() -> None:
    messages = load_messages(KNOWLEDGE)
    hotline = messages.contact.hotline
    assert hotline in messages.dialogue.handoff and hotline in messages.replies.offer_person
    assert "{hotline}" not in messages.model_dump_json()


def test_a_missing_sentence_stops_the_load_naming_the_file_and_the_field(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    path = knowledge / "messages.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  low_confidence:", "  low_confidenc:"), "utf-8")
    with pytest.raises(KnowledgeError, match=r"messages\.yaml: replies\.low_confidence"):
        load_messages(knowledge)
