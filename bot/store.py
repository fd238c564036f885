"""Conversations, messages, feedback and hand-overs: SQLite (the embedded default, one file in WAL mode) or
PostgreSQL (for several workers), one module, through SQLAlchemy Core, with versioned migrations.

A user turn is one transaction committed before the reply is sent (SQLite: ``synchronous=FULL``), so nothing
a user was answered is lost on a crash or restart.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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
    create_engine,
    event,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

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


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[conversations, messages, feedback, handoffs, orders, settings_table])


# Each entry moves the schema one version up; the schema_version table records where a database stands.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1]


class StoreError(Exception):
    """The database cannot be opened or migrated; the message says which one and why."""


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


class ConversationStore:
    """The project's database. Thread-safe (a connection pool; one transaction per call)."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.path = path
        self.url = database_url(path, url)
        try:
            if self.url.startswith("sqlite"):
                path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = make_engine(self.url)
            self.migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open the database {self._where}: {exc}") from exc

    @property
    def _where(self) -> str:
        return str(self.path) if self.url.startswith("sqlite") else self.url.split("@")[-1]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _insert(self, table: Table) -> Any:
        return dialect_insert(self.engine, table)

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
            raise StoreError(f"{self._where} has schema version {current}, newer than this program ({len(MIGRATIONS)})")
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.engine.begin() as conn:
                metadata.create_all(conn, tables=[schema_version])
                step(conn)
                conn.execute(schema_version.delete())
                conn.execute(insert(schema_version).values(version=number))

    def close(self) -> None:
        self.engine.dispose()

    def writable(self) -> bool:
        try:
            self.set_setting("last_check", now())
            return True
        except SQLAlchemyError:
            return False

    def journal_mode(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA journal_mode")).scalar())

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(settings_table.c.value).where(settings_table.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_setting(self, key: str, value: str) -> None:
        stmt = self._insert(settings_table).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    # ------------------------------------------------------------------ conversations

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
        return None if row is None else _conversation(row)

    def create_conversation(self, audience: str | None = None, conversation_id: str | None = None) -> Conversation:
        cid = conversation_id or new_id()
        stamp = now()
        with self.engine.begin() as conn:
            conn.execute(insert(conversations).values(id=cid, created_at=stamp, updated_at=stamp, audience=audience))
        conv = self.conversation(cid)
        assert conv is not None
        return conv

    def set_handoff(
        self, conversation_id: str, state: HandoffState, reason: str | None = None, agent: str | None = None
    ) -> None:
        stamp = now()
        with self.engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(handoff=state, agent=agent, updated_at=stamp)
            )
            conn.execute(
                insert(handoffs).values(
                    conversation_id=conversation_id, state=state, reason=reason, agent=agent, created_at=stamp
                )
            )

    def set_attention(self, conversation_id: str, reason: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(attention=reason, updated_at=now())
            )

    def queue(self, limit: int = 100) -> list[Conversation]:
        """Conversations that need a person, most recently active first."""
        stmt = (
            select(conversations)
            .where((conversations.c.handoff != "bot") | conversations.c.attention.is_not(None))
            .order_by(conversations.c.updated_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_conversation(r) for r in conn.execute(stmt)]

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
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(messages).values(
                    conversation_id=conversation_id,
                    role=role,
                    text=text_,
                    kind=kind,
                    score=score,
                    latency_ms=latency_ms,
                    reply=None if reply is None else json.dumps(reply, ensure_ascii=False),
                    agent=agent,
                    created_at=stamp,
                )
            )
            conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(updated_at=stamp))
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
    ) -> tuple[int, int]:
        """A whole user turn — the conversation (created if new), the user's message, the bot's reply and the
        session state — in one transaction: either all of it is stored or none. Returns the message ids."""
        stamp = now()
        state_json = json.dumps(state, ensure_ascii=False)
        upsert = (
            self._insert(conversations)
            .values(id=conversation_id, created_at=stamp, updated_at=stamp, audience=audience, state=state_json)
            .on_conflict_do_update(index_elements=["id"], set_={"state": state_json, "updated_at": stamp})
        )
        rows: list[dict[str, Any]] = [
            {"conversation_id": conversation_id, "role": "user", "text": user_text, "kind": None, "score": None,
             "latency_ms": None, "reply": None, "created_at": stamp},
            {"conversation_id": conversation_id, "role": "bot", "text": reply_text, "kind": kind, "score": score,
             "latency_ms": latency_ms, "reply": json.dumps(reply, ensure_ascii=False), "created_at": stamp},
        ]  # fmt: skip
        with self.engine.begin() as conn:  # two statements, one transaction
            conn.execute(upsert)
            ids = conn.execute(insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows)
            user_id, bot_id = (int(r[0]) for r in ids)
        return user_id, bot_id

    def messages(self, conversation_id: str, limit: int = 500) -> list[Message]:
        stmt = (
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        return [_message(r) for r in reversed(rows)]

    def message(self, message_id: int) -> Message | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
        return None if row is None else _message(row)

    # ------------------------------------------------------------------ feedback and reports

    def add_feedback(self, message_id: int, conversation_id: str, helpful: bool, comment: str | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(feedback).values(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    helpful=int(helpful),
                    comment=comment,
                    created_at=now(),
                )
            )
            return _pk(result)

    def feedback(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        stmt = select(feedback).order_by(feedback.c.id)
        if conversation_id is not None:
            stmt = stmt.where(feedback.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        return [
            {"question": r[0], "kind": r[1], "score": r[2], "message_id": r[3], "thumbs_down": bool(r[4])}
            for r in rows
            if r[0] is not None
        ]


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
