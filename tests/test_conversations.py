"""bot/conversations.py: where the chat service's work runs. Store calls never run on the event loop; writes run
on the one writer thread, never on the engine's thread (which only answers)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from bot.conversations import ChatService
from bot.engine import AnswerEngine
from bot.store import Account, ConversationStore

WRITES = {
    "record_turn",
    "add_message",
    "add_feedback",
    "set_attention",
    "set_handoff",
    "create_conversation",
    "take_over",
    "mark_read",
    "resolve",
    "rate_conversation",
    "leave_message",
}
AGENT = Account("xiaoteng", "客服小腾", "agent", "", False, "")


class Recording:
    """A real store that notes which thread each call ran on."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, threading.current_thread().name))
            return attr(*args, **kwargs)

        return call


def test_store_calls_run_off_the_loop_and_writes_on_the_writer_thread(engine: AnswerEngine, tmp_path: Path) -> None:
    store = Recording(ConversationStore.open(tmp_path / "c.sqlite3"))
    service = ChatService(engine, store)  # type: ignore[arg-type]

    async def scenario() -> None:
        loop_thread = threading.current_thread().name
        first = await service.user_message(None, "镜像能下载到本地吗", {"today": "2026-11-30"})
        assert first.session_id and first.message_id
        assert (await service.find(first.session_id)) is not None
        await service.feedback(first.message_id, first.session_id, False, "没用")
        await service.user_message(first.session_id, "转人工", {"today": "2026-11-30"})
        await service.take_over(first.session_id, AGENT)
        await service.agent_message(first.session_id, "您好，我来处理", AGENT)
        page = await service.queue(username=AGENT.username)
        assert page["total"] == 1 and page["items"][0]["id"] == first.session_id
        conv, messages, item = await service.conversation(first.session_id, reader=AGENT.username)
        await service.suggestions(conv, messages)
        await service.db.read(service.context, conv, messages)
        assert [m.role for m in messages] == ["user", "bot", "user", "bot", "agent"] and item["handoff"] == "agent"
        await service.hand_back(first.session_id, AGENT)
        await service.take_over(first.session_id, AGENT)
        await service.resolve(first.session_id, AGENT)
        await service.rate_conversation(first.session_id, 5, None)
        await service.leave_message(None, "请回电", "13800138000", "test")
        await service.waiting(first.session_id)
        threads = {thread for _, thread in store.calls}
        assert loop_thread not in threads
        assert not any(t.startswith("engine") for t in threads), store.calls

    asyncio.run(scenario())
    writes = {(name, thread) for name, thread in store.calls if name in WRITES}
    assert {name for name, _ in writes} >= WRITES - {"create_conversation"}
    assert {thread.split("_")[0] for _, thread in writes} == {"db-write"}, writes


def _comparable(reply: Any) -> dict[str, Any]:
    return reply.model_dump(mode="json", exclude={"latency_ms", "session_id", "message_id", "html"})


def test_turns_answered_at_once_on_several_engine_threads_equal_turns_answered_one_by_one(
    engine: AnswerEngine, tmp_path: Path
) -> None:
    """Two engine threads (the default) answer different conversations at once: every reply equals the reply
    the same turn gets alone, and the turns of one conversation are still answered in order."""
    from bot.conversations import EngineWorker
    from bot.evaluation import read_cases
    from tests.helpers import DEV_SET

    questions = [c.q for c in read_cases(DEV_SET)][:60]
    ctx = {"today": "2026-11-30"}
    # one conversation: a rule that asks, then the answer to its question, then a follow-up
    script = ["我的SaaS商品能退款吗", "前天买的", "那API商品呢？"]

    async def alone() -> tuple[list[Any], list[Any]]:
        service = ChatService(engine, ConversationStore.open(tmp_path / "alone.sqlite3"), worker=EngineWorker(1))
        singles = [await service.user_message(None, q, ctx) for q in questions]
        first = await service.user_message(None, script[0], ctx)
        turns = [first] + [await service.user_message(first.session_id, q, ctx) for q in script[1:]]
        return singles, turns

    async def at_once() -> tuple[list[Any], list[Any], set[str]]:
        worker = EngineWorker(2)
        used: set[str] = set()
        real_run = worker.run

        async def run(fn: Any, *args: Any) -> Any:
            def noted(*a: Any) -> Any:
                used.add(threading.current_thread().name)
                return fn(*a)

            return await real_run(noted, *args)

        worker.run = run  # type: ignore[method-assign]
        service = ChatService(engine, ConversationStore.open(tmp_path / "once.sqlite3"), worker=worker)
        first = await service.user_message(None, script[0], ctx)

        async def conversation() -> list[Any]:
            return [await service.user_message(first.session_id, q, ctx) for q in script[1:]]

        results = await asyncio.gather(conversation(), *(service.user_message(None, q, ctx) for q in questions))
        return list(results[1:]), [first, *results[0]], used

    singles, turns = asyncio.run(alone())
    concurrent_singles, concurrent_turns, used = asyncio.run(at_once())
    assert len(used) == 2, used  # the turns really ran on both engine threads
    assert [_comparable(r) for r in concurrent_singles] == [_comparable(r) for r in singles]
    assert [_comparable(r) for r in concurrent_turns] == [_comparable(r) for r in turns]
    assert turns[1].kind == "rule" and turns[2].kind == "rule"  # the script exercises the dialogue state
