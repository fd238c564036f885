"""POST /api/feedback: helpful / not helpful on a bot reply, with an optional comment."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from bot.api.deps import ServiceDep
from bot.api.guards import Guards, client_address

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    message_id: int = Field(ge=1, le=2**63 - 1, description="`message_id` of the reply being rated.")
    session_id: str = Field(max_length=64, description="The conversation the reply belongs to (its `session_id`).")
    helpful: bool
    comment: str | None = Field(None, max_length=1000)


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


@router.post("/api/feedback", response_model=FeedbackOut, status_code=201)
async def feedback(body: FeedbackIn, request: Request, service: ServiceDep) -> FeedbackOut:
    """Only the conversation's own client can rate its replies (it knows the session id), within the same rate
    limit as its messages."""
    guards: Guards = request.app.state.guards
    guards.check_message(body.session_id, client_address(request))
    fid = await service.feedback(body.message_id, body.session_id, body.helpful, body.comment)  # 404 if not its own
    return FeedbackOut(id=fid)
