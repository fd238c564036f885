"""POST /api/chat and the WebSocket /ws/chat: a user's messages in, reply objects out."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from bot.api.deps import ServiceDep, SettingsDep, accept_with_service, get_settings
from bot.api.errors import ApiError
from bot.api.guards import Guards
from bot.conversations import ChatService
from bot.render import markdown_to_html
from bot.reply import Context, Reply
from bot.settings import Settings

router = APIRouter()
log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 16_000


class ChatRequest(BaseModel):
    message: str = Field(description="The user's message.", max_length=20_000)
    session_id: str | None = Field(None, max_length=64, description="Continue this conversation; null starts one.")
    context: Context = Field(default_factory=Context)


@router.post("/api/chat", response_model=Reply, tags=["chat"])
async def chat(body: ChatRequest, request: Request, service: ServiceDep, settings: SettingsDep) -> JSONResponse:
    """Answer one message; the reply carries `session_id` to continue the conversation."""
    if len(body.message) > settings.max_message_chars:
        raise ApiError(422, "message_too_long", f"messages are limited to {settings.max_message_chars} characters")
    key = body.session_id or (request.client.host if request.client else "unknown")
    if not request.app.state.guards.allow_message(key):
        raise ApiError(429, "rate_limited", f"at most {settings.messages_per_minute} messages a minute")
    reply = await service.user_message(body.session_id, body.message, body.context)
    return JSONResponse(reply.model_dump(mode="json"))  # already a validated Reply: skip re-validation


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


@router.websocket("/ws/chat")
async def chat_socket(ws: WebSocket) -> None:
    """Frames: server {"type": "session"} first; client {"type": "message", "text", "context"}; server
    {"type": "typing"} then {"type": "reply", "reply"}; also {"type": "agent_message"} and {"type": "handoff"}."""
    settings = get_settings(ws)
    origin = ws.headers.get("origin")
    if settings.env == "production" and origin not in settings.allowed_origins:
        await ws.close(code=1008, reason="origin not allowed")
        return
    guards = ws.app.state.guards
    address = ws.client.host if ws.client else "unknown"
    service = await accept_with_service(ws)
    if service is None:
        return
    if not guards.open_socket(address):
        await ws.close(code=1008, reason=f"at most {settings.connections_per_ip} open chats per address")
        return
    try:
        await _converse(ws, service, settings, guards)
    finally:
        guards.close_socket(address)


async def _converse(ws: WebSocket, service: ChatService, settings: Settings, guards: Guards) -> None:
    conv = service.open(ws.query_params.get("session_id"))
    history = [
        {**m.public(), "html": markdown_to_html(m.text) if m.role == "bot" else None}
        for m in service.store.messages(conv.id, limit=200)
    ]
    await ws.send_json({"type": "session", "session_id": conv.id, "history": history, "handoff": conv.handoff})
    service.hub.join_user(conv.id, ws)
    try:
        while True:
            try:
                raw = await asyncio.wait_for(ws.receive_text(), timeout=settings.ws_idle_seconds)
            except TimeoutError:
                await ws.close(code=1000, reason="idle timeout")
                return
            frame = _parse(raw, settings.max_message_chars)
            if frame.get("pong"):
                await ws.send_json({"type": "pong"})
                continue
            if "error" in frame:
                await ws.send_json(_error(*frame["error"]))
                continue
            if not guards.allow_message(conv.id):
                await ws.send_json(_error("rate_limited", f"at most {settings.messages_per_minute} messages a minute"))
                continue
            await ws.send_json({"type": "typing"})
            try:
                reply = await service.user_message(conv.id, frame["text"], frame["context"])
            except SQLAlchemyError:
                log.exception("storage error in conversation %s", conv.id)
                await ws.send_json(_error("storage_unavailable", "消息暂时无法保存，请稍后再试。"))
                continue
            await ws.send_json({"type": "reply", "reply": reply.model_dump(mode="json")})
            if reply.kind == "handoff" and reply.reason == "user_request":
                await ws.send_json({"type": "handoff", "state": "requested"})
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.leave_user(conv.id, ws)


def _parse(raw: str, max_chars: int) -> dict[str, Any]:
    if len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
        return {"error": ("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"error": ("bad_json", "a frame must be a JSON object")}
    if not isinstance(data, dict):
        return {"error": ("bad_frame", "a frame must be a JSON object")}
    if data.get("type") == "ping":  # keep-alive from clients behind proxies that drop idle sockets
        return {"pong": True}
    if data.get("type") != "message":
        return {"error": ("unknown_type", f"unknown frame type {data.get('type')!r}; expected 'message'")}
    text = data.get("text")
    if not isinstance(text, str):
        return {"error": ("bad_text", "'text' must be a string")}
    if len(text) > max_chars:
        return {"error": ("too_long", f"messages are limited to {max_chars} characters")}
    try:
        context = Context.model_validate(data.get("context") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        return {"error": ("bad_context", f"context.{'.'.join(map(str, first['loc']))}: {first['msg']}")}
    return {"text": text, "context": context}
