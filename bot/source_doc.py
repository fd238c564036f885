"""The FAQ source document as published (knowledge/source/faq-source.txt), read into entries, and what a new
version of it changes against the curated knowledge/ (`faqbot knowledge import`).

The document lists its categories under 文档目录, then repeats 常见问题 and gives each category as a header
("镜像相关问题"), a 最近更新时间 line, and its questions (a line ending in ？) each followed by its answer.
Answers are compared with the curated Markdown modulo formatting (``text_modulo_formatting``), so a table the
project turned into Markdown is not a change; a changed word or number is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeError
from bot.knowledge import KnowledgeBase, parse_yaml, text_modulo_formatting, without_screenshot_notes

SKIPPED_LINES = ("买家相关", "服务商相关")  # sub-headings inside a category, not questions
QUESTION = re.compile(r"[？?]$")
UPDATED = re.compile(r"^最近更新时间[:：]\s*(\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?)")


@dataclass(frozen=True)
class SourceEntry:
    category: str
    question: str
    answer: str  # the source's text, as published (tabs in tables, no Markdown)
    updated: str  # the category's 最近更新时间


def category_name(header: str) -> str:
    """ "镜像相关问题" → "镜像", "服务商后台使用问题" → "服务商后台使用"."""
    return re.sub(r"(相关)?问题$", "", header.strip())


def parse_source(text: str) -> tuple[list[str], list[SourceEntry]]:
    """The categories in the document's order, and every entry."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    stripped = [ln.strip() for ln in lines]
    try:
        start = stripped.index("常见问题", stripped.index("文档目录")) + 1  # then the categories, 常见问题 again
        body = stripped.index("常见问题", start)
    except ValueError as exc:
        raise KnowledgeError("not the FAQ source document: no 文档目录 followed by 常见问题 twice") from exc
    headers = [s for s in stripped[start:body] if s]
    if not headers:
        raise KnowledgeError("the source document's 文档目录 lists no categories")
    entries: list[SourceEntry] = []
    category, updated = "", ""
    question: str | None = None
    answer: list[str] = []

    def close() -> None:
        if question is not None:
            entries.append(SourceEntry(category, question, "\n".join(answer).strip("\n"), updated))

    for raw, s in zip(lines[body + 1 :], stripped[body + 1 :], strict=True):
        if s in headers:
            close()
            category, updated, question, answer = category_name(s), "", None, []
            continue
        if match := UPDATED.match(s):
            updated = match.group(1)
            continue
        if s in SKIPPED_LINES:
            continue
        if QUESTION.search(s) and category:
            close()
            question, answer = s, []
            continue
        if question is not None:
            answer.append(raw)
    close()
    return [category_name(h) for h in headers], entries


def read_source(path: Path) -> tuple[list[str], list[SourceEntry]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read the source document ({exc})") from exc
    return parse_source(text)


# ---------------------------------------------------------------------------------------------- the difference


@dataclass(frozen=True)
class ChangedEntry:
    entry_id: str
    question: str  # the new question
    old_question: str  # differs when the question was reworded
    answer_diff: list[str]  # the removed (-) and added (+) lines; empty when only the question changed
    new_answer: str


@dataclass(frozen=True)
class RuleAtRisk:
    """A fact a rule applies (knowledge/rules.yaml) whose quote is no longer in the answer it cites."""

    where: str  # e.g. "refund.delivery_types.saas"
    entry_id: str
    quote: str


@dataclass
class SourceDiff:
    new: list[SourceEntry] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (entry id, question)
    changed: list[ChangedEntry] = field(default_factory=list)
    dates: list[tuple[str, str, str]] = field(default_factory=list)  # (category, old, new)
    categories_added: list[str] = field(default_factory=list)
    categories_removed: list[str] = field(default_factory=list)
    rules_at_risk: list[RuleAtRisk] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.new or self.removed or self.changed or self.dates or self.categories_added
                    or self.categories_removed)  # fmt: skip


def quoted_facts(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every mapping in rules.yaml that quotes the FAQ (`quote`, `…_quote`), with where it sits."""
    out = []
    if isinstance(node, dict):
        if any(isinstance(k, str) and k.endswith("quote") for k in node):
            out.append((path.lstrip("."), node))
        for k, v in node.items():
            out += quoted_facts(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += quoted_facts(v, f"{path}[{i}]")
    return out


def fact_quotes(fact: dict[str, Any]) -> list[str]:
    return [q for k, v in fact.items() if k.endswith("quote") for q in ([v] if isinstance(v, str) else v)]


def fact_cites(fact: dict[str, Any]) -> list[str]:
    return [fact["cite"]] if "cite" in fact else list(fact.get("cites") or [])


def _same(a: str, b: str) -> bool:
    return text_modulo_formatting(without_screenshot_notes(a)) == text_modulo_formatting(b)


def _lines(text: str) -> list[str]:
    return [s for ln in text.splitlines() if (s := ln.strip())]


def diff_source(kb: KnowledgeBase, categories: list[str], source: list[SourceEntry], rules_yaml: Path) -> SourceDiff:
    """What ``source`` changes against ``kb``: entries matched by question, then a reworded question matched by
    an unchanged answer in the same category."""
    out = SourceDiff()
    out.categories_added = [c for c in categories if c not in kb.categories]
    out.categories_removed = [c for c in kb.categories if c not in categories]
    by_question = {e.question: e for e in kb.entries}
    seen_ids: set[str] = set()
    unmatched: list[SourceEntry] = []
    for item in source:
        entry = by_question.get(item.question)
        if entry is None:
            unmatched.append(item)
            continue
        seen_ids.add(entry.id)
        if not _same(entry.answer, item.answer):
            hunks = list(difflib.unified_diff(_lines(entry.answer), _lines(item.answer), lineterm="", n=0))[2:]
            lines = [ln for ln in hunks if not ln.startswith("@@")]  # past the two file-name lines: - and + lines
            out.changed.append(ChangedEntry(entry.id, item.question, entry.question, lines, item.answer))
    left = [e for e in kb.entries if e.id not in seen_ids]
    for item in unmatched:
        twin = next((e for e in left if e.category == item.category and _same(e.answer, item.answer)), None)
        if twin is None:
            out.new.append(item)
        else:
            left.remove(twin)
            out.changed.append(ChangedEntry(twin.id, item.question, twin.question, [], item.answer))
    out.removed = [(e.id, e.question) for e in left]
    olds = {e.category: e.updated for e in kb.entries}  # the category's date (an edited entry may carry its own)
    for category in categories:
        news = {s.updated for s in source if s.category == category and s.updated}
        for new in sorted(news):
            old = olds.get(category)
            if old is not None and old != new:
                out.dates.append((category, old, new))
    answers = {e.id: e.answer for e in kb.entries}
    answers.update({c.entry_id: c.new_answer for c in out.changed})
    gone = {entry_id for entry_id, _ in out.removed}
    touched = {c.entry_id for c in out.changed} | gone
    try:
        rules = parse_yaml(rules_yaml.read_text(encoding="utf-8")) if rules_yaml.exists() else {}
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"{rules_yaml}: {exc}") from exc
    for where, fact in quoted_facts(rules):
        cites = fact_cites(fact)
        if not touched.intersection(cites):
            continue
        text = " ".join(text_modulo_formatting(answers[c]) for c in cites if c in answers and c not in gone)
        for quote in fact_quotes(fact):
            if text_modulo_formatting(quote) not in text:
                out.rules_at_risk.append(RuleAtRisk(where, "/".join(cites), quote))
    return out
