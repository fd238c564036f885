"""The FAQ as data: GET /api/faq (list, filter, search) and GET /api/faq/{id}."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.requests import HTTPConnection

from bot.api.deps import EngineDep, ServiceDep
from bot.api.guards import Guards, client_address
from bot.conversations import ChatService
from bot.errors import NotFound
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


async def search(
    conn: HTTPConnection, service: ChatService, q: str, limit: int, at_least_one: bool = False
) -> list[FaqEntry]:
    """A search runs the encoder on the engine's thread: limited per address like chat messages."""
    guards: Guards = conn.app.state.guards
    address = client_address(conn)
    guards.check_search(address)
    with guards.turn(address):
        return await service.search(q, limit, at_least_one=at_least_one)


def summary(e: FaqEntry) -> FaqSummary:
    return FaqSummary(id=e.id, category=e.category, audience=e.audience, question=e.question, updated=e.updated_date)


@router.get("/api/faq", response_model=FaqList)
async def list_faq(
    request: Request,
    engine: EngineDep,
    service: ServiceDep,
    category: str | None = None,
    audience: Literal["buyer", "provider", "both"] | None = None,
    q: str | None = Query(None, max_length=200, description="Search: the best matches by the answer engine."),
    limit: int = Query(100, ge=1, le=100),
) -> FaqList:
    entries = engine.kb.entries
    if q and q.strip():
        entries = await search(request, service, q, limit, at_least_one=True)
    if category:
        entries = [e for e in entries if e.category == category]
    if audience:
        entries = [e for e in entries if e.audience in (audience, "both")]
    return FaqList(total=len(entries), items=[summary(e) for e in entries[:limit]])


@router.get("/api/faq/{entry_id}", response_model=FaqDetail)
def get_faq(entry_id: str, engine: EngineDep) -> FaqDetail:
    entry = engine.kb.by_id.get(entry_id)
    if entry is None:
        raise NotFound(f"no FAQ entry {entry_id!r}")
    return FaqDetail(
        **summary(entry).model_dump(),
        answer_markdown=entry.answer,
        answer_html=markdown_to_html(entry.answer),
        conflicts=[c.note for c in engine.kb.conflicts_for(entry.id)],
    )
