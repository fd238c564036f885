"""The FAQ as data: GET /api/faq (list, filter, search) and GET /api/faq/{id}."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from bot.api.deps import EngineDep, ServiceDep
from bot.api.errors import ApiError
from bot.knowledge import FaqEntry
from bot.render import markdown_to_html

router = APIRouter(tags=["faq"])


class FaqSummary(BaseModel):
    id: str
    category: str
    audience: str
    question: str
    updated: str


class FaqDetail(FaqSummary):
    answer_markdown: str
    answer_html: str
    conflicts: list[str]


class FaqList(BaseModel):
    total: int
    items: list[FaqSummary]


def summary(e: FaqEntry) -> FaqSummary:
    return FaqSummary(id=e.id, category=e.category, audience=e.audience, question=e.question, updated=e.updated_date)


@router.get("/api/faq", response_model=FaqList)
async def list_faq(
    engine: EngineDep,
    service: ServiceDep,
    category: str | None = None,
    audience: Literal["buyer", "provider", "both"] | None = None,
    q: str | None = Query(None, max_length=200, description="Search: the best matches by the answer engine."),
    limit: int = Query(100, ge=1, le=100),
) -> FaqList:
    entries = engine.kb.entries
    if q and q.strip():
        entries = await service.search(q, limit, at_least_one=True)
    if category:
        entries = [e for e in entries if e.category == category]
    if audience:
        entries = [e for e in entries if e.audience in (audience, "both")]
    return FaqList(total=len(entries), items=[summary(e) for e in entries[:limit]])


@router.get("/api/faq/{entry_id}", response_model=FaqDetail)
def get_faq(entry_id: str, engine: EngineDep) -> FaqDetail:
    entry = engine.kb.by_id.get(entry_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no FAQ entry {entry_id!r}")
    return FaqDetail(
        **summary(entry).model_dump(),
        answer_markdown=entry.answer,
        answer_html=markdown_to_html(entry.answer),
        conflicts=[c.note for c in engine.kb.conflicts_for(entry.id)],
    )
