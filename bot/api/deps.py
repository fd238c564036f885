"""Dependencies the routes take: the parts opened in the lifespan, and the agent's session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, WebSocket
from starlette.requests import HTTPConnection

from bot.api.errors import error_copy
from bot.auth import AgentAuth, same_token
from bot.conversations import ChatService
from bot.engine import AnswerEngine
from bot.errors import Forbidden, Unauthorized, Unavailable
from bot.messages import Messages
from bot.settings import Settings
from bot.store import Account, ConversationStore


def _state(conn: HTTPConnection) -> Any:
    return conn.app.state


def get_settings(conn: HTTPConnection) -> Settings:
    return _state(conn).settings


def _running(conn: HTTPConnection, name: str) -> Any:
    part = getattr(_state(conn), name, None)
    if part is None:
        # the reason (with file paths) is in the log and /readyz; a visitor gets no internals
        raise Unavailable(error_copy(conn).unavailable)
    return part


def get_messages(conn: HTTPConnection) -> Messages:
    """Every sentence the pages and the API show (the running engine's, swapped by a reload)."""
    messages: Messages = _state(conn).messages
    return messages


def get_engine(conn: HTTPConnection) -> AnswerEngine:
    engine: AnswerEngine = _running(conn, "engine")
    return engine


def get_service(conn: HTTPConnection) -> ChatService:
    service: ChatService = _running(conn, "service")
    return service


def get_store(conn: HTTPConnection) -> ConversationStore:
    return _state(conn).store


def get_auth(conn: HTTPConnection) -> AgentAuth:
    return _state(conn).auth


def signed_in_account(conn: HTTPConnection) -> Account | None:
    """The account of this request's console session, checked against the server-side session table (a
    copied cookie stops working at logout, at a password change and when the session expires)."""
    return get_auth(conn).session_account(conn.session.get("sid"))


def _signed_in(request: Request, roles: tuple[str, ...]) -> Account:
    """The signed-in person's account if their role is one of ``roles``; state-changing calls must also carry the
    session's CSRF token."""
    account = signed_in_account(request)
    if account is None:
        raise Unauthorized(error_copy(request).login_required)
    if account.role not in roles:
        raise Forbidden(error_copy(request).admin_required)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_token(
        request.headers.get("x-csrf-token"), request.session.get("csrf")
    ):
        raise Forbidden("CSRF token missing or wrong; reload the console.", code="csrf")
    return account


async def accept_with_service(ws: WebSocket) -> ChatService | None:
    """Accept the socket; if the answer service is not running, close it (1011) with the reason and return None."""
    await ws.accept()
    try:
        return get_service(ws)
    except Unavailable as exc:
        await ws.close(code=1011, reason=exc.message[:120])
        return None


def current_agent(request: Request) -> Account:
    return _signed_in(request, ("agent", "admin"))


def current_admin(request: Request) -> Account:
    return _signed_in(request, ("admin",))


def current_editor(request: Request) -> Account:
    """An admin, or an agent with the "knowledge editor" permission (the review inbox, the FAQ editor)."""
    account = _signed_in(request, ("agent", "admin"))
    if not account.edits_knowledge:
        raise Forbidden(error_copy(request).editor_required)
    return account


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[AnswerEngine, Depends(get_engine)]
MessagesDep = Annotated[Messages, Depends(get_messages)]
ServiceDep = Annotated[ChatService, Depends(get_service)]
StoreDep = Annotated[ConversationStore, Depends(get_store)]
AuthDep = Annotated[AgentAuth, Depends(get_auth)]
AgentDep = Annotated[Account, Depends(current_agent)]
AdminDep = Annotated[Account, Depends(current_admin)]
EditorDep = Annotated[Account, Depends(current_editor)]
