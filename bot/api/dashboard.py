"""The support lead's dashboard (admin only): the page, every chart as JSON, each chart as CSV, and the chart
library (Apache ECharts, installed from npm by `make web-deps`) served from the project's own origin."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from bot.api.agent import console_context
from bot.api.deps import AdminDep, MessagesDep, SettingsDep, StoreDep, current_admin, signed_in_account
from bot.dashboard import Dashboard, DashboardFilter, parse_filter
from bot.errors import NotFound, Unavailable
from bot.messages import Messages
from bot.safe_text import for_csv
from bot.settings import Settings

router = APIRouter(tags=["admin"])
log = logging.getLogger(__name__)
ECHARTS = Path("node_modules") / "echarts"  # under FAQBOT_WEB_DIR: `npm ci --prefix web` puts it there
FROM = Query(None, alias="from", max_length=40, description="first Beijing day, YYYY-MM-DD (default: `to` − 29)")
TO = Query(None, alias="to", max_length=40, description="last Beijing day, YYYY-MM-DD (default: today)")
AUDIENCE = Query(None, max_length=40, description="buyer, provider or none (not stated); empty: all")


def echarts_version(settings: Settings) -> str | None:
    """The installed ECharts' version (it names the script's URL, so a new version is a new URL), or None."""
    try:
        return str(json.loads((settings.web_dir / ECHARTS / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def _filter(messages: Messages, start: str | None, end: str | None, audience: str | None) -> DashboardFilter:
    return parse_filter(start, end, audience, messages.dashboard["errors"])


@router.get("/agent/dashboard", include_in_schema=False)
def dashboard_page(request: Request, settings: SettingsDep) -> Response:
    """The page: signed-out visitors go to the console's sign-in; agents who are not admins get a 403 page."""
    if signed_in_account(request) is None:
        return RedirectResponse("/agent", status_code=303)
    account = current_admin(request)
    version = echarts_version(settings)
    if version is None:
        log.error("the dashboard's chart library is missing (%s): run `make web-deps`", settings.web_dir / ECHARTS)
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {**console_context(request, account), "charts": Dashboard.CHARTS,
         "echarts_url": None if version is None else f"/vendor/echarts-{version}.min.js"},
    )  # fmt: skip


@router.get("/vendor/echarts-{version}.min.js", include_in_schema=False)
def echarts_script(version: str, settings: SettingsDep, messages: MessagesDep) -> Response:
    """ECharts from web/node_modules (never a CDN); the version in the URL lets browsers keep it a year."""
    installed = echarts_version(settings)
    script = settings.web_dir / ECHARTS / "dist" / "echarts.min.js"
    if installed is None or not script.is_file():
        log.error("the dashboard's chart library is missing (%s): run `make web-deps`", script)
        raise Unavailable(messages.dashboard["errors"]["echarts_missing"], code="echarts_missing")
    if version != installed:
        raise NotFound(f"ECharts {installed} is installed, not {version[:20]}")
    return FileResponse(script, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})  # fmt: skip


@router.get("/api/admin/dashboard")
def dashboard_data(
    admin: AdminDep,
    store: StoreDep,
    messages: MessagesDep,
    from_: str | None = FROM,
    end: str | None = TO,
    audience: str | None = AUDIENCE,
) -> dict[str, Any]:
    """Every chart of the dashboard for conversations that started from `from` to `to` (Beijing days, both
    included, at most 366) of `audience`: ``{"filter", "charts": {name: {"columns", "rows", "summary"}}}``."""
    f = _filter(messages, from_, end, audience)
    charts = Dashboard(store.db).charts(f)
    return {"filter": f.public(), "charts": {name: chart.public() for name, chart in charts.items()}}


@router.get("/api/admin/dashboard/{chart}.csv")
def dashboard_csv(
    chart: str,
    admin: AdminDep,
    store: StoreDep,
    messages: MessagesDep,
    from_: str | None = FROM,
    end: str | None = TO,
    audience: str | None = AUDIENCE,
) -> Response:
    """One chart's table as CSV (UTF-8 with a BOM for Excel; cells a spreadsheet would run as a formula are
    neutralised)."""
    if chart not in Dashboard.CHARTS:
        raise NotFound(messages.dashboard["errors"]["unknown_chart"].format(chart=chart[:40]))
    f = _filter(messages, from_, end, audience)
    table = Dashboard(store.db).chart(chart, f)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([for_csv(c) for c in table.columns])
    writer.writerows([for_csv(cell) for cell in row] for row in table.rows)
    name = f"faqbot-{chart}-{f.start}-{f.end}{'-' + f.audience if f.audience else ''}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
