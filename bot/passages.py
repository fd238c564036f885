"""Precise answers: a question about one fact of a long entry ("退出后保证金多久退回来" — the time limit in the
middle of the exit entry) gets the passage that states it first, then the whole entry.

A question asks for a fact when it uses one of the asking words of a kind in ``knowledge/fact_asks.yaml``
(a duration, a date, an amount, an e-mail address, a postal address, a count); the passages of the
answer (its lines and sentences) that state a fact of that kind (the kind's pattern: a number of working days, a
percentage, an address) are candidates: the only one, or the one sharing most words with the question, leads.
Short answers, and questions that ask no fact or whose entry states none of that kind, are answered as before.
When the answered entry states none but a close entry does (the FAQ states how long the deposit takes under the
exit question), the engine quotes that one with its question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.errors import KnowledgeError
from bot.knowledge import parse_yaml
from bot.normalize import Normalizer, focus
from bot.retrieval import plain_text

MIN_PASSAGES = 3  # an answer of one or two sentences is already precise
_SENTENCES = re.compile(r"(?<=[。；;！!？?])|\n+")


@dataclass(frozen=True)
class FactKind:
    name: str
    asks: tuple[str, ...]
    pattern: re.Pattern[str]
    value_asks: re.Pattern[str] | None = None  # asks for the value itself: an answer that states none does not
    label: str = ""  # what the value is, for "the FAQ does not say {label}"


def passages(answer: str) -> list[str]:
    """The answer's lines and sentences, as plain text (links keep their words), without empty pieces and without
    table rows (a row out of its table reads as nonsense)."""
    out = []
    for line in answer.splitlines():
        if "|" in line:
            continue
        for piece in _SENTENCES.split(plain_text(line)):
            piece = piece.strip(" -\t")
            if len(piece) >= 6:
                out.append(piece)
    return out


class Passages:
    """Finds the passage of an answer that states the fact a question asks for."""

    def __init__(self, normalizer: Normalizer, kinds: list[FactKind]) -> None:
        self.normalizer = normalizer
        self.kinds = kinds
        self._split: dict[str, list[tuple[str, frozenset[str]]]] = {}  # answer → its passages and their words
        self._plain_text: dict[str, str] = {}  # answer → its normalised plain text

    def _passages(self, answer: str) -> list[tuple[str, frozenset[str]]]:
        """An answer's passages with their words, computed once per answer (answers change only on a reload)."""
        hit = self._split.get(answer)
        if hit is None:
            hit = [(p, frozenset(self.normalizer.tokens(p))) for p in passages(answer)]
            self._split[answer] = hit
        return hit

    @classmethod
    def from_file(cls, path: Path, normalizer: Normalizer) -> Passages:
        """``knowledge/fact_asks.yaml``; a missing file means no precise answers, a broken one is an error."""
        if not path.exists():
            return cls(normalizer, [])
        try:
            doc = parse_yaml(path.read_text(encoding="utf-8")) or {}
            kinds = [
                FactKind(
                    name,
                    tuple(str(a) for a in spec["asks"]),
                    re.compile(str(spec["pattern"])),
                    re.compile(str(spec["value_asks"])) if spec.get("value_asks") else None,
                    str(spec.get("label") or ""),
                )
                for name, spec in (doc.get("kinds") or {}).items()
            ]
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, re.error) as exc:
            raise KnowledgeError(f"{path}: {exc}") from exc
        return cls(normalizer, kinds)

    def _asked(self, question: str) -> list[FactKind]:
        norm = self.normalizer.text(question)
        return [k for k in self.kinds if any(a in norm for a in k.asks)]

    def asks_fact(self, question: str) -> bool:
        return bool(self._asked(question))

    def _values_asked(self, question: str) -> list[tuple[FactKind, re.Pattern[str]]]:
        """The kinds whose value the question asks for itself (``value_asks``, read in the part a contrast puts in
        focus), each with that pattern."""
        norm = focus(self.normalizer.text(question))
        return [(k, k.value_asks) for k in self.kinds if k.value_asks is not None and k.value_asks.search(norm)]

    def asks_value(self, question: str) -> bool:
        """The question asks for a value itself ("多久", "多少钱", "寄到哪"), not only uses a word of its kind
        ("以后" is a date word in "退出以后保证金能退吗", which asks no date)."""
        return bool(self._values_asked(question))

    def unstated(self, question: str, entry_question: str, answers: list[str]) -> FactKind | None:
        """The kind of value the question asks for ("多久", "最多几个") when the entry does not ask it itself and
        none of ``answers`` (the entry's and the close ones') states one: the FAQ talks about the topic but does
        not say what was asked. None when nothing is asked, or it is the entry's own question, or it is stated."""
        own = self.normalizer.text(entry_question)
        for kind, asks in self._values_asked(question):
            if not asks.search(own) and not any(kind.pattern.search(self._plain(a)) for a in answers):
                return kind
        return None

    def _plain(self, answer: str) -> str:
        hit = self._plain_text.get(answer)
        if hit is None:
            hit = self._plain_text[answer] = self.normalizer.text(plain_text(answer))
        return hit

    def lead(self, question: str, answer: str) -> str | None:
        kinds = self._asked(question)
        if not kinds:
            return None
        pieces = self._passages(answer)
        if len(pieces) < MIN_PASSAGES:
            return None
        stating = [(p, words) for p, words in pieces if any(k.pattern.search(p) for k in kinds)]
        if not stating:
            return None
        if len(stating) == 1:  # the entry's one statement of that kind is the answer
            return stating[0][0]
        asked = set(self.normalizer.tokens(question))
        best, words = max(stating, key=lambda pw: len(asked & pw[1]))  # the first of equals: the entry's order
        return best if asked & words else None
