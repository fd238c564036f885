"""Admin functions (admin role only): reload the knowledge files, export the report of what to improve."""

from __future__ import annotations

import io

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.api.deps import AdminDep, ServiceDep, SettingsDep
from bot.errors import IndexUnusable, InvalidRequest, KnowledgeError, RulesError, SetupError, Unavailable

router = APIRouter(tags=["admin"])


@router.post("/api/admin/reload")
async def reload_knowledge(request: Request, admin: AdminDep, service: ServiceDep) -> dict[str, object]:
    """Re-read knowledge/ (rebuilding the index if it changed) and swap the engine in; conversations continue."""
    updater = request.app.state.updater  # set beside the service (503 without one): nothing new is opened
    try:
        changes = await updater.live_changes()  # knowledge/ with the changes accepted since
        engine = await updater.build(changes)
    except (KnowledgeError, IndexUnusable, RulesError) as exc:  # the files are wrong: the request cannot be done
        msg = f"knowledge not reloaded, the old one keeps serving: {exc}"
        raise InvalidRequest(msg, code="bad_knowledge") from exc
    except SetupError as exc:  # the encoder or the order data cannot be used right now
        raise Unavailable(f"knowledge not reloaded, the old one keeps serving: {exc}") from exc
    updater.install(changes, engine)
    return {"reloaded": True, "entries": len(engine.kb.entries), "knowledge_hash": engine.kb.content_hash}


@router.get("/api/admin/report.csv")
async def report_csv(admin: AdminDep, service: ServiceDep, settings: SettingsDep) -> Response:
    """The `faqbot report` groups as CSV."""
    from bot.reporting import group_questions, write_csv

    encoder = service.engine.encoder
    if encoder is None:
        raise Unavailable("the report groups questions with the encoder, which is not loaded")
    rows = await service.db.read(lambda: service.store.to_improve(low_score=settings.report_low_score))
    groups = await service.worker.run(group_questions, rows, encoder, 0.9) if rows else []
    out = io.StringIO()
    write_csv(groups, out)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="faqbot-report.csv"'},
    )
