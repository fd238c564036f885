"""The agent console: login (CSRF-protected form), the console page, its JSON API and the live queue socket."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException

from bot.api.deps import AdminDep, AgentDep, AuthDep, ServiceDep, accept_with_service, signed_in_account
from bot.api.errors import error_copy
from bot.api.guards import Guards, client_address
from bot.auth import new_csrf_token, same_token
from bot.engine import AgentSuggestion
from bot.errors import BadRequest, Forbidden, InvalidRequest, LoginBusy, RateLimited, first_error
from bot.store import Account

router = APIRouter()
HEARTBEAT_SECONDS = 30  # a console's socket marks its session seen this often (FAQBOT_AGENT_ONLINE_SECONDS > it)
log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def _me(account: Account) -> dict[str, Any]:
    return {"username": account.username, "display_name": account.display_name, "role": account.role,
            "knowledge_editor": account.edits_knowledge}  # fmt: skip


def console_context(request: Request, account: Account) -> dict[str, Any]:
    """What every console page's template gets: the CSRF token and who is signed in."""
    return {"csrf": _csrf(request), "me": _me(account)}


@router.get("/agent", response_class=HTMLResponse, include_in_schema=False)
def console(request: Request) -> Response:
    account = signed_in_account(request)
    if account is None:
        return _login_page(request, None)
    return request.app.state.templates.TemplateResponse(request, "agent.html", console_context(request, account))


def _login_page(request: Request, error: str | None, status: int = 200, headers: dict[str, str] | None = None,
                username: str = "") -> Response:  # fmt: skip
    return request.app.state.templates.TemplateResponse(
        request, "agent_login.html", {"csrf": _csrf(request), "error": error, "username": username},
        status_code=status, headers=headers,
    )  # fmt: skip


class LoginForm(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
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
    cites: str | None = Field(
        None, max_length=64, description="The FAQ entry this reply was built from (a suggestion the agent used)."
    )


class HandoffIn(BaseModel):
    state: Literal["agent", "bot"]
    force: bool = Field(False, description="take over a conversation another agent owns (noted in the transcript)")


class AssignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)


View = Literal["all", "mine", "unassigned"]


@router.get("/api/agent/me", tags=["agent"])
async def me(agent: AgentDep) -> dict[str, Any]:
    return _me(agent)


@router.get("/api/agent/queue", tags=["agent"])
async def queue(
    agent: AgentDep,
    service: ServiceDep,
    view: View = "all",
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    """Open conversations that need a person, a page at a time: hand-over requests first, oldest wait first.
    `view`: all, mine (owned by me), unassigned. `total` counts the view, `counts` every view, `reads` where I
    have read up to (a message id) in each listed conversation."""
    return await service.queue(offset, limit, view, agent.username)


@router.get("/api/agent/search", tags=["agent"])
async def search_conversations(
    agent: AgentDep,
    service: ServiceDep,
    q: str = Query(..., min_length=1, max_length=200),
    status: Literal["resolved", "open", "all"] = "resolved",
) -> list[dict[str, Any]]:
    """Conversations whose messages contain `q` (or whose id starts with it), newest first."""
    return await service.search_conversations(q, status)


@router.get("/api/agent/conversations/{conversation_id}", tags=["agent"])
async def conversation(conversation_id: str, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    """The transcript (bot messages with the HTML the user saw), the context beside it, suggested replies for the
    latest question. Opening it marks it read for me."""
    conv, messages, item = await service.conversation(conversation_id, reader=agent.username)
    try:
        question, suggestions = await service.suggestions(conv, messages)
    except Exception:  # the transcript must open even if suggesting fails; the log has the cause
        log.exception("suggestions failed for conversation %s", conversation_id)
        question, suggestions = None, []
    context = await service.db.read(service.context, conv, messages)
    return {
        "conversation": item,
        "context": context,
        "messages": await service.db.read(service.shown, conversation_id, messages),
        "suggestions": [s.model_dump(mode="json") for s in suggestions],
        "suggestions_for": None if question is None else {"message_id": question.id, "text": question.text},
    }


@router.post("/api/agent/conversations/{conversation_id}/messages", tags=["agent"], status_code=201)
async def send(conversation_id: str, body: AgentMessageIn, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    """Write to the user. Only the owner may; writing to a conversation nobody owns takes it over."""
    message = await service.agent_message(conversation_id, body.text, agent, cites=body.cites)
    return message.public()


@router.post("/api/agent/conversations/{conversation_id}/handoff", tags=["agent"])
async def handoff(conversation_id: str, body: HandoffIn, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    """`agent`: take over (the bot stops; another agent's conversation needs `force`); `bot`: hand back (owner or
    admin)."""
    if body.state == "agent":
        return await service.take_over(conversation_id, agent, force=body.force)
    return await service.hand_back(conversation_id, agent)


@router.post("/api/agent/conversations/{conversation_id}/resolve", tags=["agent"])
async def resolve(conversation_id: str, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    """Done: out of the queue until the user writes again (owner, anyone if nobody owns it, or an admin)."""
    return await service.resolve(conversation_id, agent)


@router.post("/api/agent/conversations/{conversation_id}/assign", tags=["agent"])
async def assign(conversation_id: str, body: AssignIn, admin: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """An admin gives the conversation to an agent."""
    return await service.assign(conversation_id, body.username.strip().lower(), admin)


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
    account = await asyncio.to_thread(signed_in_account, ws)
    if account is None:
        await ws.close(code=1008, reason="login required")
        return
    service = await accept_with_service(ws)
    if service is None:
        return
    token = ws.session.get("sid")
    auth = ws.app.state.auth
    await asyncio.to_thread(auth.store.touch_session, token)  # online from now: the widget offers a person
    await ws.send_json({"type": "snapshot", **(await service.queue(username=account.username))})
    service.hub.agents.add(ws)
    try:
        while True:
            try:  # agents only listen; anything they send is ignored
                message = await asyncio.wait_for(ws.receive(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                if await asyncio.to_thread(auth.session_account, token) is None:  # signed out elsewhere
                    await ws.close(code=1008, reason="signed out")
                    break
                await asyncio.to_thread(auth.store.touch_session, token)
                continue
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.agents.discard(ws)
