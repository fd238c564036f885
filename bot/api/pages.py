"""HTML pages (jinja2): the demo marketplace pages with the widget, and the public FAQ pages."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bot.api.deps import EngineDep, MessagesDep, ServiceDep, SettingsDep
from bot.api.errors import error_copy
from bot.api.faq import search
from bot.api.guards import RateLimited
from bot.errors import NotFound
from bot.messages import Messages
from bot.render import markdown_to_html

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **values: object) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, values)


def _facts(request: Request) -> dict[str, str]:
    """The FAQ facts the demo pages quote, as the running rules read them (knowledge/rules.yaml); none while
    the engine is down (the pages stay up)."""
    engine = getattr(request.app.state, "engine", None)
    data: dict[str, Any] = engine.dialogue.data if engine is not None and engine.dialogue is not None else {}
    timelines = data.get("timelines", {})
    facts = {
        "refund_window": data.get("refund", {}).get("delivery_types", {}).get("saas", {}).get("window_phrase"),
        **{name: timelines.get(name, {}).get("quote") for name in ("settlement", "product_review", "invoice_issue")},
    }
    return {k: v for k, v in facts.items() if isinstance(v, str)}


# The demo's second look (`/?variant=custom`), set the way an integrator would, with the script tag's data
# attributes (web/README.md); its words are the widget copy's `demo_*` sentences.
CUSTOM_VARIANT = "custom"
CUSTOM_LOOK = {"position": "left", "color": "#0a7a3b"}
DEMO_WORDS = "demo_"  # widget copy for the demo page itself, not for the widget


def _custom_widget(messages: Messages) -> dict[str, str]:
    w = messages.widget
    return {
        **CUSTOM_LOOK,
        "title": w["demo_title"],
        "greeting": w["demo_greeting"],
        "launcher_text": w["demo_launcher"],
    }


@router.get("/", response_class=HTMLResponse)
def demo_buyer(
    request: Request, settings: SettingsDep, messages: MessagesDep, variant: str | None = None
) -> HTMLResponse:
    """A product page with the widget, for the first demo order (knowledge/demo_orders.yaml), if there are any;
    `?variant=custom` shows the widget customised (left, another colour, its own title, greeting and launcher)."""
    from bot.orders import read_demo_orders

    orders = read_demo_orders(settings.demo_orders) if settings.demo_orders is not None else []
    order = orders[0] if orders else None
    widget = _custom_widget(messages) if variant == CUSTOM_VARIANT else None
    return _page(request, "demo.html", audience="buyer", order=order, facts=_facts(request), widget=widget,
                 custom_variant=CUSTOM_VARIANT)  # fmt: skip


@router.get("/provider", response_class=HTMLResponse)
def demo_provider(request: Request) -> HTMLResponse:
    return _page(request, "demo_provider.html", audience="provider", facts=_facts(request))


WIDGET_COPY_LINE = "var T = {}; // COPY"


@router.get("/widget.js")
def widget_js(request: Request, settings: SettingsDep, messages: MessagesDep) -> Response:
    """The widget, with its words (knowledge/messages.yaml → widget) written into it. Revalidated on every page
    load (no-cache) against its ETag, so an unchanged widget costs a 304, not the whole script."""
    source = (settings.web_dir / "static" / "widget.js").read_text(encoding="utf-8")
    copy = {k: v for k, v in messages.widget_copy().items() if not k.startswith(DEMO_WORDS)}
    words = json.dumps(copy, ensure_ascii=False).replace("</", "<\\/")
    body = source.replace(WIDGET_COPY_LINE, f"var T = {words}; // COPY", 1).encode("utf-8")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*", "ETag": etag}
    asked = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    if etag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


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
    in_order = {c: by_category[c] for c in engine.kb.categories if c in by_category}  # as the source lists them
    return _page(request, "faq_index.html", by_category=in_order, q=q or "", total=len(entries),
                 notice=notice)  # fmt: skip


@router.get("/faq/{entry_id}", response_class=HTMLResponse)
def faq_entry(request: Request, entry_id: str, engine: EngineDep) -> HTMLResponse:
    entry = engine.kb.by_id.get(entry_id)
    if entry is None:
        raise NotFound(error_copy(request).say("faq_not_found", id=entry_id))
    notes = [c.note for c in engine.kb.conflicts_for(entry.id)]
    return _page(request, "faq_entry.html", entry=entry, answer_html=markdown_to_html(entry.answer), notes=notes)
