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


def agent_proposals(cited: list[dict[str, Any]], kb: Any, dismissed: set[str]) -> list[dict[str, Any]]:
    """Questions a person resolved with a reply built from an FAQ entry (``ConversationStore.agent_citations``),
    proposed as alternates of that entry: one per (entry, question), most often resolved first. Questions the
    live knowledge already has, or that someone dismissed, are left out."""
    handled = {_key(t) for t in dismissed} | {_key(t) for t in kb.out_of_scope}
    handled |= {_key(t) for e in kb.entries for t in (e.question, *e.alternates)}
    proposals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in cited:
        entry = kb.by_id.get(row["entry_id"])
        question = _key(str(row["question"]))
        if entry is None or question in handled:
            continue
        p = proposals.setdefault((entry.id, question), {
            "question": question, "entry_id": entry.id, "entry_question": entry.question, "count": 0, "agents": [],
            "conversations": [],
        })  # fmt: skip
        p["count"] += 1
        if row["agent"] and row["agent"] not in p["agents"]:
            p["agents"].append(row["agent"])
        p["conversations"].append(row["conversation_id"])
    return sorted(proposals.values(), key=lambda p: -p["count"])


def entry_conflicts(engine: AnswerEngine, entry: Any) -> dict[str, list[dict[str, Any]]]:
    """Where an entry collides with others: the FAQ source contradicting itself about it (knowledge/conflicts.yaml),
    phrasings another entry also lists, and phrasings the bot answers with another entry today. Runs the encoder:
    call it on an engine thread."""
    kb = engine.kb
    source = [
        {"note": c.note, "entries": [{"id": i, "question": kb.by_id[i].question} for i in c.entries
                                     if i != entry.id and i in kb.by_id]}
        for c in kb.conflicts_for(entry.id)
    ]  # fmt: skip
    owners: dict[str, list[str]] = {}
    for other in kb.entries:
        if other.id != entry.id:
            for text in (other.question, *other.alternates):
                owners.setdefault(_key(text), []).append(other.id)
    mine = list(dict.fromkeys((entry.question, *entry.alternates)))
    shared = [
        {"text": t, "entries": [{"id": i, "question": kb.by_id[i].question} for i in dict.fromkeys(owners[_key(t)])]}
        for t in mine
        if _key(t) in owners
    ]
    elsewhere = []
    for text in mine[:200]:
        ranked = engine.retriever.rank(text)
        if ranked and ranked[0].entry.id != entry.id:
            top = ranked[0]
            elsewhere.append({"text": text, "id": top.entry.id, "question": top.entry.question,
                              "score": round(top.score, 3)})  # fmt: skip
    return {"source": source, "shared": shared, "elsewhere": elsewhere}
