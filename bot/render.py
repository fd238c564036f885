"""Markdown → sanitised HTML for web clients (answers are Markdown; user and agent text is never HTML)."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4",
    "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # raw HTML in the source is not passed through: it is escaped as text
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table")


@lru_cache(maxsize=4096)
def markdown_to_html(text: str) -> str:
    html = _markdown().render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def markdown_to_text(text: str) -> str:
    """Markdown as plain text an agent can paste into a chat: links keep their words, emphasis marks go."""
    out = _LINK.sub(r"\1", text)
    out = _EMPHASIS.sub(r"\2", out)
    out = re.sub(r"(?m)^\s{0,3}#{1,6}\s*", "", out)
    out = re.sub(r"(?m)^>\s?", "", out)
    return re.sub(r"\n{3,}", "\n\n", out).strip()
