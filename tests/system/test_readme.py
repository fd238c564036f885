"""The README documents every setting and every CLI command (a new user's contract)."""

from __future__ import annotations

import re

from bot.cli import app
from bot.engine import AnswerEngine
from bot.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"FAQBOT_{name.upper()}" in README, name


def test_every_cli_command_is_documented() -> None:
    commands = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert set(commands) >= {"build", "ask", "chat", "eval", "serve", "report"}
    for name in commands:
        assert f"faqbot {name}" in README, name


def test_readme_gives_the_two_commands_and_ci_calls_the_test_one() -> None:
    assert re.search(r"^make serve\b", README, re.M) and re.search(r"^make test\b", README, re.M)
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_readme_lists_every_rule(engine: AnswerEngine) -> None:
    for rule in engine.dialogue.rules:
        assert f"| `{rule.id}` |" in README, rule.id
