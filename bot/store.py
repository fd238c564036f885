"""Conversations, messages, feedback and hand-overs: SQLite (the embedded default, one file in WAL mode) or
PostgreSQL (for several workers), one module, through SQLAlchemy Core, with versioned migrations.

A user turn is one transaction committed before the reply is sent (SQLite: ``synchronous=FULL``), so nothing
a user was answered is lost on a crash or restart.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    event,
    exists,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import DatabaseGone, StoreError
from bot.safe_text import storable

HandoffState = Literal["bot", "requested", "agent"]
ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's INTEGER PRIMARY KEY is its rowid

metadata = MetaData()
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("audience", String(16)),
    Column("state", Text, nullable=False, server_default="{}"),
    Column("handoff", String(16), nullable=False, server_default="bot"),
    Column("agent", String(80)),
    Column("attention", String(40)),
    Column("waiting_since", String(40)),  # v2: when it entered the agents' queue (the queue ranks by age)
    Column("human_at", String(40)),  # v2: an agent wrote since the last hand-back (the bot then stays quiet)
    Column("resolved_at", String(40)),  # v3: out of the queue as done (reopened when the user writes again)
    Column("resolved_by", String(80)),  # v3: the account, or "auto:silence" / "auto:thumbs_up"
    Column("contact", String(200)),  # v3: a phone number or e-mail left with an offline message
)
messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(16)),
    Column("score", Float),
    Column("latency_ms", Float),
    Column("reply", Text),
    Column("agent", String(80)),
    Column("created_at", String(40), nullable=False),
    Index("messages_by_conversation", "conversation_id", "id"),
)
feedback = Table(
    "feedback",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("message_id", ID, ForeignKey("messages.id"), nullable=False),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False),
    Column("helpful", Integer, nullable=False),
    Column("comment", Text),
    Column("created_at", String(40), nullable=False),
)
handoffs = Table(
    "handoffs",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(40)),
    Column("agent", String(80)),
    Column("created_at", String(40), nullable=False),
)
orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("product_type", String(32), nullable=False),
    Column("product_name", String(200)),
    Column("purchased_on", String(10), nullable=False),
    Column("service_confirmed", Integer),
    Column("amount", String(32)),
)
settings_table = Table(
    "settings", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False)
)
schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
accounts = Table(
    "accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(80), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Integer, nullable=False, server_default="0"),
    Column("created_at", String(40), nullable=False),
    Column("password_changed_at", String(40), nullable=False),
    Column("knowledge_editor", Integer, nullable=False, server_default="0"),  # v5: an agent may change the FAQ
)
agent_sessions = Table(
    "agent_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's token: a leaked table is no key
    Column("username", String(64), ForeignKey("accounts.username"), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
    Column("address", String(64)),
    Column("last_seen_at", String(40)),  # v3: a console page held its socket open then (who is online)
    Index("agent_sessions_by_user", "username"),
)
conversation_reads = Table(
    "conversation_reads",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("conversation_id", String(64), primary_key=True),
    Column("last_read_id", ID, nullable=False),
)
canned_responses = Table(
    "canned_responses",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("title", String(80), nullable=False),
    Column("text", Text, nullable=False),
    Column("updated_by", String(64)),
    Column("updated_at", String(40), nullable=False),
)
csat = Table(
    "csat",
    metadata,
    Column("conversation_id", String(64), ForeignKey("conversations.id"), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text),
    Column("agent", String(80)),
    Column("created_at", String(40), nullable=False),
)
knowledge_changes = Table(
    "knowledge_changes",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("author", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("entry_id", String(80)),
    Column("payload", Text, nullable=False),  # the change as JSON (bot.knowledge_edits)
    Column("reason", Text),
    Column("undone_at", String(40)),
    Column("undone_by", String(64)),
    Column("exported_at", String(40)),  # written into knowledge/ by `faqbot knowledge export`
)
inbox_dismissed = Table(  # review-inbox questions a person decided need nothing
    "inbox_dismissed",
    metadata,
    Column("question", String(2000), primary_key=True),
    Column("by", String(64), nullable=False),
    Column("at", String(40), nullable=False),
)
V1_CONVERSATION_COLUMNS = ("waiting_since", "human_at")
V3_CONVERSATION_COLUMNS = {"resolved_at": 40, "resolved_by": 80, "contact": 200}


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[conversations, messages, feedback, handoffs, orders, settings_table])


def _v2(conn: Connection) -> None:
    """Accounts and server-side console sessions; conversations learn when they started waiting for a person."""
    present = {c["name"] for c in inspect(conn).get_columns("conversations")}
    for column in V1_CONVERSATION_COLUMNS:
        if column not in present:  # a database made by v1 (a fresh one got them from the table definition)
            conn.execute(text(f"ALTER TABLE conversations ADD COLUMN {column} VARCHAR(40)"))
    conn.execute(
        update(conversations)
        .where((conversations.c.handoff != "bot") | conversations.c.attention.is_not(None))
        .where(conversations.c.waiting_since.is_(None))
        .values(waiting_since=conversations.c.updated_at)
    )
    metadata.create_all(conn, tables=[accounts, agent_sessions])


def _v3(conn: Connection) -> None:
    """The team's console: resolved conversations, per-agent read markers, canned responses, satisfaction ratings,
    offline messages' contacts, when a console session was last seen (presence)."""
    for table, columns in (("conversations", V3_CONVERSATION_COLUMNS), ("agent_sessions", {"last_seen_at": 40})):
        present = {c["name"] for c in inspect(conn).get_columns(table)}
        for column, size in columns.items():
            if column not in present:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR({size})"))
    metadata.create_all(conn, tables=[conversation_reads, canned_responses, csat])


def _v4(conn: Connection) -> None:
    """Knowledge changes as data: who changed which FAQ entry, when, why; undone and exported marks. The review
    inbox's dismissed questions."""
    metadata.create_all(conn, tables=[knowledge_changes, inbox_dismissed])


def _v5(conn: Connection) -> None:
    """The "knowledge editor" permission: an agent who may work the review inbox and edit the FAQ."""
    if "knowledge_editor" not in {c["name"] for c in inspect(conn).get_columns("accounts")}:
        conn.execute(text("ALTER TABLE accounts ADD COLUMN knowledge_editor INTEGER NOT NULL DEFAULT 0"))


def _v6(conn: Connection) -> None:
    """The dashboard's indexes (bot/dashboard.py): conversations by start, and covering indexes of what it reads of
    a conversation's messages, hand-overs and ratings."""
    for name, table, columns in (
        ("conversations_by_created", "conversations", "created_at, id, audience, resolved_by"),
        ("messages_by_conversation_role", "messages", "conversation_id, role, id, kind, latency_ms"),
        ("handoffs_by_conversation", "handoffs", "conversation_id, state, created_at"),
        ("feedback_by_conversation", "feedback", "conversation_id, helpful"),
    ):
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"))


# Each entry moves the schema one version up; the schema_version table records where a database stands.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    return secrets.token_urlsafe(12)


@dataclass
class Conversation:
    id: str
    created_at: str
    updated_at: str
    audience: str | None
    state: dict[str, Any]
    handoff: HandoffState
    agent: str | None
    attention: str | None
    waiting_since: str | None = None
    human_at: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    contact: str | None = None

    @property
    def with_people(self) -> bool:
        """A person is involved: a hand-over is pending or taken, or an agent has written since the last
        hand-back."""
        return self.handoff != "bot" or self.human_at is not None


@dataclass(frozen=True)
class TurnFlags:
    """What a user turn means for the agents' queue, stored with the turn."""

    handoff: HandoffState | None = None  # "requested": the user asked for a person
    reason: str | None = None
    attention: str | None = None  # the bot struggled: "fallback", "repeated_clarify"


@dataclass
class Account:
    username: str
    display_name: str
    role: str
    password_hash: str
    disabled: bool
    password_changed_at: str
    knowledge_editor: bool = False  # an agent who may change the FAQ (admins always may)

    @property
    def edits_knowledge(self) -> bool:
        return self.role == "admin" or self.knowledge_editor


@dataclass
class Message:
    id: int
    conversation_id: str
    role: str
    text: str
    kind: str | None
    score: float | None
    latency_ms: float | None
    reply: dict[str, Any] | None
    agent: str | None
    created_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "text": self.text,
            "kind": self.kind,
            "score": self.score,
            "reply": self.reply,
            "agent": self.agent,
            "created_at": self.created_at,
        }


def database_url(path: Path, url: str | None) -> str:
    return url or f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # every write is its own committed transaction, so a returned connection needs no reset
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5}, pool_reset_on_return=None)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "foreign_keys=ON"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def dialect_insert(engine: Engine, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT (upserts), for the engine's dialect."""
    return (pg_insert if engine.dialect.name == "postgresql" else sqlite_insert)(table)


class Database:
    """The project's one database: one SQLAlchemy engine (a pool, thread-safe), its schema migrations, and the
    checks that refuse a write when the SQLite file is gone. Every store of the project shares it."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.path = path
        self.url = database_url(path, url)
        self.file = path if url is None else None  # the SQLite file, when we know it (not given as a URL)
        try:
            if self.url.startswith("sqlite"):
                path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = make_engine(self.url)
            self.migrate()
            self._identity = self._file_identity()
            self._last_write_ok = -math.inf
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open the database {self.where}: {exc}") from exc

    @property
    def where(self) -> str:
        """The database, as a person would name it (no password)."""
        return str(self.path) if self.url.startswith("sqlite") else self.url.split("@")[-1]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def insert(self, table: Table) -> Any:
        """An INSERT that knows ON CONFLICT (upserts), for this database's dialect."""
        return dialect_insert(self.engine, table)

    def _file_identity(self) -> tuple[int, int] | None:
        if self.file is None:
            return None
        st = os.stat(self.file)
        return st.st_dev, st.st_ino

    def check_file(self) -> None:
        """Raise :class:`DatabaseGone` if the SQLite file was deleted or replaced since it was opened: SQLite
        would go on writing into the unlinked file, and everything written would be lost at the next start."""
        if self._identity is None:
            return
        try:
            current = self._file_identity()
        except OSError:
            current = None
        if current != self._identity:
            raise DatabaseGone(f"the database file {self.path} was deleted or replaced; restart the server")

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """A write transaction, refused when the database file is gone."""
        self.check_file()
        with self.engine.begin() as conn:
            yield conn

    def read(self) -> Any:
        """A connection for reading (a context manager)."""
        return self.engine.connect()

    # ------------------------------------------------------------------ schema

    @property
    def version(self) -> int:
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, "schema_version"):
                return 0
            return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)

    def migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise StoreError(f"{self.where} has schema version {current}, newer than this program ({len(MIGRATIONS)})")
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.engine.begin() as conn:
                metadata.create_all(conn, tables=[schema_version])
                step(conn)
                conn.execute(schema_version.delete())
                conn.execute(insert(schema_version).values(version=number))

    def close(self) -> None:
        self.engine.dispose()

    def free_bytes(self) -> int | None:
        """Free space on the SQLite file's disk (None for a server database, or a SQLite URL)."""
        return shutil.disk_usage(self.file.parent).free if self.file is not None else None

    def journal_mode(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA journal_mode")).scalar())


class ConversationStore:
    """Conversations, messages, feedback, hand-overs, console accounts and sessions, settings — in the
    :class:`Database` it is given. Thread-safe (a connection pool; one transaction per call)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path, url: str | None = None) -> ConversationStore:
        """A store on a database of its own (tests, one-off tools; the server shares one, see bot/wiring.py)."""
        return cls(Database(path, url))

    def close(self) -> None:
        self.db.close()

    def writable(self, min_free_bytes: int = 0, reuse_seconds: float = 0.0) -> bool:
        """A real write succeeds, the file is still the one opened, and (SQLite) the disk has room: SQLite keeps
        writing into pages it already holds for a while after a disk fills up. A successful write is reused for
        ``reuse_seconds`` (the file and disk checks still run every time), so polling cannot turn into a stream of
        committed writes."""
        db = self.db
        try:
            db.check_file()
            free = db.free_bytes()
            if free is not None and free < min_free_bytes:
                return False
            if time.monotonic() - db._last_write_ok < reuse_seconds:
                return True
            self.set_setting("last_check", now())
            db._last_write_ok = time.monotonic()
            return True
        except (SQLAlchemyError, StoreError, OSError):
            db._last_write_ok = -math.inf
            return False

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> str | None:
        with self.db.read() as conn:
            value = conn.execute(select(settings_table.c.value).where(settings_table.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_setting(self, key: str, value: str) -> None:
        stmt = self.db.insert(settings_table).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self.db.tx() as conn:
            conn.execute(stmt)

    # ------------------------------------------------------------------ conversations

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self.db.read() as conn:
            row = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
        return None if row is None else _conversation(row)

    def create_conversation(self, audience: str | None = None, conversation_id: str | None = None) -> Conversation:
        cid = conversation_id or new_id()
        stamp = now()
        with self.db.tx() as conn:
            conn.execute(insert(conversations).values(id=cid, created_at=stamp, updated_at=stamp, audience=audience))
        conv = self.conversation(cid)
        assert conv is not None
        return conv

    @staticmethod
    def _handoff(conn: Connection, conversation_id: str, state: HandoffState, reason: str | None,
                 agent: str | None, stamp: str) -> None:  # fmt: skip
        """Move the hand-over state. ``agent``: who did it (recorded); taking over (``agent``) also makes them the
        owner; a hand-back clears the owner; a new request keeps an earlier owner (it lands in their "mine")."""
        values: dict[str, Any] = {"handoff": state, "updated_at": stamp, "resolved_at": None, "resolved_by": None}
        if state == "bot":  # handed back: out of the queue, the bot speaks again
            values.update(waiting_since=None, human_at=None, attention=None, agent=None)
        else:  # a person asked for now waits from now, however long the bot had flagged it (no pre-ageing)
            waiting = func.coalesce(conversations.c.waiting_since, stamp)
            values["waiting_since"] = case((conversations.c.handoff == "bot", stamp), else_=waiting)
            if state == "agent":
                values["agent"] = agent
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))
        conn.execute(
            insert(handoffs).values(
                conversation_id=conversation_id, state=state, reason=reason, agent=agent, created_at=stamp
            )
        )

    def set_handoff(
        self, conversation_id: str, state: HandoffState, reason: str | None = None, agent: str | None = None
    ) -> None:
        with self.db.tx() as conn:
            self._handoff(conn, conversation_id, state, reason, agent, now())

    def take_over(self, conversation_id: str, username: str, reason: str = "agent_took_over") -> str | None:
        """``username`` owns the conversation now (the bot stops); returns the owner it had before, if another."""
        with self.db.tx() as conn:
            before = conn.execute(
                select(conversations.c.agent, conversations.c.handoff).where(conversations.c.id == conversation_id)
            ).first()
            self._handoff(conn, conversation_id, "agent", reason, username, now())
        return before[0] if before is not None and before[1] == "agent" and before[0] != username else None

    def resolve(self, conversation_id: str, by: str) -> None:
        """Done: out of the queue (the owner is kept, so a reopened conversation goes back to them); the bot
        speaks again."""
        stamp = now()
        with self.db.tx() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(handoff="bot", attention=None, waiting_since=None, human_at=None, resolved_at=stamp,
                        resolved_by=by, updated_at=stamp)
            )  # fmt: skip
            auto = by.startswith("auto:")
            conn.execute(
                insert(handoffs).values(conversation_id=conversation_id, state="resolved",
                                        reason=by if auto else "resolved", agent=None if auto else by, created_at=stamp)
            )  # fmt: skip

    def silent_since(self, before: str) -> list[str]:
        """Queued conversations nobody is waiting on, quiet since before ``before``: a person wrote last (the user
        did not answer), or the bot flagged it and nobody asked for a person. A user waiting for a person is
        never among them."""
        last = (
            select(messages.c.role)
            .where(messages.c.conversation_id == conversations.c.id)
            .order_by(messages.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(conversations.c.id).where(
            self._NEEDS_PERSON
            & (conversations.c.updated_at < before)
            & (
                ((conversations.c.handoff == "agent") & (last == "agent"))
                | ((conversations.c.handoff == "bot") & (last != "user"))
            )
        )
        with self.db.read() as conn:
            return [str(r[0]) for r in conn.execute(stmt)]

    def leave_message(self, conversation_id: str, contact: str) -> None:
        """An offline message: the conversation waits in the queue as one, with the contact it left."""
        stamp = now()
        with self.db.tx() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(contact=storable(contact), attention="offline_message", resolved_at=None, resolved_by=None,
                        waiting_since=func.coalesce(conversations.c.waiting_since, stamp), updated_at=stamp)
            )  # fmt: skip

    def set_attention(self, conversation_id: str, reason: str | None) -> None:
        stamp = now()
        values: dict[str, Any] = {"attention": reason, "updated_at": stamp}
        if reason:
            values["waiting_since"] = func.coalesce(conversations.c.waiting_since, stamp)
        else:  # cleared: out of the queue unless a hand-over is still pending or taken
            still_waiting = conversations.c.waiting_since
            values["waiting_since"] = case((conversations.c.handoff == "bot", None), else_=still_waiting)
        with self.db.tx() as conn:
            conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))

    _NEEDS_PERSON = (conversations.c.handoff != "bot") | conversations.c.attention.is_not(None)

    def _view(self, view: str, username: str | None) -> Any:
        """Which queued conversations a view shows: ``mine`` (owned by ``username``), ``unassigned`` (no owner,
        or one who handed it back), ``all``."""
        if view == "mine":
            return self._NEEDS_PERSON & (conversations.c.agent == (username or ""))
        if view == "unassigned":
            return self._NEEDS_PERSON & (conversations.c.agent.is_(None) | (conversations.c.handoff != "agent"))
        return self._NEEDS_PERSON

    def queue(self, offset: int = 0, limit: int = 50, view: str = "all", username: str | None = None
              ) -> list[Conversation]:  # fmt: skip
        """Conversations that need a person: those asking for one (or with one) first, then those the bot
        flagged; oldest wait first within each, so a flood of new requests cannot push an old one out of view."""
        stmt = (
            select(conversations)
            .where(self._view(view, username))
            .order_by(
                (conversations.c.handoff == "bot").asc(),
                func.coalesce(conversations.c.waiting_since, conversations.c.updated_at).asc(),
                conversations.c.id,
            )
            .offset(offset)
            .limit(limit)
        )
        with self.db.read() as conn:
            return [_conversation(r) for r in conn.execute(stmt)]

    def queue_size(self, view: str = "all", username: str | None = None) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(conversations)
                                    .where(self._view(view, username))).scalar() or 0)  # fmt: skip

    def queue_counts(self, username: str | None) -> dict[str, int]:
        """How many open conversations each view holds, in one query."""
        mine = self._NEEDS_PERSON & (conversations.c.agent == (username or ""))
        unassigned = self._NEEDS_PERSON & (conversations.c.agent.is_(None) | (conversations.c.handoff != "agent"))
        stmt = select(
            func.count().filter(self._NEEDS_PERSON),
            func.count().filter(mine),
            func.count().filter(unassigned),
        ).select_from(conversations)
        with self.db.read() as conn:
            row = conn.execute(stmt).one()
        return {"all": int(row[0]), "mine": int(row[1]), "unassigned": int(row[2])}

    def waiting_ahead(self, conversation_id: str) -> int | None:
        """How many people asked for a person before this conversation did and still wait (None if it is not
        waiting for one)."""
        with self.db.read() as conn:
            row = conn.execute(select(conversations.c.handoff, conversations.c.waiting_since)
                               .where(conversations.c.id == conversation_id)).first()  # fmt: skip
            if row is None or row[0] != "requested" or row[1] is None:
                return None
            ahead = select(func.count()).select_from(conversations).where(
                (conversations.c.handoff == "requested")
                & ((conversations.c.waiting_since < row[1])
                   | ((conversations.c.waiting_since == row[1]) & (conversations.c.id < conversation_id)))
            )  # fmt: skip
            return int(conn.execute(ahead).scalar() or 0)

    def recent_waits(self, limit: int = 50) -> list[float]:
        """Seconds from a hand-over request to a person taking it, for the latest ``limit`` taken ones."""
        taken = handoffs.alias("taken")
        asked = (
            select(func.max(handoffs.c.created_at))
            .where(
                (handoffs.c.conversation_id == taken.c.conversation_id)
                & (handoffs.c.state == "requested")
                & (handoffs.c.created_at <= taken.c.created_at)
            )
            .scalar_subquery()
        )
        stmt = (
            select(asked, taken.c.created_at).where(taken.c.state == "agent").order_by(taken.c.id.desc()).limit(limit)
        )
        with self.db.read() as conn:
            rows = list(conn.execute(stmt))
        return [
            (datetime.fromisoformat(t) - datetime.fromisoformat(a)).total_seconds() for a, t in rows if a is not None
        ]

    def search(self, q: str, status: str = "resolved", limit: int = 50) -> list[Conversation]:
        """Conversations whose messages contain ``q`` (or their id starts with it), newest first: ``resolved``
        ones, ``open`` ones, or ``all``."""
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matching = exists().where(
            (messages.c.conversation_id == conversations.c.id) & messages.c.text.like(pattern, escape="\\")
        )
        where = matching | conversations.c.id.startswith(q, autoescape=True)
        if status == "resolved":
            where = where & conversations.c.resolved_at.is_not(None)
        elif status == "open":
            where = where & conversations.c.resolved_at.is_(None)
        stmt = select(conversations).where(where).order_by(conversations.c.updated_at.desc()).limit(limit)
        with self.db.read() as conn:
            return [_conversation(r) for r in conn.execute(stmt)]

    # ------------------------------------------------------------------ read markers

    def mark_read(self, username: str, conversation_id: str, message_id: int) -> None:
        stmt = self.db.insert(conversation_reads).values(
            username=username, conversation_id=conversation_id, last_read_id=message_id
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["username", "conversation_id"],
            set_={"last_read_id": func.max(conversation_reads.c.last_read_id, message_id)
                  if self.db.dialect == "sqlite" else func.greatest(conversation_reads.c.last_read_id, message_id)},
        )  # fmt: skip
        with self.db.tx() as conn:
            conn.execute(stmt)

    def reads(self, username: str, conversation_ids: list[str]) -> dict[str, int]:
        if not conversation_ids:
            return {}
        stmt = select(conversation_reads.c.conversation_id, conversation_reads.c.last_read_id).where(
            (conversation_reads.c.username == username) & conversation_reads.c.conversation_id.in_(conversation_ids)
        )
        with self.db.read() as conn:
            return {str(r[0]): int(r[1]) for r in conn.execute(stmt)}

    def last_user_message_ids(self, conversation_ids: list[str]) -> dict[str, int]:
        if not conversation_ids:
            return {}
        stmt = (
            select(messages.c.conversation_id, func.max(messages.c.id))
            .where(messages.c.conversation_id.in_(conversation_ids) & (messages.c.role == "user"))
            .group_by(messages.c.conversation_id)
        )
        with self.db.read() as conn:
            return {str(r[0]): int(r[1]) for r in conn.execute(stmt)}

    # ------------------------------------------------------------------ canned responses

    def canned(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(canned_responses).order_by(canned_responses.c.title, canned_responses.c.id))
            return [dict(r._mapping) for r in rows]

    def save_canned(self, title: str, text_: str, by: str, canned_id: int | None = None) -> int:
        values = {"title": storable(title), "text": storable(text_), "updated_by": by, "updated_at": now()}
        with self.db.tx() as conn:
            if canned_id is None:
                return _pk(conn.execute(insert(canned_responses).values(**values)))
            done = conn.execute(update(canned_responses).where(canned_responses.c.id == canned_id).values(**values))
            if done.rowcount == 0:
                raise StoreError(f"no canned response {canned_id}")
            return canned_id

    def delete_canned(self, canned_id: int) -> bool:
        with self.db.tx() as conn:
            return bool(conn.execute(canned_responses.delete().where(canned_responses.c.id == canned_id)).rowcount)

    # ------------------------------------------------------------------ satisfaction

    def rate_conversation(self, conversation_id: str, score: int, comment: str | None, agent: str | None) -> None:
        """The user's satisfaction with the person who helped: one rating per conversation (a new one replaces it)."""
        values = {"score": score, "comment": None if comment is None else storable(comment), "agent": agent,
                  "created_at": now()}  # fmt: skip
        stmt = self.db.insert(csat).values(conversation_id=conversation_id, **values)
        with self.db.tx() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["conversation_id"], set_=values))

    def conversation_rating(self, conversation_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(select(csat).where(csat.c.conversation_id == conversation_id)).first()
        return None if row is None else dict(row._mapping)

    # ------------------------------------------------------------------ knowledge changes

    def add_knowledge_change(
        self, payload: dict[str, Any], author: str, reason: str | None = None, at: str | None = None
    ) -> int:
        """Record an accepted change (``payload``: a bot.knowledge_edits change as JSON; ``at``: when it was
        checked, default now); returns its id."""
        values = {
            "at": at or now(),
            "author": author,
            "kind": str(payload.get("kind")),
            "entry_id": payload.get("entry_id"),
            "payload": _json(payload),
            "reason": None if reason is None else storable(reason),
        }
        with self.db.tx() as conn:
            return _pk(conn.execute(insert(knowledge_changes).values(**values)))

    def knowledge_changes(self, *, live: bool = False) -> list[dict[str, Any]]:
        """Every change in order; ``live``: only those the running knowledge replays (neither undone nor
        exported into the files)."""
        query = select(knowledge_changes).order_by(knowledge_changes.c.id)
        if live:
            query = query.where(knowledge_changes.c.undone_at.is_(None), knowledge_changes.c.exported_at.is_(None))
        with self.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    def undo_knowledge_change(self, change_id: int, by: str) -> bool:
        """Mark a live change undone; False if there is none (unknown, already undone or exported)."""
        c = knowledge_changes.c
        with self.db.tx() as conn:
            done = conn.execute(
                update(knowledge_changes)
                .where(c.id == change_id, c.undone_at.is_(None), c.exported_at.is_(None))
                .values(undone_at=now(), undone_by=by)
            )
            return bool(done.rowcount)

    def dismiss(self, questions: list[str], by: str) -> None:
        """Take these questions out of the review inbox (once each)."""
        stamp = now()
        with self.db.tx() as conn:
            known = set(conn.execute(select(inbox_dismissed.c.question)).scalars())
            fresh = sorted({storable(q) for q in questions} - known)
            if fresh:
                conn.execute(insert(inbox_dismissed), [{"question": q, "by": by, "at": stamp} for q in fresh])

    def dismissed(self) -> set[str]:
        with self.db.read() as conn:
            return set(conn.execute(select(inbox_dismissed.c.question)).scalars())

    def mark_exported(self, change_ids: list[int]) -> None:
        with self.db.tx() as conn:
            conn.execute(
                update(knowledge_changes).where(knowledge_changes.c.id.in_(change_ids)).values(exported_at=now())
            )

    # ------------------------------------------------------------------ messages

    def add_message(
        self,
        conversation_id: str,
        role: str,
        text_: str,
        *,
        kind: str | None = None,
        score: float | None = None,
        latency_ms: float | None = None,
        reply: dict[str, Any] | None = None,
        agent: str | None = None,
    ) -> int:
        stamp = now()
        touched: dict[str, Any] = {"updated_at": stamp}
        if role == "agent":  # a person is in the conversation now: the bot keeps quiet until it is handed back
            touched["human_at"] = stamp
        with self.db.tx() as conn:
            result = conn.execute(
                insert(messages).values(
                    conversation_id=conversation_id,
                    role=role,
                    text=storable(text_),
                    kind=kind,
                    score=score,
                    latency_ms=latency_ms,
                    reply=None if reply is None else _json(reply),
                    agent=agent,
                    created_at=stamp,
                )
            )
            conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**touched))
            return _pk(result)

    def record_turn(
        self,
        conversation_id: str,
        user_text: str,
        reply_text: str,
        *,
        kind: str,
        score: float,
        latency_ms: float | None,
        reply: dict[str, Any],
        state: dict[str, Any],
        audience: str | None = None,
        flags: TurnFlags | None = None,
    ) -> tuple[int, int]:
        """A whole user turn — the conversation (created if new), the user's message, the bot's reply, the
        session state and what it means for the agents' queue (``flags``) — in one transaction: either all of it
        is stored or none. Returns the message ids."""
        stamp = now()
        state_json = _json(state)
        upsert = (
            self.db.insert(conversations)
            .values(id=conversation_id, created_at=stamp, updated_at=stamp, audience=audience, state=state_json)
            .on_conflict_do_update(index_elements=["id"], set_={"state": state_json, "updated_at": stamp})
        )
        rows: list[dict[str, Any]] = [
            {"conversation_id": conversation_id, "role": "user", "text": storable(user_text), "kind": None,
             "score": None, "latency_ms": None, "reply": None, "created_at": stamp},
            {"conversation_id": conversation_id, "role": "bot", "text": storable(reply_text), "kind": kind,
             "score": score, "latency_ms": latency_ms, "reply": _json(reply), "created_at": stamp},
        ]  # fmt: skip
        with self.db.tx() as conn:  # one transaction
            conn.execute(upsert)
            ids = conn.execute(insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows)
            user_id, bot_id = (int(r[0]) for r in ids)
            # the user writes again in a resolved conversation: it reopens; one a person handled goes back to them
            conn.execute(
                update(conversations)
                .where((conversations.c.id == conversation_id) & conversations.c.resolved_at.is_not(None))
                .values(resolved_at=None, resolved_by=None,
                        attention=case((conversations.c.agent.is_not(None), "reopened"), else_=None),
                        waiting_since=case((conversations.c.agent.is_not(None), stamp), else_=None))
            )  # fmt: skip
            if flags is not None and flags.handoff is not None:
                self._handoff(conn, conversation_id, flags.handoff, flags.reason, None, stamp)
            if flags is not None and flags.attention is not None:
                conn.execute(
                    update(conversations)
                    .where((conversations.c.id == conversation_id) & conversations.c.attention.is_(None))
                    .values(attention=flags.attention,
                            waiting_since=func.coalesce(conversations.c.waiting_since, stamp))
                )  # fmt: skip
        return user_id, bot_id

    def messages(self, conversation_id: str, limit: int = 500) -> list[Message]:
        stmt = (
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        with self.db.read() as conn:
            rows = list(conn.execute(stmt))
        return [_message(r) for r in reversed(rows)]

    def message(self, message_id: int) -> Message | None:
        with self.db.read() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
        return None if row is None else _message(row)

    # ------------------------------------------------------------------ accounts and console sessions

    def account(self, username: str) -> Account | None:
        with self.db.read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
        if row is None:
            return None
        m = row._mapping
        return _account(m)

    def save_account(self, username: str, display_name: str, role: str, password_hash: str) -> None:
        """Create the account, or give it a new password: every session it had is revoked."""
        stamp = now()
        values = {"display_name": display_name, "role": role, "password_hash": password_hash,
                  "password_changed_at": stamp}  # fmt: skip
        stmt = self.db.insert(accounts).values(username=username, created_at=stamp, disabled=0, **values)
        with self.db.tx() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["username"], set_=values))
            conn.execute(
                update(agent_sessions)
                .where((agent_sessions.c.username == username) & agent_sessions.c.revoked_at.is_(None))
                .values(revoked_at=stamp)
            )

    def update_password_hash(self, username: str, password_hash: str) -> None:
        """The same password, re-hashed with newer parameters (sessions stay)."""
        with self.db.tx() as conn:
            conn.execute(update(accounts).where(accounts.c.username == username).values(password_hash=password_hash))

    def start_session(self, token: str, username: str, expires_at: str, address: str | None) -> None:
        with self.db.tx() as conn:
            conn.execute(
                insert(agent_sessions).values(
                    token_hash=_token_hash(token), username=username, created_at=now(), expires_at=expires_at,
                    address=None if address is None else storable(address)[:64],
                )
            )  # fmt: skip

    def session_account(self, token: str) -> Account | None:
        """The account of a live session (not revoked, not expired, account enabled), or None."""
        stmt = (
            select(accounts)
            .join(agent_sessions, agent_sessions.c.username == accounts.c.username)
            .where(
                (agent_sessions.c.token_hash == _token_hash(token))
                & agent_sessions.c.revoked_at.is_(None)
                & (agent_sessions.c.expires_at > now())
                & (accounts.c.disabled == 0)
            )
        )
        with self.db.read() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        m = row._mapping
        return _account(m)

    def accounts(self) -> list[dict[str, Any]]:
        """Every console account (no hashes), with how many live sessions it has."""
        live = (
            select(func.count())
            .where(
                (agent_sessions.c.username == accounts.c.username)
                & agent_sessions.c.revoked_at.is_(None)
                & (agent_sessions.c.expires_at > now())
            )
            .scalar_subquery()
        )
        stmt = select(
            accounts.c.username, accounts.c.display_name, accounts.c.role, accounts.c.disabled, accounts.c.created_at,
            accounts.c.knowledge_editor, live.label("sessions"),
        ).order_by(accounts.c.created_at, accounts.c.username)  # fmt: skip
        with self.db.read() as conn:
            return [{**r._mapping, "disabled": bool(r.disabled), "knowledge_editor": bool(r.knowledge_editor)}
                    for r in conn.execute(stmt)]  # fmt: skip

    def create_account(self, username: str, display_name: str, role: str, password_hash: str) -> bool:
        """A new account; False if the name is taken."""
        stamp = now()
        stmt = self.db.insert(accounts).values(
            username=username, display_name=storable(display_name), role=role, password_hash=password_hash,
            disabled=0, created_at=stamp, password_changed_at=stamp,
        ).on_conflict_do_nothing(index_elements=["username"])  # fmt: skip
        with self.db.tx() as conn:
            return bool(conn.execute(stmt).rowcount)

    def update_account(self, username: str, *, display_name: str | None = None, role: str | None = None,
                       disabled: bool | None = None, knowledge_editor: bool | None = None) -> bool:  # fmt: skip
        """Change an account's name, role, permission or state; disabling it ends its sessions. False if there is
        none."""
        values: dict[str, Any] = {}
        if knowledge_editor is not None:
            values["knowledge_editor"] = int(knowledge_editor)
        if display_name is not None:
            values["display_name"] = storable(display_name)
        if role is not None:
            values["role"] = role
        if disabled is not None:
            values["disabled"] = int(disabled)
        with self.db.tx() as conn:
            found = conn.execute(update(accounts).where(accounts.c.username == username).values(**values)).rowcount
            if found and (disabled or role is not None):  # a changed role takes effect at the next sign-in
                conn.execute(
                    update(agent_sessions)
                    .where((agent_sessions.c.username == username) & agent_sessions.c.revoked_at.is_(None))
                    .values(revoked_at=now())
                )
        return bool(found)

    def sessions(self, username: str) -> list[dict[str, Any]]:
        """An account's live console sessions, newest first (``id``: a short, non-secret handle)."""
        stmt = (
            select(
                agent_sessions.c.token_hash,
                agent_sessions.c.created_at,
                agent_sessions.c.expires_at,
                agent_sessions.c.address,
                agent_sessions.c.last_seen_at,
            )
            .where(
                (agent_sessions.c.username == username)
                & agent_sessions.c.revoked_at.is_(None)
                & (agent_sessions.c.expires_at > now())
            )
            .order_by(agent_sessions.c.created_at.desc())
        )
        with self.db.read() as conn:
            return [{"id": r[0][:12], "created_at": r[1], "expires_at": r[2], "address": r[3], "last_seen_at": r[4]}
                    for r in conn.execute(stmt)]  # fmt: skip

    def end_sessions(self, username: str, keep_token: str | None = None, handle: str | None = None) -> int:
        """End an account's sessions: all of them, all but ``keep_token``'s, or the one whose handle is ``handle``."""
        where = (agent_sessions.c.username == username) & agent_sessions.c.revoked_at.is_(None)
        if keep_token is not None:
            where = where & (agent_sessions.c.token_hash != _token_hash(keep_token))
        if handle is not None:
            where = where & agent_sessions.c.token_hash.startswith(handle, autoescape=True)
        with self.db.tx() as conn:
            return int(conn.execute(update(agent_sessions).where(where).values(revoked_at=now())).rowcount)

    def touch_session(self, token: str) -> None:
        """The session's console is open now (its socket's heartbeat): it counts as online."""
        with self.db.tx() as conn:
            conn.execute(update(agent_sessions).where(agent_sessions.c.token_hash == _token_hash(token))
                         .values(last_seen_at=now()))  # fmt: skip

    def agents_online(self, since: str) -> int:
        """Accounts with a live session whose console was seen after ``since``."""
        stmt = (
            select(func.count(func.distinct(agent_sessions.c.username)))
            .join(accounts, accounts.c.username == agent_sessions.c.username)
            .where(
                agent_sessions.c.revoked_at.is_(None)
                & (agent_sessions.c.expires_at > now())
                & (agent_sessions.c.last_seen_at > since)
                & (accounts.c.disabled == 0)
            )
        )
        with self.db.read() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def display_names(self) -> dict[str, str]:
        with self.db.read() as conn:
            return {str(r[0]): str(r[1]) for r in conn.execute(select(accounts.c.username, accounts.c.display_name))}

    def end_session(self, token: str) -> None:
        with self.db.tx() as conn:
            conn.execute(
                update(agent_sessions)
                .where((agent_sessions.c.token_hash == _token_hash(token)) & agent_sessions.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )

    # ------------------------------------------------------------------ feedback and reports

    def add_feedback(self, message_id: int, conversation_id: str, helpful: bool, comment: str | None) -> int:
        """The rating of one reply: a new rating replaces the earlier one (one per reply, never a pile)."""
        with self.db.tx() as conn:
            conn.execute(feedback.delete().where(feedback.c.message_id == message_id))
            result = conn.execute(
                insert(feedback).values(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    helpful=int(helpful),
                    comment=None if comment is None else storable(comment),
                    created_at=now(),
                )
            )
            return _pk(result)

    def ratings(self, conversation_id: str) -> dict[int, dict[str, Any]]:
        """Each rated reply of a conversation: its rating (``helpful``, ``comment``)."""
        stmt = select(feedback.c.message_id, feedback.c.helpful, feedback.c.comment).where(
            feedback.c.conversation_id == conversation_id
        )
        with self.db.read() as conn:
            return {int(r[0]): {"helpful": bool(r[1]), "comment": r[2]} for r in conn.execute(stmt)}

    def feedback(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        stmt = select(feedback).order_by(feedback.c.id)
        if conversation_id is not None:
            stmt = stmt.where(feedback.c.conversation_id == conversation_id)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def to_improve(self, low_score: float) -> list[dict[str, Any]]:
        """User questions the bot handled badly: the bot's reply fell back, asked to clarify, answered with low
        confidence, or got a thumbs-down. (A user message and its reply are stored together, so the question is
        the user message just before the reply.)"""
        user = messages.alias("u")
        thumbs_down = exists().where((feedback.c.message_id == messages.c.id) & (feedback.c.helpful == 0))
        question = (
            select(user.c.text)
            .where(
                (user.c.conversation_id == messages.c.conversation_id)
                & (user.c.id < messages.c.id)
                & (user.c.role == "user")
            )
            .order_by(user.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = (
            select(question.label("question"), messages.c.kind, messages.c.score, messages.c.id, thumbs_down)
            .where(
                (messages.c.role == "bot")
                & (
                    messages.c.kind.in_(["fallback", "clarify"])
                    | ((messages.c.kind == "faq") & (messages.c.score < low_score))
                    | thumbs_down
                )
            )
            .order_by(messages.c.id)
        )
        with self.db.read() as conn:
            rows = list(conn.execute(stmt))
        return [
            {"question": r[0], "kind": r[1], "score": r[2], "message_id": r[3], "thumbs_down": bool(r[4])}
            for r in rows
            if r[0] is not None
        ]

    def agent_citations(self) -> list[dict[str, Any]]:
        """Conversations a person resolved with a reply built from an FAQ suggestion: the user's question (the
        last one the bot answered, asked to clarify or fell back on before that reply) and the entry cited —
        proposals for the review inbox to add as alternates of that entry. Oldest first."""
        cited = (
            select(messages.c.id, messages.c.conversation_id, messages.c.reply, messages.c.agent)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                (messages.c.role == "agent")
                & messages.c.reply.is_not(None)
                & conversations.c.resolved_at.is_not(None)
                & ~conversations.c.resolved_by.like("auto:%")
            )
            .order_by(messages.c.id)
        )
        out: list[dict[str, Any]] = []
        with self.db.read() as conn:
            rows = list(conn.execute(cited))
            for chunk in (rows[i : i + 500] for i in range(0, len(rows), 500)):
                turns = conn.execute(
                    select(messages.c.id, messages.c.conversation_id, messages.c.role, messages.c.text, messages.c.kind)
                    .where(
                        messages.c.conversation_id.in_({r.conversation_id for r in chunk})
                        & messages.c.role.in_(["user", "bot"])
                    )
                    .order_by(messages.c.id)
                )
                by_conversation: dict[str, list[Any]] = {}
                for t in turns:
                    by_conversation.setdefault(t.conversation_id, []).append(t)
                for r in chunk:
                    entry_id = (json.loads(r.reply) or {}).get("cites")
                    question = _question_before(by_conversation.get(r.conversation_id, []), r.id)
                    if entry_id and question:
                        out.append({"question": question, "entry_id": entry_id, "agent": r.agent,
                                    "conversation_id": r.conversation_id, "message_id": r.id})  # fmt: skip
        return out


def _question_before(turns: list[Any], before: int) -> str | None:
    """The last user message before message ``before`` that the bot replied to with an answer, a clarification
    or a fallback (not a request for a person, not small talk)."""
    question = None
    for previous, turn in pairwise(turns):
        if turn.id >= before:
            break
        if previous.role == "user" and turn.role == "bot" and turn.kind in ("faq", "clarify", "fallback"):
            question = str(previous.text)
    return question


def _account(m: Any) -> Account:
    return Account(m["username"], m["display_name"], m["role"], m["password_hash"], bool(m["disabled"]),
                   m["password_changed_at"], bool(m["knowledge_editor"]))  # fmt: skip


def _json(value: dict[str, Any]) -> str:
    return storable(json.dumps(value, ensure_ascii=False))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_handle(token: str) -> str:
    """A session's short public handle (the start of its token's hash): names it in lists, grants nothing."""
    return _token_hash(token)[:12]


def _pk(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise StoreError("the database did not return the new row's id")
    return int(key[0])


def _conversation(row: Any) -> Conversation:
    m = row._mapping
    return Conversation(
        id=m["id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        audience=m["audience"],
        state=json.loads(m["state"] or "{}"),
        handoff=m["handoff"],
        agent=m["agent"],
        attention=m["attention"],
        waiting_since=m["waiting_since"],
        human_at=m["human_at"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        contact=m["contact"],
    )


def _message(row: Any) -> Message:
    m = row._mapping
    return Message(
        id=int(m["id"]),
        conversation_id=m["conversation_id"],
        role=m["role"],
        text=m["text"],
        kind=m["kind"],
        score=m["score"],
        latency_ms=m["latency_ms"],
        reply=None if m["reply"] is None else json.loads(m["reply"]),
        agent=m["agent"],
        created_at=m["created_at"],
    )
