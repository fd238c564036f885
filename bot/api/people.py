"""What the widget asks about people: is anyone there and how long is the wait, a message left while nobody is
online (an offline ticket), and the user's satisfaction once a person has helped."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from bot.api.deps import ServiceDep
from bot.api.errors import error_copy
from bot.api.guards import Guards, client_address
from bot.errors import InvalidRequest

router = APIRouter(tags=["people"])
# a mainland mobile number (an optional +86 / 86 in front; spaces and dashes ignored) or an e-mail address
MOBILE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")


def valid_contact(value: str) -> str | None:
    """The contact as stored (a phone number without separators, or the e-mail address), or None if it is
    neither."""
    text = value.strip()
    phone = re.sub(r"[\s-]", "", text)
    if MOBILE.fullmatch(phone):
        return phone[-11:]
    return text if EMAIL.fullmatch(text) else None


class OfflineIn(BaseModel):
    session_id: str | None = Field(None, max_length=64, description="The conversation, if the user has one.")
    text: str = Field(min_length=1, max_length=1000)
    contact: str = Field(min_length=1, max_length=120, description="A mobile number or an e-mail address.")


class CsatIn(BaseModel):
    session_id: str = Field(max_length=64)
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=1000)


@router.get("/api/chat/waiting")
async def waiting(request: Request, service: ServiceDep, session_id: str | None = Query(None, max_length=64)
                  ) -> dict[str, Any]:  # fmt: skip
    """Whether a person can answer now (someone is signed in to the console, within the configured hours), how
    many people wait ahead of this conversation, and a typical wait in minutes (when there is enough history)."""
    request.app.state.guards.check_search(client_address(request))
    return await service.waiting(session_id)


@router.post("/api/chat/offline", status_code=201)
async def leave_message(body: OfflineIn, request: Request, service: ServiceDep) -> dict[str, Any]:
    """A message and a contact, left while nobody is online: it reaches the console as an offline ticket."""
    guards: Guards = request.app.state.guards
    address = client_address(request)
    guards.check_message(body.session_id or "", address)
    contact = valid_contact(body.contact)
    if contact is None:
        raise InvalidRequest(error_copy(request).bad_contact, code="bad_contact")
    if not guards.allow_handoff(address):  # a ticket is a hand-over request: the same allowance per address
        raise InvalidRequest(service.messages.people.too_many_handoffs, code="too_many_handoffs")
    cid = await service.leave_message(body.session_id, body.text.strip(), contact, address)
    return {"stored": True, "session_id": cid}


@router.post("/api/csat", status_code=201)
async def rate_conversation(body: CsatIn, request: Request, service: ServiceDep) -> dict[str, Any]:
    """1–5 for the person who helped, with an optional comment; one per conversation (a second one replaces it)."""
    guards: Guards = request.app.state.guards
    guards.check_message(body.session_id, client_address(request))
    comment = body.comment.strip() if body.comment and body.comment.strip() else None
    await service.rate_conversation(body.session_id, body.score, comment)
    return {"stored": True}
