"""GET /healthz (the process is up) and GET /readyz (index loaded, encoder warm, database writable)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bot.api.deps import EngineDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep, store: StoreDep) -> JSONResponse:
    checks = {
        "index": engine.index.faiss_index.ntotal > 0,
        "encoder": engine.warmed,
        "database": store.writable(),
    }
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)
