"""The review inbox: what the bot handled badly (fallbacks, clarifications, low-confidence answers, thumbs-down),
grouped by meaning, with the bot's top candidates for each group — minus what has been dealt with: questions that
are alternates or out-of-scope examples of the live knowledge now, and questions a person dismissed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.reporting import group_questions

if TYPE_CHECKING:
    from bot.engine import AnswerEngine

CANDIDATES = 3


def _key(text: str) -> str:
    return " ".join(text.split())


def inbox_groups(
    rows: list[dict[str, Any]], engine: AnswerEngine, dismissed: set[str], similarity: float, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """(open questions, the largest ``limit`` groups). Runs the encoder: call it on an engine thread."""
    kb = engine.kb
    handled = {_key(t) for t in dismissed} | {_key(t) for t in kb.out_of_scope}
    handled |= {_key(t) for e in kb.entries for t in (e.question, *e.alternates)}
    open_rows = [r for r in rows if _key(str(r["question"])) not in handled]
    if not open_rows or engine.encoder is None:
        return len(open_rows), []
    groups = group_questions(open_rows, engine.encoder, similarity)
    out = []
    for g in groups[:limit]:
        ranked = engine.retriever.rank(g.question)[:CANDIDATES]
        out.append({
            "question": g.question,
            "count": g.count,
            "kinds": dict(g.kinds),
            "thumbs_down": g.thumbs_down,
            "examples": [g.question, *g.variants],
            "candidates": [{"id": c.entry.id, "question": c.entry.question, "score": round(c.score, 3)}
                           for c in ranked],
        })  # fmt: skip
    return len(open_rows), out
