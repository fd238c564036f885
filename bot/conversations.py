"""Conversations over the web: a user turn stored, answered and stored; agents notified; people take over.

:class:`ChatService` joins the answer engine, the database and the live connections (:class:`Hub`). Routes
call it; it knows nothing about HTTP. Engine calls run in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.engine import RELATED_MIN_SCORE, AgentSuggestion, AnswerEngine
from bot.errors import Conflict, ConversationNotFound, InvalidRequest
from bot.knowledge import FaqEntry
from bot.messages import Messages
from bot.orders import OrderStore
from bot.render import markdown_to_html, markdown_to_text
from bot.reply import Context, Reason, Reply, Session
from bot.store import Account, Conversation, ConversationStore, Message, TurnFlags, new_id, now

log = logging.getLogger(__name__)


T = TypeVar("T")
LOCK_STRIPES = 256


class EngineWorker:
    """A fixed set of threads for all engine work (``threads``, from ``FAQBOT_ENGINE_THREADS``). Fixed, because the
    encoder's OpenMP thread team belongs to the thread that calls it: calling it from FastAPI's changing worker
    threads doubled its latency (8.5 ms → 17 ms p50). More than one, because a single engine thread left the
    cores idle while it ran the Python half of a turn, and its encoder team stalled whenever the web or database
    threads took a core: with two, one turn encodes while another ranks, and bench/bench_load.py measured 39 →
    59 novel turns/s on 2 cores with the same latency for a lone turn. The engine is safe to call from several
    threads (it changes no state after warm-up; the query cache has a lock); turns of one conversation are still
    answered one at a time (ChatService's per-conversation lock)."""

    def __init__(self, threads: int = 1) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="engine")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._executor.submit(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class StoreThreads:
    """Database calls off the event loop and off the engine's thread: writes on one dedicated writer thread (in
    order, one transaction at a time, as datasette does), reads on a small pool. While one turn's reply is being
    committed, the engine is already encoding the next one."""

    def __init__(self, readers: int = 2) -> None:
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write")
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="db-read")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._writer.submit(fn, *args))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._readers.submit(fn, *args))

    def close(self) -> None:
        self._writer.shutdown(wait=True)  # a write in progress finishes: nothing half-done is left behind
        self._readers.shutdown(wait=False, cancel_futures=True)


class Peer(Protocol):
    """A live connection (a WebSocket) that takes JSON frames."""

    async def send_json(self, data: Any) -> None: ...


class Hub:
    """Who is connected to this process: users by conversation, and agents. Sending to a closed peer drops it."""

    def __init__(self) -> None:
        self.users: dict[str, set[Peer]] = {}
        self.agents: set[Peer] = set()

    async def start(self) -> None:
        """Nothing to start for one process; :class:`RedisHub` subscribes here."""

    async def stop(self) -> None:
        """Nothing to stop for one process."""

    def join_user(self, conversation_id: str, peer: Peer) -> None:
        self.users.setdefault(conversation_id, set()).add(peer)

    def leave_user(self, conversation_id: str, peer: Peer) -> None:
        peers = self.users.get(conversation_id)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self.users[conversation_id]

    async def _send(self, peers: set[Peer], frame: dict[str, Any]) -> None:
        for peer in list(peers):
            try:
                await peer.send_json(frame)
            except Exception:  # a peer that went away is not our caller's problem
                peers.discard(peer)

    async def to_user(self, conversation_id: str, frame: dict[str, Any]) -> None:
        await self._send(self.users.get(conversation_id, set()), frame)

    async def to_agents(self, frame: dict[str, Any]) -> None:
        await self._send(self.agents, frame)


class RedisHub(Hub):
    """Frames travel through Redis pub/sub, so a user's socket and an agent's socket may be held by different
    worker processes: every worker delivers what it hears to the peers it holds."""

    USER = "faqbot:user:"
    AGENTS = "faqbot:agents"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self.redis = aioredis.from_url(url)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self.redis.pubsub()
        await self._pubsub.psubscribe("faqbot:*")
        self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        async for message in self._pubsub.listen():
            if message.get("type") != "pmessage":
                continue
            channel = message["channel"].decode()
            frame = json.loads(message["data"])
            if channel == self.AGENTS:
                await Hub.to_agents(self, frame)
            elif channel.startswith(self.USER):
                await Hub.to_user(self, channel[len(self.USER) :], frame)

    async def to_user(self, conversation_id: str, frame: dict[str, Any]) -> None:
        await self.redis.publish(self.USER + conversation_id, json.dumps(frame, ensure_ascii=False))

    async def to_agents(self, frame: dict[str, Any]) -> None:
        await self.redis.publish(self.AGENTS, json.dumps(frame, ensure_ascii=False))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._pubsub.aclose()
        await self.redis.aclose()


UNANSWERED = (Reason.LOW_CONFIDENCE, Reason.OTHER_PLATFORM, Reason.NOT_IN_FAQ)  # fallbacks agents should see


class ChatService:
    def __init__(
        self,
        engine: AnswerEngine,
        store: ConversationStore,
        hub: Hub | None = None,
        worker: EngineWorker | None = None,
        db: StoreThreads | None = None,
        handoff_gate: Callable[[str], bool] | None = None,
        orders: OrderStore | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.orders = orders  # what the console shows of a page's order
        self.hub = hub or Hub()
        self.worker = worker or EngineWorker()  # the engine threads: answering, nothing else
        self.db = db or StoreThreads()  # every store call from here on
        # may this address put one more hand-over request into the agents' queue?
        self.handoff_gate = handoff_gate or (lambda address: True)
        # turns of one conversation run one at a time; a fixed set of striped locks (no per-conversation growth)
        self._locks = [asyncio.Lock() for _ in range(LOCK_STRIPES)]

    @property
    def messages(self) -> Messages:
        """What the service says: the engine's (a reload of the knowledge swaps both)."""
        return self.engine.messages

    # ------------------------------------------------------------------ conversations and sessions

    async def find(self, conversation_id: str | None) -> Conversation | None:
        """The stored conversation with this id, or None (nothing is created: a conversation is stored with its
        first message)."""
        if not conversation_id:
            return None
        return await self.db.read(self.store.conversation, conversation_id)

    async def history(self, conversation_id: str, limit: int = 200) -> list[Message]:
        return await self.db.read(self.store.messages, conversation_id, limit)

    async def people_state(self, conv: Conversation | None) -> dict[str, Any]:
        """What the widget needs to know at (re)connect about people in the conversation: the hand-over state, the
        agent's display name, whether it was resolved with a person's help (then it asks for a rating) and the
        rating given."""
        if conv is None:
            return {"handoff": "bot", "agent": None, "resolved": False, "csat_due": False, "csat": None}

        def read() -> dict[str, Any]:
            helper = conv.agent if conv.agent else None
            rating = self.store.conversation_rating(conv.id)
            name = self.store.display_names().get(helper, helper) if helper else None
            resolved = conv.resolved_at is not None
            given = None if rating is None else {"score": rating["score"], "comment": rating["comment"]}
            return {"handoff": conv.handoff, "agent": name, "resolved": resolved,
                    "csat_due": resolved and helper is not None and rating is None, "csat": given}  # fmt: skip

        return await self.db.read(read)

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(conversation_id.encode()) % LOCK_STRIPES]

    @staticmethod
    def _session(conv: Conversation) -> Session:
        """The dialogue state as stored with the conversation (not cached: another worker may have moved it on)."""
        return Session.from_state(conv.state)

    # ------------------------------------------------------------------ user turns

    async def user_message(
        self,
        conversation_id: str | None,
        text: Any,
        context: Context | dict[str, Any] | None = None,
        *,
        address: str = "unknown",
        new: bool = False,
        handoff: bool = False,
    ) -> Reply:
        """Answer one message and store the turn. ``new``: the server chose ``conversation_id`` and knows it is not
        stored yet (a socket's provisional id, a fresh POST) — it becomes the new conversation's id, unlooked-up.
        Otherwise a ``conversation_id`` None or unknown starts a new conversation with a fresh id (an id a
        client makes up is never adopted). ``handoff``: the user pressed the hand-over button (``text`` is what the
        transcript shows for it)."""
        audience = context.audience if isinstance(context, Context) else (context or {}).get("audience")
        cid = conversation_id or new_id()
        async with self._lock(cid):  # read → answer → write, one turn of a conversation at a time
            conv = await self.db.read(self.store.conversation, cid) if conversation_id and not new else None
            if conv is None:  # a new conversation: stored with its first turn, in one transaction
                stamp = now()
                conv = Conversation(new_id() if conversation_id and not new else cid, stamp, stamp,
                                    audience if isinstance(audience, str) else None, {}, "bot", None, None)  # fmt: skip
            user_text = (text if isinstance(text, str) else str(text))[: self.engine.settings.max_message_chars * 4]
            reply, session = await self.worker.run(self._answer_turn, conv, user_text, text, context, handoff)
            reply, frames = await self.db.write(self._store_turn, conv, user_text, reply, session, context, address)
        for frame in frames:
            await self.hub.to_agents(frame)
        return reply

    def _answer_turn(
        self, conv: Conversation, user_text: str, text: Any, context: Context | dict[str, Any] | None, handoff: bool
    ) -> tuple[Reply, Session]:
        """On the engine's thread: the reply and the dialogue state after it. No database here."""
        session = self._session(conv)

        def answer(s: Session) -> Reply:
            if handoff:
                return self.engine.request_handoff(user_text, context, s)
            return self.engine.answer(text, context, s)

        if conv.handoff == "agent":
            return self._people_reply(user_text, Reason.WITH_AGENT, self.messages.people.with_agent), session
        if conv.with_people:
            return self._while_waiting(answer, session)
        return answer(session), session

    def _store_turn(
        self,
        conv: Conversation,
        user_text: str,
        reply: Reply,
        session: Session,
        context: Context | dict[str, Any] | None,
        address: str,
    ) -> tuple[Reply, list[dict[str, Any]]]:
        """On the writer thread: the turn's meaning for the agents' queue, the turn stored in one transaction
        (the reply gets its ids and HTML), and the frames agents should hear."""
        flags = self._flags(conv, reply, session, address)
        asked = reply.kind == "handoff" and reply.reason == Reason.USER_REQUEST
        if flags is None and asked and conv.handoff == "bot":  # over the address's hand-over allowance
            reply = self._people_reply(user_text, Reason.HANDOFF_LIMITED, self.messages.people.too_many_handoffs)
        reply.session_id = conv.id
        stored = reply.model_dump(mode="json", exclude={"html", "message_id"})
        _, reply.message_id = self.store.record_turn(
            conv.id,
            user_text,
            reply.text,
            kind=reply.kind,
            score=reply.score,
            latency_ms=reply.latency_ms,
            reply=stored,
            state={**session.to_state(), "page": {**(conv.state.get("page") or {}), **_page_context(context)}},
            audience=conv.audience,
            flags=flags,
        )
        reply.html = self.shown_html(reply.text, stored)
        return reply, self._agent_frames(conv, flags)

    def shown(self, conversation_id: str, messages: list[Message]) -> list[dict[str, Any]]:
        """Messages as a web page shows them (the widget's history, the console's transcript): a bot message with
        its HTML and its rating, an agent's with the name the user sees (the account's display name)."""
        names = self.store.display_names() if any(m.agent for m in messages) else {}
        ratings = self.store.ratings(conversation_id) if any(m.role == "bot" for m in messages) else {}
        return [
            {**m.public(), "html": self.shown_html(m.text, m.reply) if m.role == "bot" else None,
             "agent_name": names.get(m.agent, m.agent) if m.agent else None, "rating": ratings.get(m.id)}
            for m in messages
        ]  # fmt: skip

    async def shown_history(self, conversation_id: str, limit: int = 200) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            return self.shown(conversation_id, self.store.messages(conversation_id, limit))

        return await self.db.read(read)

    def shown_html(self, text: str, reply: Any) -> str:
        """A bot message as a web page shows it, live or restored from history; ``reply``: the reply as stored
        (its JSON form). The widget adds what the text also says. A rule's reply ends in "依据：「…」": that line
        is left to the source line under the bubble, which links each cited entry. A choice or a fallback offers
        its suggestions as buttons: the text's list of the same questions is left out. (The text keeps both, for
        the terminal and the API.)"""
        kind = reply.get("kind") if isinstance(reply, dict) else None
        rule = reply.get("rule") if kind == "rule" else None
        if isinstance(rule, dict) and rule.get("cites"):
            opening = self.messages.dialogue.cite_line.split("{cites}")[0]
            head, _, last = text.rstrip().rpartition("\n\n")
            if head and last.startswith(opening):
                text = head
        suggested = reply.get("suggestions") if kind in ("clarify", "fallback") else None
        options = [o["question"] for o in suggested or [] if isinstance(o, dict) and isinstance(o.get("question"), str)]
        if options:
            say = self.messages.replies
            listed = {say.say("option", n=i, question=q) for i, q in enumerate(options, 1)}
            listed |= {say.say("listed", question=q) for q in options}
            text = "\n".join(line for line in text.splitlines() if line.strip() not in listed)
        return markdown_to_html(text)

    def _plain(self, suggestions: list[AgentSuggestion]) -> list[AgentSuggestion]:
        """Suggestions as conversational plain text an agent can paste into a chat: Markdown marks gone, and the
        bot's "依据：「…」" line left out (the console adds the entry's link; a person does not cite like a bot)."""
        opening = self.messages.dialogue.cite_line.split("{cites}")[0]
        out = []
        for s in suggestions:
            text = markdown_to_text(s.text)
            kept = [line for line in text.splitlines() if not line.strip().startswith(opening)]
            out.append(s.model_copy(update={"text": "\n".join(kept).strip()}))
        return out

    @staticmethod
    def _people_reply(q: str, reason: Reason, text: str) -> Reply:
        return Reply(q=q, kind="handoff", text=text, reason=reason, score=1.0)

    def _while_waiting(self, answer: Callable[[Session], Reply], session: Session) -> tuple[Reply, Session]:
        """A person has been asked for, or has written: the bot answers only a clear FAQ question (marked as the
        bot's); anything else — chatter, a rule, a guess — waits for the person."""
        probe = Session.from_state(session.to_state())
        reply = answer(probe)
        if reply.kind == "faq" and reply.reason == Reason.CONFIDENT:
            reply.text = f"{self.messages.people.bot_note}\n\n{reply.text}"
            return reply, probe
        people = self.messages.people
        if reply.kind == "handoff" and reply.reason == Reason.USER_REQUEST:
            return self._people_reply(reply.q, Reason.ALREADY_WAITING, people.already_waiting), session
        return self._people_reply(reply.q, Reason.WAITING_FOR_AGENT, people.waiting), session

    def _flags(self, conv: Conversation, reply: Reply, session: Session, address: str) -> TurnFlags | None:
        """What this turn means for the agents' queue — stored in the turn's own transaction. A hand-over
        request beyond the address's allowance enters no queue (None)."""
        if reply.kind == "handoff" and reply.reason == Reason.USER_REQUEST and conv.handoff == "bot":
            return TurnFlags(handoff="requested", reason=Reason.USER_REQUEST) if self.handoff_gate(address) else None
        if conv.attention is not None:
            return None
        if reply.kind == "fallback" and reply.reason in UNANSWERED:
            return TurnFlags(attention="fallback")
        if reply.kind == "clarify" and session.recent_kinds[-2:] == ["clarify", "clarify"]:
            return TurnFlags(attention="repeated_clarify")
        return None

    def _agent_frames(self, conv: Conversation, flags: TurnFlags | None) -> list[dict[str, Any]]:
        """What agents should hear about this turn: the queue item when it is (or just became) queued."""
        if flags is None and conv.handoff == "bot" and conv.attention is None and conv.resolved_at is None:
            return []  # nothing for agents (and no extra query on the common path)
        updated = self.store.conversation(conv.id)
        if updated is None or (updated.handoff == "bot" and updated.attention is None):
            return []
        return [
            {"type": "queue", "conversation": self.queue_item(updated)},
            {"type": "message", "conversation_id": conv.id},
        ]

    # ------------------------------------------------------------------ feedback

    async def feedback(self, message_id: int, conversation_id: str, helpful: bool, comment: str | None) -> int:
        fid, conv = await self.db.write(self._store_feedback, message_id, conversation_id, helpful, comment)
        if conv is not None:
            await self.hub.to_agents({"type": "queue", "conversation": await self.db.read(self.queue_item, conv)})
        return fid

    def _store_feedback(
        self, message_id: int, conversation_id: str, helpful: bool, comment: str | None
    ) -> tuple[int, Conversation | None]:
        """The rating stored (one per reply: a new one replaces it). A thumbs-down flags the conversation for a
        person; a thumbs-up resolves one the bot had flagged, if nobody asked for a person. Returns the
        conversation when its queue item changed."""
        message = self.store.message(message_id)
        if message is None or message.role != "bot" or message.conversation_id != conversation_id:
            raise ConversationNotFound(f"no bot reply with message_id {message_id}")
        fid = self.store.add_feedback(message_id, message.conversation_id, helpful, comment)
        conv = self.store.conversation(conversation_id)
        if conv is None:
            return fid, None
        if helpful:
            if conv.handoff != "bot" or conv.attention is None:
                return fid, None
            self.store.resolve(conversation_id, "auto:thumbs_up")
        else:
            self.store.set_attention(message.conversation_id, "thumbs_down")
        return fid, self.store.conversation(message.conversation_id)

    async def rate_conversation(self, conversation_id: str, score: int, comment: str | None) -> None:
        """The user's satisfaction (1–5) with the person who helped them: only where a person took part."""

        def write() -> None:
            conv = self.store.conversation(conversation_id)
            if conv is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            helper = conv.agent or (conv.resolved_by if conv.resolved_by and ":" not in conv.resolved_by else None)
            if helper is None:
                raise Conflict(self.messages.errors.nothing_to_rate, code="nothing_to_rate")
            self.store.rate_conversation(conversation_id, score, comment, helper)

        await self.db.write(write)

    # ------------------------------------------------------------------ waiting for a person

    async def waiting(self, conversation_id: str | None) -> dict[str, Any]:
        """What the widget tells someone who asked for a person: whether anyone is online (signed in to the
        console, within the configured hours), how many wait ahead of them, and a typical wait."""

        def read() -> dict[str, Any]:
            ahead = self.store.waiting_ahead(conversation_id) if conversation_id else None
            waits = self.store.recent_waits()
            return {
                "agents_online": self.agents_available(),
                "ahead": ahead,
                "typical_wait_minutes": max(1, round(statistics.median(waits) / 60)) if len(waits) >= 3 else None,
            }

        return await self.db.read(read)

    def agents_available(self) -> bool:
        settings = self.engine.settings
        if not settings.within_agent_hours(datetime.now(UTC)):
            return False
        since = datetime.now(UTC) - timedelta(seconds=settings.agent_online_seconds)
        return self.store.agents_online(since.isoformat(timespec="milliseconds")) > 0

    async def leave_message(self, conversation_id: str | None, text: str, contact: str, address: str) -> str:
        """A message for a person while none is online: stored with its contact, and queued as an offline ticket
        (a new conversation if there is none yet). Returns the conversation id."""

        def write() -> str:
            conv = self.store.conversation(conversation_id) if conversation_id else None
            cid = conv.id if conv is not None else self.store.create_conversation("buyer").id
            shown = f"{text}\n{self.messages.people.say('offline_left', contact=contact)}"
            self.store.add_message(cid, "user", shown, kind="offline")
            self.store.leave_message(cid, contact)
            return cid

        cid = await self.db.write(write)
        await self._tell_agents(cid)
        return cid

    # ------------------------------------------------------------------ agents

    def queue_item(self, conv: Conversation, names: dict[str, str] | None = None) -> dict[str, Any]:
        recent = self.store.messages(conv.id, limit=20)
        last_user = next((m for m in reversed(recent) if m.role == "user"), None)
        names = names if names is not None else self.store.display_names()
        owner = conv.agent if conv.handoff == "agent" or conv.attention == "reopened" else None
        return {
            "id": conv.id,
            "handoff": conv.handoff,
            "agent": owner,
            "agent_name": names.get(owner, owner) if owner else None,
            "attention": conv.attention,
            "audience": conv.audience,
            "updated_at": conv.updated_at,
            "waiting_since": conv.waiting_since,
            "resolved_at": conv.resolved_at,
            "contact": conv.contact,
            "last_user_message": last_user.text if last_user else None,
            "last_user_id": last_user.id if last_user else None,
        }

    def _queue(self, offset: int, limit: int, view: str, username: str | None) -> dict[str, Any]:
        names = self.store.display_names()
        items = [self.queue_item(c, names) for c in self.store.queue(offset, limit, view, username)]
        counts = self.store.queue_counts(username)
        reads = self.store.reads(username, [i["id"] for i in items]) if username else {}
        return {"items": items, "total": counts[view], "counts": counts, "offset": offset, "limit": limit,
                "view": view, "reads": reads}  # fmt: skip

    async def queue(self, offset: int = 0, limit: int = 50, view: str = "all", username: str | None = None
                    ) -> dict[str, Any]:  # fmt: skip
        """One page of the agents' queue (hand-over requests first, oldest wait first), its view's total, every
        view's count, and where ``username`` has read up to in each."""
        return await self.db.read(self._queue, offset, limit, view, username)

    def _conversation(self, conversation_id: str) -> tuple[Conversation, list[Message]]:
        conv = self.store.conversation(conversation_id)
        if conv is None:
            raise ConversationNotFound(f"no conversation {conversation_id!r}")
        return conv, self.store.messages(conversation_id)

    async def conversation(
        self, conversation_id: str, reader: str | None = None
    ) -> tuple[Conversation, list[Message], dict[str, Any]]:
        """The conversation (404 if there is none), its messages and its queue item; ``reader`` has now read it."""

        def read() -> tuple[Conversation, list[Message], dict[str, Any]]:
            conv, messages = self._conversation(conversation_id)
            return conv, messages, self.queue_item(conv)

        conv, messages, item = await self.db.read(read)
        if reader is not None and messages:
            await self.db.write(self.store.mark_read, reader, conversation_id, messages[-1].id)
        return conv, messages, item

    def context(self, conv: Conversation, messages: list[Message]) -> dict[str, Any]:
        """What an agent sees beside the transcript: the user's page (audience, the order it shows, with what the
        order records add), the rules' outcomes, the contact an offline message left, the satisfaction rating."""
        page = dict(conv.state.get("page") or {})
        order = dict(page.get("order") or {})
        known = self.orders.get(order["id"]) if self.orders is not None and order.get("id") else None
        if known is not None:
            order = {**known.model_dump(mode="json", exclude_none=True), **{k: v for k, v in order.items() if v}}
        outcomes = []
        for m in messages:
            rule = (m.reply or {}).get("rule") if m.role == "bot" and m.kind == "rule" else None
            if isinstance(rule, dict):
                cites = [c.get("question") for c in rule.get("cites") or [] if isinstance(c, dict)]
                outcomes.append({"message_id": m.id, "rule": rule.get("id"), "decision": rule.get("decision"),
                                 "dates": rule.get("dates"), "missing": rule.get("missing") or [], "cites": cites,
                                 "at": m.created_at})  # fmt: skip
        return {
            "audience": conv.audience or page.get("audience"),
            "today": page.get("today"),
            "order": order or None,
            "rules": outcomes,
            "contact": conv.contact,
            "csat": self.store.conversation_rating(conv.id),
            "created_at": conv.created_at,
            "resolved_at": conv.resolved_at,
            "resolved_by": conv.resolved_by,
        }

    async def suggestions(
        self, conv: Conversation, messages: list[Message]
    ) -> tuple[Message | None, list[AgentSuggestion]]:
        """Suggested replies for the user's latest real question, and that message."""
        question = self.latest_question(messages)
        if question is None:
            return None, []
        # what the page told the bot (its order, the audience): an agent's suggestion decides on the same facts
        context = dict(conv.state.get("page") or {})
        if conv.audience in ("buyer", "provider"):
            context.setdefault("audience", conv.audience)
        found = await self.worker.run(self.engine.suggest, question.text, context, self._session(conv))
        return question, self._plain(found)

    async def suggest(self, question: str) -> list[AgentSuggestion]:
        return self._plain(await self.worker.run(self.engine.suggest, question))

    async def search(self, question: str, limit: int, at_least_one: bool = False) -> list[FaqEntry]:
        """FAQ entries matching ``question``, best first: those with some confidence (the bar related questions
        use), or just the best one if none has and ``at_least_one``."""
        ranked = await self.worker.run(self.engine.rank, question)
        found = [c.entry for c in ranked[:limit] if c.score >= RELATED_MIN_SCORE]
        return found or ([ranked[0].entry] if at_least_one and ranked else [])

    def latest_question(self, messages: list[Message]) -> Message | None:
        """The user's latest real question: not small talk (judged by the bot's reply), nor only a request for a
        person, a nudge while waiting ("还要等多久？有人吗"), a thank-you or a bare order number (the chatter list in
        knowledge/messages.yaml and the hand-over words in dialogue.yaml)."""
        for k in range(len(messages) - 1, -1, -1):
            m = messages[k]
            if m.role != "user":
                continue
            answer = next((x for x in messages[k + 1 :] if x.role != "user"), None)
            if answer is not None and answer.kind == "smalltalk":
                continue
            if not self.messages.is_chatter(m.text):
                return m
        return None

    def _owned(self, conv: Conversation, account: Account, *, to: str) -> None:
        """``account`` may act on ``conv`` (``to``: "post" or "release"): it owns it, or nobody does (posting
        then takes it over), or — releasing and resolving — it is an admin."""
        owner = conv.agent if conv.handoff == "agent" else None
        if owner is None or owner == account.username or (to != "post" and account.role == "admin"):
            return
        name = self.store.display_names().get(owner, owner)
        errors = self.messages.errors
        raise Conflict(errors.say("owned_by_other" if to == "post" else "not_owner", agent=name), code="owned")

    async def agent_message(self, conversation_id: str, text: str, account: Account, cites: str | None = None
                            ) -> Message:  # fmt: skip
        """An agent's message to the user. Only the owner may write; writing to a conversation nobody owns takes
        it over (the bot stops). ``cites``: the FAQ entry the agent's reply came from (a suggestion they used);
        kept only if the live knowledge has it. When the agent resolves the conversation, the review inbox proposes
        the user's question as an alternate of that entry."""
        if cites is not None and cites not in self.engine.kb.by_id:
            cites = None

        def write() -> tuple[Message, bool]:
            conv, _ = self._conversation(conversation_id)
            self._owned(conv, account, to="post")
            took = conv.handoff != "agent" or conv.agent != account.username
            if took:
                self.store.take_over(conversation_id, account.username)
            mid = self.store.add_message(conversation_id, "agent", text, kind="agent", agent=account.username,
                                         reply={"cites": cites} if cites else None)  # fmt: skip
            message = self.store.message(mid)
            assert message is not None
            return message, took

        message, took = await self.db.write(write)
        if took:
            await self.hub.to_user(conversation_id, {"type": "handoff", "state": "agent",
                                                     "agent": account.display_name})  # fmt: skip
        await self.hub.to_user(
            conversation_id,
            {"type": "agent_message", "text": text, "agent": account.display_name, "message_id": message.id,
             "at": message.created_at},
        )  # fmt: skip
        await self._tell_agents(conversation_id, message_too=True)
        return message

    async def take_over(self, conversation_id: str, account: Account, force: bool = False) -> dict[str, Any]:
        """``account`` owns the conversation now. Taking it from another agent needs ``force`` and leaves a note in
        the transcript that every agent sees."""

        def write() -> None:
            conv, _ = self._conversation(conversation_id)
            if not force:
                self._owned(conv, account, to="post")
            previous = self.store.take_over(conversation_id, account.username)
            if previous is not None:
                names = self.store.display_names()
                note = self.messages.people.say("taken_from", agent=account.display_name,
                                                previous=names.get(previous, previous))  # fmt: skip
                self.store.add_message(conversation_id, "note", note, kind="note", agent=account.username)

        await self.db.write(write)
        await self.hub.to_user(conversation_id, {"type": "handoff", "state": "agent", "agent": account.display_name})
        return await self._tell_agents(conversation_id, message_too=True)

    async def assign(self, conversation_id: str, username: str, admin: Account) -> dict[str, Any]:
        """An admin gives the conversation to an agent (noted in the transcript)."""

        def write() -> str:
            self._conversation(conversation_id)
            target = self.store.account(username)
            if target is None or target.disabled:
                raise InvalidRequest(self.messages.errors.say("unknown_account", username=username),
                                     code="unknown_account")  # fmt: skip
            self.store.take_over(conversation_id, username, reason="assigned")
            note = self.messages.people.say("assigned", admin=admin.display_name, agent=target.display_name)
            self.store.add_message(conversation_id, "note", note, kind="note", agent=admin.username)
            return target.display_name

        name = await self.db.write(write)
        await self.hub.to_user(conversation_id, {"type": "handoff", "state": "agent", "agent": name})
        return await self._tell_agents(conversation_id, message_too=True)

    async def hand_back(self, conversation_id: str, account: Account) -> dict[str, Any]:
        """The owner (or an admin) gives the conversation back to the bot."""

        def write() -> None:
            conv, _ = self._conversation(conversation_id)
            self._owned(conv, account, to="release")
            self.store.set_handoff(conversation_id, "bot", reason="handed_back", agent=account.username)

        await self.db.write(write)
        await self.hub.to_user(conversation_id, {"type": "handoff", "state": "bot", "agent": account.display_name})
        return await self._tell_agents(conversation_id)

    async def resolve(self, conversation_id: str, account: Account | None) -> dict[str, Any]:
        """Done: out of the queue. ``account`` None: resolved automatically (silence). The user is told; if a
        person took part, the widget asks how satisfied they were."""

        def write() -> bool:
            conv, messages = self._conversation(conversation_id)
            if account is not None:
                self._owned(conv, account, to="release")
            helped = conv.handoff == "agent" or any(m.role == "agent" for m in messages)
            self.store.resolve(conversation_id, account.username if account is not None else "auto:silence")
            return helped

        helped = await self.db.write(write)
        await self.hub.to_user(conversation_id, {"type": "resolved", "csat": helped})
        return await self._tell_agents(conversation_id)

    async def resolve_silent(self, minutes: float) -> int:
        """Resolve queued conversations nobody waits on that have been quiet for ``minutes`` (see
        :meth:`ConversationStore.silent_since`). Returns how many."""
        before = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
        quiet = await self.db.read(self.store.silent_since, before)
        for cid in quiet:
            await self.resolve(cid, None)
        return len(quiet)

    async def _tell_agents(self, conversation_id: str, message_too: bool = False) -> dict[str, Any]:
        """Send every agent the conversation's queue item (and, ``message_too``, that its transcript changed)."""
        conv = await self.db.read(self.store.conversation, conversation_id)
        if conv is None:
            raise ConversationNotFound(f"no conversation {conversation_id!r}")
        item = await self.db.read(self.queue_item, conv)
        await self.hub.to_agents({"type": "queue", "conversation": item})
        if message_too:
            await self.hub.to_agents({"type": "message", "conversation_id": conversation_id})
        return item

    async def search_conversations(self, q: str, status: str, limit: int = 50) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            names = self.store.display_names()
            return [self.queue_item(c, names) for c in self.store.search(q, status, limit)]

        return await self.db.read(read)


def _page_context(context: Context | dict[str, Any] | None) -> dict[str, Any]:
    """The part of a turn's context that describes the user's page (kept with the conversation's state)."""
    try:
        ctx = context if isinstance(context, Context) else Context.model_validate(context or {})
    except ValueError:
        return {}
    return {k: v for k, v in ctx.model_dump(mode="json", include={"audience", "today", "order"}).items() if v}
