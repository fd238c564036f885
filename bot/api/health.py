"""GET /healthz (the process is up) and GET /readyz (index loaded, encoder warm, database writable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.api.deps import SettingsDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:  # on the event loop: no worker thread to wait for
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, store: StoreDep, settings: SettingsDep) -> JSONResponse:
    engine = getattr(request.app.state, "engine", None)
    checks = {
        **(engine.ready() if engine is not None else {"index": False, "encoder": False}),
        # one committed test write a second at most, however often the probe (or anybody) asks
        "database": store.writable(min_free_bytes=settings.min_free_disk_mb * 1024 * 1024, reuse_seconds=1.0),
    }
    ok = all(checks.values())
    body: dict[str, object] = {"status": "ready" if ok else "not_ready", "checks": checks}
    problem = getattr(request.app.state, "problem", None)
    if problem:
        body["problem"] = problem
        body["mode"] = "lexical-only" if engine is not None and engine.degraded else "unavailable"
    if not checks["database"]:
        body["database_problem"] = "the database is not writable (read-only, full disk, or its file was deleted)"
    return JSONResponse(body, status_code=200 if ok else 503)
