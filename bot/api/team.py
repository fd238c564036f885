"""The team's accounts, their console sessions, and canned responses. Admins create, change, disable and reset
accounts and edit canned responses; every agent sees the canned responses and their own sessions."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

from bot.api.deps import AdminDep, AgentDep, AuthDep, StoreDep
from bot.api.errors import error_copy
from bot.errors import Conflict, InvalidRequest, NotFound, StoreError

router = APIRouter(tags=["team"])
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{1,31}")


class _Text(BaseModel):
    @field_validator("*")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class AccountIn(_Text):
    username: str = Field(min_length=2, max_length=32, description="2–32 of a–z, 0–9, _ . -; starts with a letter")
    display_name: str = Field(min_length=1, max_length=40, description="What users see as the agent's name.")
    role: Literal["agent", "admin"] = "agent"
    knowledge_editor: bool = Field(False, description="An agent who may work the review inbox and edit the FAQ.")

    @field_validator("username")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip().lower()
        if not USERNAME.fullmatch(value):
            raise ValueError("use 2–32 of a–z, 0–9, _ . - starting with a letter")
        return value


class AccountChange(_Text):
    display_name: str | None = Field(None, min_length=1, max_length=40)
    role: Literal["agent", "admin"] | None = None
    disabled: bool | None = None
    knowledge_editor: bool | None = None


class CannedIn(_Text):
    title: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=4000)


def _one_time_password() -> str:
    import secrets

    return secrets.token_urlsafe(12)


@router.get("/api/agent/accounts")
async def accounts(admin: AdminDep, store: StoreDep) -> list[dict[str, Any]]:
    """Every console account (no password hashes) with its number of live sessions."""
    return await asyncio.to_thread(store.accounts)


@router.post("/api/agent/accounts", status_code=201)
async def create_account(body: AccountIn, request: Request, admin: AdminDep, auth: AuthDep) -> dict[str, Any]:
    """A new account with a generated password, returned this once (hand it over; they can be reset)."""
    password = _one_time_password()
    digest = await asyncio.to_thread(auth.hash, password)
    created = await asyncio.to_thread(auth.store.create_account, body.username, body.display_name, body.role, digest)
    if not created:
        raise Conflict(error_copy(request).say("account_exists", username=body.username), code="account_exists")
    if body.knowledge_editor:
        await asyncio.to_thread(auth.store.update_account, body.username, knowledge_editor=True)
    return {"username": body.username, "display_name": body.display_name, "role": body.role,
            "knowledge_editor": body.knowledge_editor, "password": password}  # fmt: skip


def _not_self_lockout(admin_username: str, username: str, change: AccountChange) -> None:
    if admin_username == username and (change.disabled or change.role == "agent"):
        raise InvalidRequest("you cannot disable your own account or take away your own admin role",
                             code="self_lockout")  # fmt: skip


@router.post("/api/agent/accounts/{username}")
async def change_account(username: str, body: AccountChange, request: Request, admin: AdminDep, store: StoreDep
                         ) -> dict[str, Any]:  # fmt: skip
    """Rename, change the role, disable (its sessions end at once) or enable an account."""
    _not_self_lockout(admin.username, username, body)
    found = await asyncio.to_thread(store.update_account, username, display_name=body.display_name, role=body.role,
                                    disabled=body.disabled, knowledge_editor=body.knowledge_editor)  # fmt: skip
    if not found:
        raise NotFound(error_copy(request).say("unknown_account", username=username))
    return {"username": username, "changed": True}


@router.post("/api/agent/accounts/{username}/password")
async def reset_password(username: str, request: Request, admin: AdminDep, auth: AuthDep) -> dict[str, Any]:
    """A new generated password for the account, returned this once; all its sessions end."""
    password = _one_time_password()
    try:
        await asyncio.to_thread(auth.set_password, username, password)
    except StoreError as exc:
        raise NotFound(error_copy(request).say("unknown_account", username=username)) from exc
    return {"username": username, "password": password}


@router.post("/api/agent/accounts/{username}/sign-out")
async def sign_out_account(username: str, admin: AdminDep, store: StoreDep) -> dict[str, Any]:
    """End every session of the account (a lost laptop, someone who left)."""
    return {"ended": await asyncio.to_thread(store.end_sessions, username)}


@router.get("/api/agent/sessions")
async def my_sessions(request: Request, agent: AgentDep, store: StoreDep) -> list[dict[str, Any]]:
    """My live console sessions, newest first; `current` marks this one."""
    from bot.store import session_handle

    mine = session_handle(str(request.session.get("sid") or ""))
    rows = await asyncio.to_thread(store.sessions, agent.username)
    return [{**r, "current": r["id"] == mine} for r in rows]


class SignOutIn(BaseModel):
    everywhere: bool = Field(False, description="this session too (otherwise every other one)")


@router.post("/api/agent/sessions/sign-out")
async def sign_out_everywhere(body: SignOutIn, request: Request, agent: AgentDep, store: StoreDep
                              ) -> dict[str, Any]:  # fmt: skip
    """Sign out my other sessions, or every one including this (`everywhere`)."""
    keep = None if body.everywhere else str(request.session.get("sid") or "")
    ended = await asyncio.to_thread(store.end_sessions, agent.username, keep)
    if body.everywhere:
        request.session.clear()
    return {"ended": ended}


@router.get("/api/agent/canned")
async def canned(agent: AgentDep, store: StoreDep) -> list[dict[str, Any]]:
    """The team's canned responses."""
    return await asyncio.to_thread(store.canned)


@router.post("/api/agent/canned", status_code=201)
async def add_canned(body: CannedIn, admin: AdminDep, store: StoreDep) -> dict[str, Any]:
    cid = await asyncio.to_thread(store.save_canned, body.title, body.text, admin.username)
    return {"id": cid, "title": body.title, "text": body.text}


@router.post("/api/agent/canned/{canned_id}")
async def edit_canned(canned_id: int, body: CannedIn, admin: AdminDep, store: StoreDep) -> dict[str, Any]:
    try:
        await asyncio.to_thread(store.save_canned, body.title, body.text, admin.username, canned_id)
    except StoreError as exc:
        raise NotFound(f"no canned response {canned_id}") from exc
    return {"id": canned_id, "title": body.title, "text": body.text}


@router.post("/api/agent/canned/{canned_id}/delete")
async def delete_canned(canned_id: int, admin: AdminDep, store: StoreDep) -> dict[str, Any]:
    if not await asyncio.to_thread(store.delete_canned, canned_id):
        raise NotFound(f"no canned response {canned_id}")
    return {"deleted": canned_id}
