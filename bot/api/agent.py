"""The agent console: login (CSRF-protected form), the console page, its JSON API and the live queue socket."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Form, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from bot.api.deps import AgentDep, AuthDep, ServiceDep, accept_with_service
from bot.api.errors import ApiError
from bot.auth import new_csrf_token, same_token
from bot.conversations import ConversationNotFound
from bot.engine import AgentSuggestion

router = APIRouter()


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


@router.get("/agent", response_class=HTMLResponse, include_in_schema=False)
def console(request: Request) -> Response:
    if request.session.get("role") not in ("agent", "admin"):
        return request.app.state.templates.TemplateResponse(
            request, "agent_login.html", {"csrf": _csrf(request), "error": None}
        )
    return request.app.state.templates.TemplateResponse(
        request, "agent.html", {"csrf": _csrf(request), "agent": request.session["agent"]}
    )


@router.post("/agent/login", include_in_schema=False)
def login(
    request: Request,
    auth: AuthDep,
    password: str = Form(..., max_length=200),
    name: str = Form("客服", max_length=40),
    csrf: str = Form(..., max_length=100),
) -> Response:
    if not same_token(csrf, request.session.get("csrf")):
        raise ApiError(403, "csrf", "登录表单已过期，请刷新页面后重试。")
    role = auth.role_for(password)
    if role is None:
        return request.app.state.templates.TemplateResponse(
            request, "agent_login.html", {"csrf": _csrf(request), "error": "密码不正确"}, status_code=401
        )
    request.session.clear()
    request.session["agent"] = name.strip() or "客服"
    request.session["role"] = role
    request.session["csrf"] = new_csrf_token()
    return RedirectResponse("/agent", status_code=303)


@router.post("/agent/logout", include_in_schema=False)
def logout(request: Request, csrf: str = Form(..., max_length=100)) -> Response:
    if same_token(csrf, request.session.get("csrf")):
        request.session.clear()
    return RedirectResponse("/agent", status_code=303)


class AgentMessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class HandoffIn(BaseModel):
    state: Literal["agent", "bot"]


@router.get("/api/agent/queue", tags=["agent"])
def queue(agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    return {"items": service.queue()}


@router.get("/api/agent/conversations/{conversation_id}", tags=["agent"])
async def conversation(conversation_id: str, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    try:
        conv, messages = service.conversation(conversation_id)
        suggestions = await service.suggestions(conversation_id)
    except ConversationNotFound as exc:
        raise ApiError(404, "not_found", f"no conversation {conversation_id!r}") from exc
    return {
        "conversation": service.queue_item(conv),
        "messages": [m.public() for m in messages],
        "suggestions": [s.model_dump(mode="json") for s in suggestions],
    }


@router.post("/api/agent/conversations/{conversation_id}/messages", tags=["agent"], status_code=201)
async def send(conversation_id: str, body: AgentMessageIn, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    try:
        message = await service.agent_message(conversation_id, body.text, agent)
    except ConversationNotFound as exc:
        raise ApiError(404, "not_found", f"no conversation {conversation_id!r}") from exc
    return message.public()


@router.post("/api/agent/conversations/{conversation_id}/handoff", tags=["agent"])
async def handoff(conversation_id: str, body: HandoffIn, agent: AgentDep, service: ServiceDep) -> dict[str, Any]:
    """`agent`: take over (the bot stops answering); `bot`: hand back."""
    try:
        conv = await service.set_handoff(conversation_id, body.state, agent)
    except ConversationNotFound as exc:
        raise ApiError(404, "not_found", f"no conversation {conversation_id!r}") from exc
    return service.queue_item(conv)


@router.get("/api/agent/suggest", tags=["agent"], response_model=list[AgentSuggestion])
async def suggest(agent: AgentDep, service: ServiceDep, q: str = Query(..., min_length=1, max_length=500)) -> list[Any]:
    """Suggested replies for any customer question (for phone and tickets)."""
    return await service.suggest(q)


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    """Live queue for logged-in agents: {"type": "queue"} and {"type": "message"} frames."""
    if ws.session.get("role") not in ("agent", "admin"):
        await ws.close(code=1008, reason="login required")
        return
    service = await accept_with_service(ws)
    if service is None:
        return
    await ws.send_json({"type": "snapshot", "items": service.queue()})
    service.hub.agents.add(ws)
    try:
        while True:
            await ws.receive_text()  # agents only listen; anything they send is ignored
    except WebSocketDisconnect:
        pass
    finally:
        service.hub.agents.discard(ws)
