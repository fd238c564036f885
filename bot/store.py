"""Conversations, messages, feedback and hand-overs in one SQLite file (WAL), with versioned migrations.

Every write commits before the caller acknowledges anything to a user (``synchronous=FULL``), so nothing
a user was told was received is lost on a crash or restart.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

HandoffState = Literal["bot", "requested", "agent"]

# Each entry moves the schema one version up; PRAGMA user_version records where a file stands.
MIGRATIONS: list[str] = [
    # 1: conversations, messages, feedback, hand-overs, orders, settings
    """
    CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        audience TEXT,
        state TEXT NOT NULL DEFAULT '{}',
        handoff TEXT NOT NULL DEFAULT 'bot' CHECK (handoff IN ('bot', 'requested', 'agent')),
        agent TEXT,
        attention TEXT
    );
    CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        role TEXT NOT NULL CHECK (role IN ('user', 'bot', 'agent', 'system')),
        text TEXT NOT NULL,
        kind TEXT,
        score REAL,
        latency_ms REAL,
        reply TEXT,
        agent TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        helpful INTEGER NOT NULL,
        comment TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS handoffs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        state TEXT NOT NULL,
        reason TEXT,
        agent TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY,
        product_type TEXT NOT NULL,
        product_name TEXT,
        purchased_on TEXT NOT NULL,
        service_confirmed INTEGER,
        amount TEXT
    );
    CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]


class StoreError(Exception):
    """The database cannot be opened or migrated; the message says which file and why."""


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


class ConversationStore:
    """The project's SQLite database. Thread-safe: one connection behind a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        self._lock = threading.RLock()
        self.migrate()

    # ------------------------------------------------------------------ schema

    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        with self._lock:
            current = self.version
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} has schema version {current}, newer than this program ({len(MIGRATIONS)})"
                )
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                try:
                    self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
                except sqlite3.Error as exc:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise StoreError(f"{self.path}: migration {number} failed: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def writable(self) -> bool:
        try:
            with self._tx() as db:
                db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('last_check', ?)", (now(),))
            return True
        except sqlite3.Error:
            return False

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ conversations

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, created_at, updated_at, audience, state, handoff, agent, attention FROM conversations "
                "WHERE id = ?",
                (conversation_id,),
            ).fetchone()
        return None if row is None else _conversation(row)

    def create_conversation(self, audience: str | None = None, conversation_id: str | None = None) -> Conversation:
        cid = conversation_id or new_id()
        stamp = now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO conversations (id, created_at, updated_at, audience) VALUES (?, ?, ?, ?)",
                (cid, stamp, stamp, audience),
            )
        conv = self.conversation(cid)
        assert conv is not None
        return conv

    def save_state(self, conversation_id: str, state: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET state = ?, updated_at = ? WHERE id = ?",
                (json.dumps(state, ensure_ascii=False), now(), conversation_id),
            )

    def set_handoff(
        self, conversation_id: str, state: HandoffState, reason: str | None = None, agent: str | None = None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET handoff = ?, agent = ?, updated_at = ? WHERE id = ?",
                (state, agent, now(), conversation_id),
            )
            db.execute(
                "INSERT INTO handoffs (conversation_id, state, reason, agent, created_at) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, state, reason, agent, now()),
            )

    def set_attention(self, conversation_id: str, reason: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET attention = ?, updated_at = ? WHERE id = ?", (reason, now(), conversation_id)
            )

    def queue(self, limit: int = 100) -> list[Conversation]:
        """Conversations that need a person, most recently active first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created_at, updated_at, audience, state, handoff, agent, attention FROM conversations "
                "WHERE handoff != 'bot' OR attention IS NOT NULL ORDER BY updated_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_conversation(r) for r in rows]

    # ------------------------------------------------------------------ messages

    def add_message(
        self,
        conversation_id: str,
        role: str,
        text: str,
        *,
        kind: str | None = None,
        score: float | None = None,
        latency_ms: float | None = None,
        reply: dict[str, Any] | None = None,
        agent: str | None = None,
    ) -> int:
        stamp = now()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO messages (conversation_id, role, text, kind, score, latency_ms, reply, agent, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    role,
                    text,
                    kind,
                    score,
                    latency_ms,
                    None if reply is None else json.dumps(reply, ensure_ascii=False),
                    agent,
                    stamp,
                ),
            )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, conversation_id))
            return int(cur.lastrowid or 0)

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
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO conversations (id, created_at, updated_at, audience) VALUES (?, ?, ?, ?)",
                (conversation_id, stamp, stamp, audience),
            )
            user = db.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at) VALUES (?, 'user', ?, ?)",
                (conversation_id, user_text, stamp),
            )
            bot = db.execute(
                "INSERT INTO messages (conversation_id, role, text, kind, score, latency_ms, reply, created_at) "
                "VALUES (?, 'bot', ?, ?, ?, ?, ?, ?)",
                (conversation_id, reply_text, kind, score, latency_ms, json.dumps(reply, ensure_ascii=False), stamp),
            )
            db.execute(
                "UPDATE conversations SET state = ?, updated_at = ? WHERE id = ?",
                (json.dumps(state, ensure_ascii=False), stamp, conversation_id),
            )
            return int(user.lastrowid or 0), int(bot.lastrowid or 0)

    def set_reply(self, message_id: int, reply: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE messages SET reply = ? WHERE id = ?", (json.dumps(reply, ensure_ascii=False), message_id)
            )

    def messages(self, conversation_id: str, limit: int = 500) -> list[Message]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, conversation_id, role, text, kind, score, latency_ms, reply, agent, created_at "
                "FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?",
                (conversation_id, limit),
            ).fetchall()
        return [_message(r) for r in reversed(rows)]

    def message(self, message_id: int) -> Message | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, conversation_id, role, text, kind, score, latency_ms, reply, agent, created_at "
                "FROM messages WHERE id = ?",
                (message_id,),
            ).fetchone()
        return None if row is None else _message(row)

    # ------------------------------------------------------------------ feedback and reports

    def add_feedback(self, message_id: int, conversation_id: str, helpful: bool, comment: str | None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO feedback (message_id, conversation_id, helpful, comment, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_id, conversation_id, int(helpful), comment, now()),
            )
            return int(cur.lastrowid or 0)

    def feedback(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, message_id, conversation_id, helpful, comment, created_at FROM feedback"
        args: tuple[Any, ...] = ()
        if conversation_id is not None:
            sql, args = sql + " WHERE conversation_id = ?", (conversation_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        keys = ("id", "message_id", "conversation_id", "helpful", "comment", "created_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def to_improve(self, low_score: float) -> list[dict[str, Any]]:
        """User questions the bot handled badly: the bot's reply fell back, asked to clarify, answered with low
        confidence, or got a thumbs-down."""
        sql = """
        SELECT u.text, b.kind, b.score, b.id,
               EXISTS(SELECT 1 FROM feedback f WHERE f.message_id = b.id AND f.helpful = 0) AS thumbs_down
        FROM messages b
        JOIN messages u ON u.id = (SELECT MAX(id) FROM messages x
                                   WHERE x.conversation_id = b.conversation_id AND x.id < b.id AND x.role = 'user')
        WHERE b.role = 'bot'
          AND (b.kind IN ('fallback', 'clarify') OR (b.kind = 'faq' AND b.score < ?)
               OR EXISTS(SELECT 1 FROM feedback f WHERE f.message_id = b.id AND f.helpful = 0))
        ORDER BY b.id
        """
        with self._lock:
            rows = self._db.execute(sql, (low_score,)).fetchall()
        return [
            {"question": r[0], "kind": r[1], "score": r[2], "message_id": r[3], "thumbs_down": bool(r[4])} for r in rows
        ]


def _conversation(row: tuple[Any, ...]) -> Conversation:
    return Conversation(
        id=row[0],
        created_at=row[1],
        updated_at=row[2],
        audience=row[3],
        state=json.loads(row[4] or "{}"),
        handoff=row[5],
        agent=row[6],
        attention=row[7],
    )


def _message(row: tuple[Any, ...]) -> Message:
    return Message(
        id=row[0],
        conversation_id=row[1],
        role=row[2],
        text=row[3],
        kind=row[4],
        score=row[5],
        latency_ms=row[6],
        reply=None if row[7] is None else json.loads(row[7]),
        agent=row[8],
        created_at=row[9],
    )
