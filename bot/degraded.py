"""Degraded mode: when the index or the encoder cannot load, keep helping with what needs neither.

The rules engine still answers concrete questions (it needs no embeddings), and BM25 over the questions,
alternates and answers — built in a second from ``knowledge/`` — offers the closest questions. Lexical scores
are not calibrated confidences, so this engine never answers a FAQ on its own: it asks "您是想问…" with the best
matches and offers a person. ``/readyz`` stays 503 and says "lexical-only".
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.engine import RELATED_MIN_SCORE, AgentSuggestion, Candidate, RuleHandler, default_rules
from bot.gaps import gap_reply, load_gaps
from bot.index import _bm25, bm25_scores
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.normalize import Normalizer
from bot.reply import Context, FaqRef, Reply, Session, Suggestion
from bot.retrieval import lexical_document
from bot.settings import Settings

OPTIONS = 3


class LexicalEngine:
    """The parts of :class:`bot.engine.AnswerEngine` the web server uses, without an encoder or a FAISS index."""

    degraded = True
    warmed = False
    index = None

    def __init__(self, settings: Settings, kb: KnowledgeBase, normalizer: Normalizer, rules: list[RuleHandler]) -> None:
        self.settings = settings
        self.kb = kb
        self.normalizer = normalizer
        self.rules = rules
        self.gaps = load_gaps(settings.knowledge_dir, set(kb.by_id))
        docs = [normalizer.tokens(lexical_document(e, e.alternates)) for e in kb.entries]
        self._bm25 = _bm25(docs)
        # a question typed (or clicked) exactly as the FAQ asks it is answered: there is nothing to guess
        self._exact = {self._key(e.question): e for e in kb.entries}

    def _key(self, text: str) -> str:
        return "".join(ch for ch in self.normalizer.text(text) if ch.isalnum())

    @classmethod
    def from_settings(cls, settings: Settings) -> LexicalEngine:
        kb = load_knowledge(settings.knowledge_dir)
        normalizer = Normalizer.for_knowledge(kb, Path(tempfile.mkdtemp(prefix="faqbot-lexical-")))
        return cls(settings, kb, normalizer, [default_rules(settings, kb, normalizer)])

    def rank(self, message: str, audience: str | None = None) -> list[Candidate]:
        scores = bm25_scores(self._bm25, self.normalizer.tokens(message), len(self.kb.entries))
        top = float(scores.max()) if scores.size and scores.max() > 0 else 1.0
        share = scores / top  # relative to the best match: an ordering, not a probability
        return [
            Candidate(self.kb.entries[k], float(share[k]), k, float(share[k]))
            for k in map(int, np.argsort(-scores, kind="stable"))
        ]

    def answer(
        self, message: Any, context: Context | dict[str, Any] | None = None, session: Session | None = None
    ) -> Reply:
        started = time.perf_counter()
        ctx = context if isinstance(context, Context) else Context.model_validate(context or {})
        session = session if session is not None else Session()
        text = message if isinstance(message, str) else str(message)
        gap = self.gaps.find(self.normalizer.text(text))
        reply = gap_reply(gap, text, self.kb) if gap is not None else None
        if reply is None and text.strip() and len(text) <= self.settings.max_message_chars:
            for rule in self.rules:
                reply = rule.handle(text, ctx, session)
                if reply is not None:
                    break
        entry = self._exact.get(self._key(text)) if reply is None else None
        if entry is not None:
            reply = Reply(
                q=text, kind="faq", text=entry.answer.rstrip(), score=1.0, reason="degraded_exact_question",
                faq=FaqRef(id=entry.id, question=entry.question, category=entry.category, updated=entry.updated_date),
            )  # fmt: skip
        if reply is None:
            reply = self._options(text)
        reply.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        session.record(reply)
        return reply

    def _options(self, text: str) -> Reply:
        ranked = [c for c in self.rank(text) if c.score >= RELATED_MIN_SCORE][:OPTIONS] if text.strip() else []
        head = "抱歉，智能客服暂时只能按关键词查找答案。"
        if not ranked:
            return Reply(
                q=text, kind="fallback", reason="degraded",
                text=head + "这个问题我没有找到相关内容，请点击“转人工”联系人工客服（也可拨打 4009100100）。",
            )  # fmt: skip
        lines = "\n".join(f"{i}. {c.entry.question}" for i, c in enumerate(ranked, 1))
        return Reply(
            q=text,
            kind="clarify",
            reason="degraded",
            text=f"{head}您是想问：\n\n{lines}\n\n请点选一个问题，或点击“转人工”联系人工客服。",
            suggestions=[Suggestion(id=c.entry.id, question=c.entry.question, score=round(c.score, 4)) for c in ranked],
        )

    def suggest(
        self, message: str, context: Context | dict[str, Any] | None = None, session: Session | None = None, k: int = 3
    ) -> list[AgentSuggestion]:
        return [
            AgentSuggestion(
                kind="faq",
                text=c.entry.answer.rstrip(),
                faq=FaqRef(
                    id=c.entry.id, question=c.entry.question, category=c.entry.category, updated=c.entry.updated_date
                ),
                score=round(c.score, 4),
            )
            for c in self.rank(message)[:k]
        ]
