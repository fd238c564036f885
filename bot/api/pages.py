"""HTML pages (jinja2): the demo marketplace pages with the widget, and the public FAQ pages."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from bot.api.deps import EngineDep, ServiceDep, SettingsDep
from bot.api.faq import search
from bot.api.guards import RateLimited
from bot.errors import NotFound
from bot.render import markdown_to_html

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **values: object) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, values)


@router.get("/", response_class=HTMLResponse)
def demo_buyer(request: Request) -> HTMLResponse:
    return _page(request, "demo.html", audience="buyer", order_id="2026112800001")


@router.get("/provider", response_class=HTMLResponse)
def demo_provider(request: Request) -> HTMLResponse:
    return _page(request, "demo_provider.html", audience="provider", order_id=None)


@router.get("/widget.js")
def widget_js(settings: SettingsDep) -> Response:
    return FileResponse(
        settings.web_dir / "static" / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/faq", response_class=HTMLResponse)
async def faq_index(request: Request, engine: EngineDep, service: ServiceDep, q: str | None = None) -> HTMLResponse:
    by_category: dict[str, list[object]] = defaultdict(list)
    entries = engine.kb.entries
    notice = None
    if q and q.strip():
        try:
            entries = await search(request, service, q[:200], 10)
        except RateLimited as exc:
            notice = exc.message
    for e in entries:
        by_category[e.category].append(e)
    return _page(request, "faq_index.html", by_category=dict(by_category), q=q or "", total=len(entries),
                 notice=notice)  # fmt: skip


@router.get("/faq/{entry_id}", response_class=HTMLResponse)
def faq_entry(request: Request, entry_id: str, engine: EngineDep) -> HTMLResponse:
    entry = engine.kb.by_id.get(entry_id)
    if entry is None:
        raise NotFound(f"没有这个常见问题：{entry_id}")
    notes = [c.note for c in engine.kb.conflicts_for(entry.id)]
    return _page(request, "faq_entry.html", entry=entry, answer_html=markdown_to_html(entry.answer), notes=notes)
