"""POST /api/feedback: helpful / not helpful on a bot reply, with an optional comment."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.api.deps import ServiceDep
from bot.api.errors import ApiError
from bot.conversations import ConversationNotFound

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    message_id: int = Field(ge=1, le=2**63 - 1, description="`message_id` of the reply being rated.")
    helpful: bool
    comment: str | None = Field(None, max_length=1000)


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


@router.post("/api/feedback", response_model=FeedbackOut, status_code=201)
async def feedback(body: FeedbackIn, service: ServiceDep) -> FeedbackOut:
    try:
        fid = await service.feedback(body.message_id, body.helpful, body.comment)
    except ConversationNotFound as exc:
        raise ApiError(404, "not_found", f"no bot reply with message_id {body.message_id}") from exc
    return FeedbackOut(id=fid)
