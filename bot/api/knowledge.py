"""Knowledge changes from the console (admin): the history, a change or an undo checked by the regression guard
and swapped in while the bot serves, and the job's progress."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from bot.api.deps import AdminDep, ServiceDep, SettingsDep, StoreDep
from bot.errors import Unavailable
from bot.knowledge_jobs import KnowledgeUpdater

router = APIRouter(tags=["knowledge"])


class _Checked(BaseModel):
    reason: str | None = Field(None, max_length=1000, description="Why; required with `override`.")
    override: bool = Field(False, description="Swap in even if golden questions get worse (with a reason).")

    @model_validator(mode="after")
    def _override_says_why(self) -> _Checked:
        if self.override and not (self.reason or "").strip():
            raise ValueError("an override needs a reason")
        return self


class ChangeIn(_Checked):
    change: dict[str, Any] = Field(description="A knowledge change: add_alternates, edit_entry, new_entry, …")


def _updater(request: Request) -> KnowledgeUpdater:
    updater: KnowledgeUpdater | None = request.app.state.updater
    if updater is None:
        raise Unavailable("the answer engine is not running, so no knowledge change can be checked")
    return updater


class DismissIn(BaseModel):
    questions: list[str] = Field(min_length=1, max_length=500)


@router.get("/api/admin/inbox")
async def inbox(
    admin: AdminDep, service: ServiceDep, settings: SettingsDep, limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    """What the bot handled badly, grouped by meaning, largest first, with its top candidates for each group;
    questions since answered by an accepted change, or dismissed, are gone."""
    from bot.inbox import inbox_groups

    store, engine = service.store, service.engine
    rows = await service.db.read(lambda: store.to_improve(low_score=settings.report_low_score))
    dismissed = await service.db.read(store.dismissed)
    if engine.encoder is None:
        raise Unavailable("the inbox groups questions with the encoder, which is not loaded")
    total, groups = await service.worker.run(inbox_groups, rows, engine, dismissed, 0.9, limit)
    return {"open": total, "groups": groups}


@router.post("/api/admin/inbox/dismiss")
async def dismiss(body: DismissIn, admin: AdminDep, service: ServiceDep) -> dict[str, int]:
    """These questions need nothing: they leave the inbox."""
    store = service.store
    await service.db.write(lambda: store.dismiss(body.questions, admin.username))
    return {"dismissed": len(body.questions)}


@router.get("/api/admin/knowledge/changes")
async def changes(admin: AdminDep, store: StoreDep) -> list[dict[str, Any]]:
    """Every stored change, oldest first: who, when, why; undone and exported marks."""
    return await asyncio.to_thread(store.knowledge_changes)


@router.post("/api/admin/knowledge/changes", status_code=202)
async def propose(body: ChangeIn, request: Request, admin: AdminDep) -> JSONResponse:
    """Check a change in the background (build, guard) and swap it in if it passes; poll the job."""
    job = _updater(request).start_change(body.change, admin.username, body.reason, body.override)
    return JSONResponse(job.public(), status_code=202)


@router.post("/api/admin/knowledge/changes/{change_id}/undo", status_code=202)
async def undo(change_id: int, body: _Checked, request: Request, admin: AdminDep) -> JSONResponse:
    job = await _updater(request).start_undo(change_id, admin.username, body.reason, body.override)
    return JSONResponse(job.public(), status_code=202)


@router.get("/api/admin/knowledge/job")
async def job(request: Request, admin: AdminDep) -> dict[str, Any] | None:
    """The last job: running (step, done/total), refused (the golden questions that got worse), failed, done."""
    current = _updater(request).job
    return None if current is None else current.public()
