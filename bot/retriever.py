"""Retrievers: one message in, every FAQ entry out, best first, with a score.

* :class:`HybridRetriever` — the real thing: the query embedding (with its LRU cache), BM25 tokens, the built
  index's evidence and the fusion model give a *calibrated* probability per entry.
* :class:`LexicalRetriever` — degraded mode, when the index or the encoder cannot load: BM25 over questions,
  alternates and answers, built in a second from ``knowledge/``. Its scores only order the entries (they are a
  share of the best match, not probabilities), so the engine never answers on them alone.

Both give :class:`Candidate` lists; entries whose answers repeat each other share an ``answer_group``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bot.encoders import Encoder
from bot.index import BuiltIndex, bm25_index, bm25_scores
from bot.knowledge import FaqEntry, KnowledgeBase, text_modulo_formatting
from bot.normalize import Normalizer
from bot.retrieval import lexical_document

# An entry whose audience differs from the user's keeps this share of its confidence,
# so the user's side wins only where two entries are close.
AUDIENCE_MISMATCH_FACTOR = 0.8


@dataclass(frozen=True)
class Candidate:
    entry: FaqEntry
    score: float
    answer_group: int  # entries whose answers repeat each other share a group
    answer_score: float  # probability that this candidate's *answer* is right: the sum over its group


class Retriever(Protocol):
    """Ranks every FAQ entry for a message."""

    @property
    def calibrated(self) -> bool:
        """Scores are calibrated probabilities an answer may be decided on (False: an ordering only)."""
        ...

    @property
    def problem(self) -> str | None:
        """Why this retriever stands in for the real one (None for the real one)."""
        ...

    def ready(self) -> dict[str, bool]:
        """Readiness checks: {"index": …, "encoder": …}."""
        ...

    def warm_up(self) -> None: ...

    def rank(self, message: str, audience: str | None = None) -> list[Candidate]: ...

    def instructs(self, message: str) -> float:
        """The probability that the message tries to instruct the bot (prompt injection, role play) rather than
        ask a question (0 where there is no model for it)."""
        ...


def distinct_answers(candidates: list[Candidate], limit: int, min_score: float = 0.0) -> list[Candidate]:
    """Up to ``limit`` candidates with different answers (a user is never asked to pick between twins)."""
    out: list[Candidate] = []
    groups: set[int] = set()
    for c in candidates:
        if len(out) == limit:
            break
        if c.score >= min_score and c.answer_group not in groups:
            groups.add(c.answer_group)
            out.append(c)
    return out


def _same_answer_as(entries: list[FaqEntry], k: int) -> int:
    """Index of the first entry whose answer contains entry k's answer or is contained in it."""
    mine = text_modulo_formatting(entries[k].answer)
    for j in range(k):
        other = text_modulo_formatting(entries[j].answer)
        if min(len(mine), len(other)) >= 30 and (mine in other or other in mine):
            return j
    return k


class HybridRetriever:
    """Dense vectors (FAISS) + BM25 + intent classifier, fused into a calibrated confidence per entry."""

    calibrated = True
    problem = None

    def __init__(
        self, kb: KnowledgeBase, encoder: Encoder, normalizer: Normalizer, index: BuiltIndex, cache_size: int = 0
    ) -> None:
        from bot.errors import IndexUnusable

        if index.entry_ids != [e.id for e in kb.entries]:
            raise IndexUnusable("the index was built from other knowledge files; run `faqbot build`")
        self.kb = kb
        self.encoder = encoder
        self.normalizer = normalizer
        self.index = index
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        # the last message's embedding: the refusal check and the ranking of one turn encode it once
        self._last: tuple[str, np.ndarray] | None = None
        self._warmed = False
        # Entries with the same answer are one answer to the user (the FAQ repeats itself).
        self._canonical = np.array([_same_answer_as(kb.entries, k) for k in range(len(kb.entries))], dtype=np.int64)
        self._audience = np.array([e.audience for e in kb.entries])

    def ready(self) -> dict[str, bool]:
        return {"index": self.index.faiss_index.ntotal > 0, "encoder": self._warmed}

    def warm_up(self) -> None:
        self.encoder.warm_up()
        self.rank("预热")
        self._warmed = True

    def embed(self, text: str) -> np.ndarray:
        """The query embedding, from a bounded LRU cache (popular questions repeat: a hit skips the encoder)."""
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        if self.cache_size:
            with self._cache_lock:
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    return hit
        vec = np.asarray(self.encoder.encode_queries([text])[0])
        self._last = (text, vec)
        if self.cache_size:
            with self._cache_lock:
                self._cache[text] = vec
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return vec

    def instructs(self, message: str) -> float:
        return self.index.instructs(self.embed(self.normalizer.matching_text(message)))

    def rank(self, message: str, audience: str | None = None) -> list[Candidate]:
        """All entries, best first, with calibrated confidence."""
        qvec = self.embed(self.normalizer.matching_text(message))
        scores = self.index.confidence(qvec, self.normalizer.tokens(message))
        if audience in ("buyer", "provider"):
            mismatch = (self._audience != audience) & (self._audience != "both")
            scores = np.where(mismatch, scores * AUDIENCE_MISMATCH_FACTOR, scores)
        # Twins are mutually exclusive labels for one answer, so their probabilities add up.
        group_scores = np.bincount(self._canonical, weights=scores, minlength=len(scores))
        return [
            Candidate(
                self.kb.entries[k],
                float(np.clip(scores[k], 0.0, 1.0)),
                int(self._canonical[k]),
                float(np.clip(group_scores[self._canonical[k]], 0.0, 1.0)),
            )
            for k in map(int, np.argsort(-scores, kind="stable"))
        ]


class LexicalRetriever:
    """BM25 over each entry's question, alternates and answer: degraded mode, no encoder and no index needed."""

    calibrated = False

    def __init__(self, kb: KnowledgeBase, normalizer: Normalizer, problem: str) -> None:
        self.kb = kb
        self.normalizer = normalizer
        self.problem = problem
        self._bm25 = bm25_index([normalizer.tokens(lexical_document(e, e.alternates)) for e in kb.entries])

    def ready(self) -> dict[str, bool]:
        return {"index": False, "encoder": False}

    def warm_up(self) -> None:
        self.rank("预热")

    def instructs(self, message: str) -> float:
        return 0.0  # no model without the index: the refusal patterns (gaps.yaml) still apply

    def rank(self, message: str, audience: str | None = None) -> list[Candidate]:
        scores = bm25_scores(self._bm25, self.normalizer.tokens(message), len(self.kb.entries))
        top = float(scores.max()) if scores.size and scores.max() > 0 else 1.0
        share = scores / top  # relative to the best match: an ordering, not a probability
        return [
            Candidate(self.kb.entries[k], float(share[k]), k, float(share[k]))
            for k in map(int, np.argsort(-scores, kind="stable"))
        ]
