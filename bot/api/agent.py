"""The agent console: login (CSRF-protected form), the console page, its JSON API and the live queue socket."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.exceptions import HTTPException

from bot.api.deps import AgentDep, AuthDep, ServiceDep, accept_with_service, signed_in_account
from bot.api.errors import error_copy
from bot.api.guards import Guards, client_address
from bot.auth import new_csrf_token, same_token
from bot.engine import AgentSuggestion
from bot.errors import BadRequest, Forbidden, InvalidRequest, LoginBusy, RateLimited, first_error
from bot.safe_text import has_surrogates

router = APIRouter()
log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


@router.get("/agent", response_class=HTMLResponse, include_in_schema=False)
def console(request: Request) -> Response:
    account = signed_in_account(request)
    if account is None:
        return _login_page(request, None)
    return request.app.state.templates.TemplateResponse(
        request, "agent.html", {"csrf": _csrf(request), "agent": request.session.get("agent") or account.display_name}
    )


def _login_page(request: Request, error: str | None, status: int = 200, headers: dict[str, str] | None = None,
                username: str = "") -> Response:  # fmt: skip
    return request.app.state.templates.TemplateResponse(
        request, "agent_login.html", {"csrf": _csrf(request), "error": error, "username": username},
        status_code=status, headers=headers,
    )  # fmt: skip


class LoginForm(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field("", max_length=40)
    csrf: str = Field(min_length=1, max_length=100)


async def _small_form(request: Request, model: type[T]) -> T:
    """The form, parsed with hard caps (a few short fields, no files): the body limit already bounds its size,
    these bound what the parser builds from it."""
    try:
        form = await request.form(max_files=0, max_fields=8, max_part_size=4096)
    except HTTPException as exc:
        raise BadRequest(str(exc.detail), code="invalid_request") from exc
    try:
        return model.model_validate({k: v for k, v in form.items() if isinstance(v, str)})
    except ValidationError as exc:
        raise InvalidRequest(first_error(exc.errors())) from exc


def _waiting(request: Request, exc: RateLimited) -> str:
    return error_copy(request).say("retry_after", message=exc.message, seconds=exc.retry_after)


@router.post("/agent/login", include_in_schema=False)
async def login(request: Request, auth: AuthDep) -> Response:
    guards: Guards = request.app.state.guards
    address = client_address(request)
    try:
        guards.check_login_address(address)  # before any parsing: a flood is turned away cheaply
    except RateLimited as exc:
        return _login_page(request, _waiting(request, exc), 429, {"Retry-After": str(exc.retry_after)})
    form = await _small_form(request, LoginForm)
    if not same_token(form.csrf, request.session.get("csrf")):
        raise Forbidden(error_copy(request).form_expired, code="csrf")
    username = form.username.strip().lower()
    try:
        guards.check_login_account(username, address)
        account = await auth.authenticate(username, form.password)
    except RateLimited as exc:
        return _login_page(request, _waiting(request, exc), 429, {"Retry-After": str(exc.retry_after)}, username)
    except LoginBusy:
        return _login_page(request, error_copy(request).login_busy, 503, {"Retry-After": "2"}, username)
    if account is None:
        guards.login_failed(username, address)
        return _login_page(request, error_copy(request).login_failed, 401, None, username)
    guards.login_succeeded(username, address)
    token = await asyncio.to_thread(auth.start_session, account, address)
    request.session.clear()
    request.session["sid"] = token
    request.session["agent"] = form.name.strip() or account.display_name
    request.session["csrf"] = new_csrf_token()
    return RedirectResponse("/agent", status_code=303)


class LogoutForm(BaseModel):
    csrf: str = Field(min_length=1, max_length=100)


@router.post("/agent/logout", include_in_schema=False)
async def logout(request: Request, auth: AuthDep) -> Response:
    form = await _small_form(request, LogoutForm)
    if same_token(form.csrf, request.session.get("csrf")):
        await asyncio.to_thread(auth.end_session, request.session.get("sid"))  # the cookie is dead everywhere
        request.session.clear()
    return RedirectResponse("/agent", status_code=303)


class AgentMessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)

    @field_validator("text")
    @classmethod
    def _encodable(cls, value: str) -> str:
        if has_surrogates(value):
            raise ValueError("contains characters that are not valid Unicode (lone surrogates)")
        return value


class HandoffIn(BaseModel):
    state: Literal["agent", "bot"]


@router.get("/api/agent/queue", tags=["agent"])
async def queue(
    agent: AgentDep,
    service: ServiceDep,
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    """Conversations that need a person, a page at a time: hand-over requests first, oldest wait first; `total`
    counts them all, so none is lost from view however many arrive."""
    return await service.queue(offset, limit)


@router.get("/api/agent/conversations/{conversation_id}", tags=["agent"])
async def conversation(conversation_id: str, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    conv, messages, item = await service.conversation(conversation_id)  # ConversationNotFound is a 404
    try:
        question, suggestions = await service.suggestions(conv, messages)
    except Exception:  # the transcript must open even if suggesting fails; the log has the cause
        log.exception("suggestions failed for conversation %s", conversation_id)
        question, suggestions = None, []
    return {
        "conversation": item,
        "messages": [m.public() for m in messages],
        "suggestions": [s.model_dump(mode="json") for s in suggestions],
        "suggestions_for": None if question is None else {"message_id": question.id, "text": question.text},
    }


@router.post("/api/agent/conversations/{conversation_id}/messages", tags=["agent"], status_code=201)
async def send(conversation_id: str, body: AgentMessageIn, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    message = await service.agent_message(conversation_id, body.text, agent)
    return message.public()


@router.post("/api/agent/conversations/{conversation_id}/handoff", tags=["agent"])
async def handoff(conversation_id: str, body: HandoffIn, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    """`agent`: take over (the bot stops answering); `bot`: hand back."""
    return await service.set_handoff(conversation_id, body.state, agent)


@router.get("/api/agent/suggest", tags=["agent"], response_model=list[AgentSuggestion])
async def suggest(agent: AgentDep, service: ServiceDep, q: str = Query(..., min_length=1, max_length=500)) -> list[Any]:
    """Suggested replies for any customer question (for phone and tickets)."""
    return await service.suggest(q)


def _same_origin(ws: WebSocket) -> bool:
    """The console's socket is opened by the console's own page: its Origin (when a browser sends one) must be
    this server's."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: the session cookie is still required
    return urlsplit(origin).netloc.lower() == (ws.headers.get("host") or "").lower()


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    """Live queue for logged-in agents: {"type": "queue"} and {"type": "message"} frames."""
    if not _same_origin(ws):
        await ws.close(code=1008, reason="origin not allowed")
        return
    if await asyncio.to_thread(signed_in_account, ws) is None:
        await ws.close(code=1008, reason="login required")
        return
    service = await accept_with_service(ws)
    if service is None:
        return
    await ws.send_json({"type": "snapshot", **(await service.queue())})
    service.hub.agents.add(ws)
    try:
        while True:
            message = await ws.receive()  # agents only listen; anything they send is ignored
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.agents.discard(ws)
