"""The knowledge page of the console (admins, and agents with the "knowledge editor" permission): the review inbox,
the FAQ editor's entries with their conflicts and a Markdown preview, the history of changes, a change or an undo
checked by the regression guard and swapped in while the bot serves, and the job's progress. Only an admin may
override the guard."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, model_validator

from bot.api.deps import EditorDep, ServiceDep, SettingsDep, StoreDep, signed_in_account
from bot.api.errors import error_copy
from bot.errors import Forbidden, NotFound, Unavailable
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


def _may_override(request: Request, editor: Any, body: _Checked) -> None:
    if body.override and editor.role != "admin":
        raise Forbidden(error_copy(request).override_admin_only, code="override_admin_only")


class DismissIn(BaseModel):
    questions: list[str] = Field(min_length=1, max_length=500)


@router.get("/api/admin/inbox")
async def inbox(
    editor: EditorDep, service: ServiceDep, settings: SettingsDep, limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    """What the bot handled badly, grouped by meaning, largest first, with its top candidates for each group;
    questions since answered by an accepted change, or dismissed, are gone."""
    from bot.inbox import agent_proposals, inbox_groups

    store, engine = service.store, service.engine
    rows = await service.db.read(lambda: store.to_improve(low_score=settings.report_low_score))
    dismissed = await service.db.read(store.dismissed)
    cited = await service.db.read(store.agent_citations)
    if engine.encoder is None:
        raise Unavailable("the inbox groups questions with the encoder, which is not loaded")
    total, groups = await service.worker.run(inbox_groups, rows, engine, dismissed, 0.9, limit)
    return {"open": total, "groups": groups, "proposals": agent_proposals(cited, engine.kb, dismissed)}


@router.post("/api/admin/inbox/dismiss")
async def dismiss(body: DismissIn, editor: EditorDep, service: ServiceDep) -> dict[str, int]:
    """These questions need nothing: they leave the inbox."""
    store = service.store
    await service.db.write(lambda: store.dismiss(body.questions, editor.username))
    return {"dismissed": len(body.questions)}


@router.get("/api/admin/knowledge/changes")
async def changes(editor: EditorDep, store: StoreDep) -> list[dict[str, Any]]:
    """Every stored change, oldest first: who, when, why; undone and exported marks."""
    return await asyncio.to_thread(store.knowledge_changes)


@router.post("/api/admin/knowledge/changes", status_code=202)
async def propose(body: ChangeIn, request: Request, editor: EditorDep) -> JSONResponse:
    """Check a change in the background (build, guard) and swap it in if it passes; poll the job."""
    _may_override(request, editor, body)
    job = _updater(request).start_change(body.change, editor.username, body.reason, body.override)
    return JSONResponse(job.public(), status_code=202)


@router.post("/api/admin/knowledge/changes/{change_id}/undo", status_code=202)
async def undo(change_id: int, body: _Checked, request: Request, editor: EditorDep) -> JSONResponse:
    _may_override(request, editor, body)
    job = await _updater(request).start_undo(change_id, editor.username, body.reason, body.override)
    return JSONResponse(job.public(), status_code=202)


@router.get("/api/admin/knowledge/job")
async def job(request: Request, editor: EditorDep) -> dict[str, Any] | None:
    """The last job: running (step, done/total), refused (the golden questions that got worse), failed, done."""
    current = _updater(request).job
    return None if current is None else current.public()


@router.get("/agent/knowledge", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request) -> Response:
    """The console's knowledge page; the console's sign-in first."""
    from bot.api.agent import console_context

    account = signed_in_account(request)
    if account is None:
        return RedirectResponse("/agent", status_code=303)
    if not account.edits_knowledge:
        raise Forbidden(error_copy(request).editor_required)
    return request.app.state.templates.TemplateResponse(request, "knowledge.html", console_context(request, account))


@router.get("/api/admin/knowledge/entries")
async def entries(editor: EditorDep, service: ServiceDep) -> dict[str, Any]:
    """The live FAQ: every entry (id, category, question, audience, 最近更新时间, number of alternates)."""
    kb = service.engine.kb
    return {
        "categories": kb.categories,
        "entries": [
            {"id": e.id, "category": e.category, "question": e.question, "audience": e.audience,
             "updated": e.updated, "alternates": len(e.alternates)}
            for e in kb.entries
        ],
    }  # fmt: skip


@router.get("/api/admin/knowledge/entries/{entry_id}")
async def entry(entry_id: str, editor: EditorDep, service: ServiceDep) -> dict[str, Any]:
    """One live entry to edit: its Markdown answer, alternates (with who wrote each), and its conflicts — where
    the FAQ source contradicts itself, phrasings another entry also has, and phrasings the bot now answers with
    another entry."""
    from bot.inbox import entry_conflicts

    found = service.engine.kb.by_id.get(entry_id)
    if found is None:
        raise NotFound(f"no FAQ entry {entry_id!r}")
    conflicts = await service.worker.run(entry_conflicts, service.engine, found)
    return {
        "id": found.id, "category": found.category, "question": found.question, "answer": found.answer,
        "audience": found.audience, "updated": found.updated, "source_file": found.source_file,
        "alternates": [{"text": t, "writer": w} for t, w in zip(found.alternates, found.writers, strict=False)],
        "conflicts": conflicts,
    }  # fmt: skip


class PreviewIn(BaseModel):
    markdown: str = Field(max_length=20_000)


@router.post("/api/admin/knowledge/preview")
async def preview(body: PreviewIn, editor: EditorDep) -> dict[str, str]:
    """The answer as the widget will show it: the same Markdown renderer and sanitiser."""
    from bot.render import markdown_to_html

    return {"html": markdown_to_html(body.markdown)}
