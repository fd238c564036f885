"""POST /api/chat and the WebSocket /ws/chat: a user's messages in, reply objects out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.types import Message

from bot.api.deps import ServiceDep, SettingsDep, accept_with_service, get_settings
from bot.api.errors import STORAGE_ERRORS, error_copy
from bot.api.guards import Guards, client_address
from bot.conversations import ChatService
from bot.errors import InvalidRequest, RateLimited, first_error
from bot.messages import ErrorCopy
from bot.reply import Context, Reason, Reply
from bot.safe_text import has_surrogates
from bot.settings import Settings
from bot.store import new_id

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
        why = error_copy(request).say("message_too_long", limit=settings.max_message_chars)
        raise InvalidRequest(why, code="message_too_long")
    guards: Guards = request.app.state.guards
    address = client_address(request)
    existing = await service.find(body.session_id)
    conversation_id = existing.id if existing is not None else new_id()
    guards.check_message(conversation_id, address)
    if existing is None:  # an unknown session_id starts a new conversation, with an id of the server's choosing
        guards.check_new_conversation(address)
    with guards.turn(address):
        reply = await service.user_message(conversation_id, body.message, body.context, address=address,
                                           new=existing is None)  # fmt: skip
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
    address = client_address(ws)
    service = await accept_with_service(ws)
    if service is None:
        return
    if not guards.open_socket(address):
        await ws.close(code=1008, reason=f"at most {settings.connections_per_ip} open chats per address")
        return
    try:
        await _converse(ws, service, settings, guards, address)
    except WebSocketDisconnect:
        pass
    except STORAGE_ERRORS:
        log.exception("storage error opening a chat socket")
        await _close(ws, 1011, "storage unavailable")
    finally:
        guards.close_socket(address)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close(code=code, reason=reason)


async def _converse(ws: WebSocket, service: ChatService, settings: Settings, guards: Guards, address: str) -> None:
    # Nothing is stored until the first message: a bare connect creates no conversation. A new socket gets a
    # provisional id that becomes the conversation's id with its first message.
    conv = await service.find(ws.query_params.get("session_id"))
    conversation_id = conv.id if conv is not None else new_id()
    stored = conv is not None
    history = [m for m in (await service.shown_history(conversation_id) if stored else []) if m["role"] != "note"]
    for m in history:  # the user sees an agent by the account's display name, never the account
        if m["role"] == "agent":
            m["agent"] = m["agent_name"]
    await ws.send_json({"type": "session", "session_id": conversation_id, "history": history,
                        **(await service.people_state(conv))})  # fmt: skip
    service.hub.join_user(conversation_id, ws)
    try:
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=settings.ws_idle_seconds)
            except TimeoutError:
                await _close(ws, 1000, "idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                return
            frame = _parse(message, settings.max_message_chars, error_copy(ws))
            if frame.get("pong"):
                await ws.send_json({"type": "pong"})
                continue
            if "error" in frame:
                await ws.send_json(_error(*frame["error"]))
                continue
            try:
                guards.check_message(conversation_id, address)
                if not stored:
                    guards.check_new_conversation(address)
                await ws.send_json({"type": "typing"})
                button = bool(frame.get("handoff"))
                text = service.messages.people.handoff_request if button else frame["text"]
                with guards.turn(address):
                    reply = await service.user_message(conversation_id, text, frame["context"], address=address,
                                                       new=not stored, handoff=button)  # fmt: skip
            except RateLimited as exc:
                await ws.send_json(_error("rate_limited", exc.message))
                continue
            except STORAGE_ERRORS:
                log.exception("storage error in conversation %s", conversation_id)
                await ws.send_json(_error("storage_unavailable", error_copy(ws).storage_unavailable))
                continue
            except Exception:  # never drop the socket without a close frame: say so and keep it
                log.exception("unexpected error in conversation %s", conversation_id)
                await ws.send_json(_error("internal_error", error_copy(ws).message_not_handled))
                continue
            stored = True
            await ws.send_json({"type": "reply", "reply": reply.model_dump(mode="json")})
            if reply.kind == "handoff" and reply.reason == Reason.USER_REQUEST:
                await ws.send_json({"type": "handoff", "state": "requested"})
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.leave_user(conversation_id, ws)


def _parse(message: Message, max_chars: int, errors: ErrorCopy) -> dict[str, Any]:
    raw = message.get("text")
    if raw is None:
        return {"error": ("bad_frame", errors.binary_frame)}
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        return {"error": ("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return {"error": ("bad_json", "a frame must be a JSON object")}
    if not isinstance(data, dict):
        return {"error": ("bad_frame", "a frame must be a JSON object")}
    if data.get("type") == "ping":  # keep-alive from clients behind proxies that drop idle sockets
        return {"pong": True}
    if data.get("type") == "handoff":  # the widget's 转人工 button
        data = {**data, "text": None}
    elif data.get("type") != "message":
        kind = data.get("type")
        shown = kind if isinstance(kind, str | int | float | bool | None) and not has_surrogates(kind) else "?"
        return {"error": ("unknown_type", f"unknown frame type {shown!r}; expected 'message' or 'handoff'")}
    if data.get("text") is None and data.get("type") == "handoff":
        try:
            return {"handoff": True, "text": None, "context": Context.model_validate(data.get("context") or {})}
        except ValidationError as exc:
            return {"error": ("bad_context", f"context.{first_error(exc.errors())}")}
    text = data.get("text")
    if not isinstance(text, str):
        return {"error": ("bad_text", "'text' must be a string")}
    if has_surrogates(data):
        return {"error": ("bad_text", errors.lone_surrogates)}
    if len(text) > max_chars:
        return {"error": ("too_long", f"messages are limited to {max_chars} characters")}
    try:
        context = Context.model_validate(data.get("context") or {})
    except ValidationError as exc:
        return {"error": ("bad_context", f"context.{first_error(exc.errors())}")}
    return {"text": text, "context": context}
