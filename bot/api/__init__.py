"""The web server: ``create_app(settings)`` builds everything from explicit settings.

Heavy parts (encoder, index, rules, database) open in the lifespan and reach routes through
``bot/api/deps.py``. Routes are thin: HTTP in, a ``ChatService``/engine call, JSON or HTML out.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.api import admin, agent, chat, dashboard, faq, feedback, health, knowledge, pages, people, team
from bot.api.docs import install_docs
from bot.api.errors import install_error_handlers
from bot.api.guards import Guards, install_http_guards
from bot.auth import AgentAuth
from bot.conversations import ChatService, EngineWorker, Hub, RedisHub, StoreThreads
from bot.errors import EncoderError, IndexUnusable, KnowledgeError, OrderError, RulesError, SetupError, UnsafeSettings
from bot.knowledge_jobs import KnowledgeUpdater
from bot.messages import Messages, load_messages
from bot.settings import Settings
from bot.version import VERSION
from bot.wiring import live_engine_or_degraded, open_storage

if TYPE_CHECKING:
    from bot.engine import AnswerEngine

log = logging.getLogger(__name__)


PUBLIC_PROBLEMS: dict[type[SetupError], str] = {  # what /readyz tells anyone; the log has the details (paths)
    IndexUnusable: "the search index cannot be used",
    EncoderError: "the sentence encoder cannot be loaded",
    KnowledgeError: "the knowledge files are invalid",
    RulesError: "the rules data is invalid",
    OrderError: "the order data cannot be used",
}


def public_problem(exc: SetupError) -> str:
    return next((text for kind, text in PUBLIC_PROBLEMS.items() if isinstance(exc, kind)),
                "the answer engine could not start")  # fmt: skip


class _RedactSessionIds(logging.Filter):
    """Conversation ids are bearer tokens: neither the widget's socket URL (…/ws/chat?session_id=…) nor the
    console's API paths (/api/agent/conversations/<id>) may put them in the log. The record's arguments are
    redacted one by one, so uvicorn's own formatters still get the tuple they expect."""

    PATTERN = re.compile(r"(session_id=|/api/agent/conversations/)[^&/?\s\"']+")

    def _redact(self, value: object) -> object:
        return self.PATTERN.sub(r"\1[redacted]", value) if isinstance(value, str) else value

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(a) for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self._redact(record.msg)
        return True


def redact_session_ids_in_logs() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSessionIds) for f in logger.filters):
            logger.addFilter(_RedactSessionIds())


async def resolve_silent_conversations(service: ChatService, settings: Settings) -> None:
    """Every minute (or a tenth of the auto-resolve time, if shorter): resolve the queued conversations nobody
    waits on that have been silent for FAQBOT_AUTO_RESOLVE_MINUTES. With several workers each does it; resolving
    twice is harmless."""
    every = min(60.0, settings.auto_resolve_minutes * 6)
    while True:
        await asyncio.sleep(every)
        try:
            await service.resolve_silent(settings.auto_resolve_minutes)
        except Exception:  # the database may be away for a moment: try again next time
            log.exception("resolving silent conversations failed")


def use_messages(app: FastAPI, messages: Messages) -> None:
    """Speak with these words from now on: pages, errors and limits (the engine and the chat service speak with
    the engine's own)."""
    app.state.messages = messages
    app.state.guards.errors = messages.errors


def put_in_service(app: FastAPI, engine: AnswerEngine) -> None:
    """The one place an engine goes into service (start, reload, an accepted knowledge change): turns already
    running finish on the engine they started with; the next turn takes this one."""
    app.state.engine = engine
    if app.state.service is not None:
        app.state.service.engine = engine
    use_messages(app, engine.messages)
    app.state.problem = None  # out of degraded mode, if it was in it


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.env == "production" and settings.production_problems():
        raise UnsafeSettings("refusing to start in production: " + "; ".join(settings.production_problems()))
    # The database opens now (the session secret lives there); the engine opens in the lifespan.
    storage = open_storage(settings)
    auth = AgentAuth.from_settings(settings, storage.conversations)
    messages = load_messages(settings.knowledge_dir)  # the pages' words: a broken file stops the start, named

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = EngineWorker(settings.engine_threads)  # the engine is built, warmed and called on these threads
        db = StoreThreads()  # every store call of the chat service: writes on one thread, reads on a small pool
        gate = app.state.guards.allow_handoff
        hub = RedisHub(settings.redis_url) if settings.redis_url else Hub()
        await hub.start()
        engine, problem = await worker.run(live_engine_or_degraded, settings, storage)
        # Degrade instead of crashing: pages, health and the console stay up; /readyz says why (without the path
        # details the log has). Without the index or the encoder, rules and keyword search still help.
        app.state.problem = public_problem(problem) if problem is not None else None
        app.state.engine = engine
        app.state.service = None
        app.state.updater = None
        if engine is not None:
            use_messages(app, engine.messages)
            app.state.service = ChatService(engine, storage.conversations, hub, worker, db, handoff_gate=gate,
                                            orders=storage.orders)  # fmt: skip
            app.state.housekeeping = asyncio.create_task(resolve_silent_conversations(app.state.service, settings))
            app.state.updater = KnowledgeUpdater(settings, storage, app.state.service,
                                                 lambda new: put_in_service(app, new))  # fmt: skip
            app.state.following = asyncio.create_task(app.state.updater.follow(settings.knowledge_poll_seconds))
            if engine.degraded:
                log.warning("serving in lexical-only mode: rules and keyword search, no answers by meaning")
            else:
                log.info("ready: %d FAQ entries, encoder %s", len(engine.kb.entries), engine.retriever)
        yield
        for task in (getattr(app.state, "housekeeping", None), getattr(app.state, "following", None)):
            if task is not None:
                task.cancel()
        await hub.stop()
        if app.state.updater is not None:
            app.state.updater.close()
        worker.close()
        db.close()
        storage.close()

    app = FastAPI(
        title="腾讯云云市场 FAQ bot",
        version=VERSION,
        description="Chat API, FAQ API, feedback and the agent console of the offline marketplace FAQ bot.",
        lifespan=lifespan,
        docs_url=None,  # self-hosted below (bot/api/docs.py), or not at all in production
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    app.state.store = storage.conversations
    app.state.storage = storage
    app.state.auth = auth
    app.state.guards = Guards(settings, messages.errors)
    app.state.messages = messages
    # every page gets the words of knowledge/messages.yaml as `copy`; a word a template names but the file
    # lacks is an error, not an empty string
    app.state.templates = Jinja2Templates(
        directory=str(settings.web_dir / "templates"),
        context_processors=[lambda request: {"copy": request.app.state.messages}],
    )
    app.state.templates.env.undefined = StrictUndefined
    install_error_handlers(app)
    install_http_guards(app, settings, app.state.guards)
    app.add_middleware(
        SessionMiddleware,
        secret_key=auth.session_secret,
        session_cookie="faqbot_agent",
        same_site="strict",
        https_only=settings.env == "production",
        max_age=12 * 3600,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["content-type"],
    )
    if settings.trusted_proxies:  # outermost: every limit sees the client the trusted proxy forwarded
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    for module in (chat, faq, feedback, people, health, pages, agent, team, admin, knowledge, dashboard):
        app.include_router(module.router)
    install_docs(app, enabled=settings.docs_enabled)
    redact_session_ids_in_logs()
    app.mount("/static", StaticFiles(directory=str(settings.web_dir / "static")), name="static")
    return app
