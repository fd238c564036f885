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
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}
# CommonMark opens a new <ol start="N"> when a numbered list resumes after a bullet list; without `start` every
# step shows "1.". It is kept only as a plain number.
_NUMBER = re.compile(r"[0-9]{1,9}")


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # raw HTML in the source is not passed through: it is escaped as text
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table")


# The FAQ source's links were stripped to "#" ("[云市场开票记录](#)"): a link that reopens the same page is a dead
# end, so its words stay as plain text.
_DEAD_LINK = re.compile(r"\[([^\]]*)\]\(\s*#?\s*\)")


@lru_cache(maxsize=4096)
def markdown_to_html(text: str) -> str:
    return sanitize_html(_markdown().render(_DEAD_LINK.sub(r"\1", text)))


def sanitize_html(html: str) -> str:
    """Only the tags and attributes above survive; link targets only with a web or mail scheme."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
        attribute_filter=_attribute_filter,
    )


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "start":
        return value if tag == "ol" and _NUMBER.fullmatch(value) else None
    return value


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def markdown_to_text(text: str) -> str:
    """Markdown as plain text an agent can paste into a chat: links keep their words, emphasis marks go."""
    out = _LINK.sub(r"\1", text)
    out = _EMPHASIS.sub(r"\2", out)
    out = re.sub(r"(?m)^\s{0,3}#{1,6}\s*", "", out)
    out = re.sub(r"(?m)^>\s?", "", out)
    return re.sub(r"\n{3,}", "\n\n", out).strip()
