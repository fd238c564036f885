"""Dependencies the routes take: the parts opened in the lifespan, and the agent's session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from bot.api.errors import ApiError
from bot.auth import AgentAuth, same_token
from bot.conversations import ChatService
from bot.engine import AnswerEngine
from bot.settings import Settings
from bot.store import ConversationStore


def _state(conn: HTTPConnection) -> Any:
    return conn.app.state


def get_settings(conn: HTTPConnection) -> Settings:
    return _state(conn).settings


def get_engine(conn: HTTPConnection) -> AnswerEngine:
    return _state(conn).engine


def get_service(conn: HTTPConnection) -> ChatService:
    return _state(conn).service


def get_store(conn: HTTPConnection) -> ConversationStore:
    return _state(conn).store


def get_auth(conn: HTTPConnection) -> AgentAuth:
    return _state(conn).auth


def current_agent(request: Request) -> str:
    """The logged-in agent; state-changing calls must also carry the session's CSRF token."""
    agent = request.session.get("agent")
    if not agent:
        raise ApiError(401, "unauthorized", "请先登录客服后台。")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_token(
        request.headers.get("x-csrf-token"), request.session.get("csrf")
    ):
        raise ApiError(403, "csrf", "CSRF token missing or wrong; reload the console.")
    return str(agent)


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[AnswerEngine, Depends(get_engine)]
ServiceDep = Annotated[ChatService, Depends(get_service)]
StoreDep = Annotated[ConversationStore, Depends(get_store)]
AuthDep = Annotated[AgentAuth, Depends(get_auth)]
AgentDep = Annotated[str, Depends(current_agent)]
