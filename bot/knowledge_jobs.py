"""Accepting a knowledge change while the bot serves: build the new version in the background, replay the golden
questions on the old and the new engine, and swap the new one in only if nothing got worse (or an admin overrides
with a reason). One job at a time; its progress is what the console shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from bot.errors import Conflict, FaqbotError, InvalidRequest, NotFound
from bot.knowledge_edits import parse_edit

if TYPE_CHECKING:
    from bot.conversations import ChatService
    from bot.engine import AnswerEngine
    from bot.live import Comparison
    from bot.settings import Settings
    from bot.wiring import Storage

log = logging.getLogger(__name__)
State = Literal["running", "refused", "failed", "done"]
BACKGROUND_NICE = 10  # the job's thread yields the CPU to the threads answering turns


def _background_priority() -> None:
    """Linux schedules threads one by one: lower this one's priority (elsewhere, nothing to do)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


After = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]  # the live changes → the changes to check
MAX_SHOWN = 50  # regressions listed in a refusal (the count is always whole)


@dataclass
class Job:
    id: int
    action: Literal["change", "undo"]
    author: str
    reason: str | None
    state: State = "running"
    step: str = "prepare"  # prepare → index → load → guard → swap
    done: int = 0
    total: int = 0
    golden: int = 0  # questions replayed
    regressions: list[Comparison] = field(default_factory=list)  # the golden questions that got worse
    preview: list[Comparison] = field(default_factory=list)  # the change's own phrasings, before and after
    error: str | None = None
    change_id: int | None = None
    entries: int | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def public(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("regressions", "preview")}
        out["regression_count"] = len(self.regressions)
        out["regressions"] = [asdict(r) for r in self.regressions[:MAX_SHOWN]]
        out["preview"] = [asdict(c) for c in self.preview[:MAX_SHOWN]]
        return out


class KnowledgeUpdater:
    """Runs the jobs; ``swap`` puts a new engine in service (the app's one place for that)."""

    def __init__(
        self, settings: Settings, storage: Storage, service: ChatService, swap: Callable[[AnswerEngine], None]
    ) -> None:
        self.settings, self.storage, self.service, self.swap = settings, storage, service, swap
        self.job: Job | None = None
        self._task: asyncio.Task[None] | None = None
        self._ids = 0
        self.version = ""  # the live version in service (bot.live.version_key); "" is knowledge/ as it is
        # Building a version and replaying the golden set run on a thread of their own, at a lower priority: the
        # engine threads stay free for users' turns while a change is checked (bench/bench_swap.py measures it).
        self._executor = ThreadPoolExecutor(1, "knowledge-job", initializer=_background_priority)

    async def _off(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def live_changes(self) -> list[dict[str, Any]]:
        store = self.storage.conversations
        return await self.service.db.read(lambda: store.knowledge_changes(live=True))

    async def build(self, changes: list[dict[str, Any]]) -> AnswerEngine:
        """A warmed engine on knowledge/ with ``changes`` (the version made first if no worker has made it)."""
        from bot.live import live_settings
        from bot.wiring import build_engine

        live = await self._off(live_settings, self.settings, changes)
        engine: AnswerEngine = await self._off(build_engine, live, self.storage.orders, None, True)
        return engine

    def install(self, changes: list[dict[str, Any]], engine: AnswerEngine) -> None:
        """Put ``engine``, built on ``changes``, in service and remember its version."""
        from bot.live import version_key

        self.swap(engine)
        self.version = version_key(self.settings, changes)

    async def follow(self, every: float) -> None:
        """Keep this worker on the version the database says is live: another worker (or another machine on the
        same PostgreSQL) that accepted a change has checked it; this one builds the same version and swaps."""
        from bot.live import version_key

        self.version = version_key(self.settings, await self.live_changes())
        while True:
            await asyncio.sleep(every)
            if self.job is not None and self.job.state == "running":
                continue
            try:
                changes = await self.live_changes()
                if version_key(self.settings, changes) == self.version:
                    continue
                engine = await self.build(changes)
                if not (self.job is not None and self.job.state == "running"):
                    self.install(changes, engine)
                    log.info("now serving knowledge version %s (%d entries)", self.version, len(engine.kb.entries))
            except Exception:  # the database away, a change that no longer applies: keep serving, try again
                log.exception("following the live knowledge failed")

    def _new_job(self, action: Literal["change", "undo"], author: str, reason: str | None) -> Job:
        if self.job is not None and self.job.state == "running":
            raise Conflict("another knowledge change is being checked; wait for it to finish", code="busy")
        self._ids += 1
        self.job = Job(self._ids, action, author, reason)
        return self.job

    def start_change(self, payload: dict[str, Any], author: str, reason: str | None, override: bool) -> Job:
        try:
            edit = parse_edit(payload)
        except ValueError as exc:
            raise InvalidRequest(f"not a knowledge change: {exc}", code="bad_change") from exc
        clean = edit.model_dump(exclude_none=True)
        job = self._new_job("change", author, reason)
        self._task = asyncio.create_task(self._run(job, lambda live: [*live, self._pending(clean)], override, clean))
        return job

    async def start_undo(self, change_id: int, author: str, reason: str | None, override: bool) -> Job:
        live = await self.live_changes()
        if change_id not in {c["id"] for c in live}:
            raise NotFound(f"no live change #{change_id} (undone, exported or unknown)")
        job = self._new_job("undo", author, reason)
        job.change_id = change_id
        self._task = asyncio.create_task(
            self._run(job, lambda changes: [c for c in changes if c["id"] != change_id], override, None)
        )
        return job

    @staticmethod
    def _pending(payload: dict[str, Any]) -> dict[str, Any]:
        from bot.store import now

        return {"id": None, "at": now(), "payload": payload}

    async def _run(
        self,
        job: Job,
        after: After,
        override: bool,
        payload: dict[str, Any] | None,
    ) -> None:
        try:
            await self._check_and_swap(job, after, override, payload)
        except FaqbotError as exc:
            job.state, job.error = "failed", exc.message
        except Exception as exc:  # a job must end in a state the console can show
            log.exception("knowledge job %d failed", job.id)
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()

    async def _check_and_swap(
        self,
        job: Job,
        after: After,
        override: bool,
        payload: dict[str, Any] | None,
    ) -> None:
        from bot.live import change_texts, compare, golden_cases, live_settings, renamed_questions
        from bot.wiring import build_engine

        service, store = self.service, self.storage.conversations
        old = service.engine
        changes = after(await self.live_changes())

        def progress(step: str, done: int, total: int) -> None:
            job.step, job.done, job.total = "index", done, total

        new_settings = await self._off(live_settings, self.settings, changes, progress)
        job.step = "load"
        engine = await self._off(lambda: build_engine(new_settings, self.storage.orders, None, warm=True))
        job.step, job.done = "guard", 0
        cases = golden_cases(self.settings.guard_sets, engine.kb, changes)
        job.golden = len(cases)

        def counted(answer: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                job.done += 1
                return answer(*args)

            return call

        job.total = 2 * len(cases)  # each replayed on the old engine and the new
        compared = await self._off(
            compare, cases, counted(old.answer), counted(engine.answer), renamed_questions(old.kb, engine.kb)
        )
        own = set(change_texts(payload or {}))
        job.preview = [c for c in compared if c.question in own]
        job.regressions = worse = [c for c in compared if c.worse]
        if worse and not override:
            job.state = "refused"
            return
        job.step = "swap"
        why = job.reason
        if worse:
            why = f"override ({len(worse)} golden questions worse): {job.reason or ''}".strip()
        if payload is not None:
            pending = changes[-1]
            job.change_id = await service.db.write(
                lambda: store.add_knowledge_change(payload, job.author, why, at=pending["at"])
            )
        elif job.change_id is not None:
            change_id = job.change_id
            await service.db.write(lambda: store.undo_knowledge_change(change_id, job.author))
        self.install(changes, engine)
        job.entries = len(engine.kb.entries)
        job.state = "done"
