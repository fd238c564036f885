"""The conversation database: real SQLite files, WAL, migrations, one transaction per turn."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.store import MIGRATIONS, ConversationStore


def test_new_database_is_migrated_to_the_latest_version_in_wal(tmp_path: Path) -> None:
    store = ConversationStore.open(tmp_path / "a.sqlite3")
    assert store.db.version == len(MIGRATIONS)
    assert store.db.journal_mode() == "wal"
    with store.db.engine.connect() as conn:
        tables = set(store.db.engine.dialect.get_table_names(conn))
    assert {"conversations", "messages", "feedback", "handoffs", "orders", "settings"} <= tables


def test_a_database_from_a_newer_program_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    ConversationStore.open(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS) + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this program"):
        ConversationStore.open(path)


def test_a_turn_is_stored_whole_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    store = ConversationStore.open(path)
    user_id, bot_id = store.record_turn(
        "c1", "发票多久到", "10 个工作日内", kind="faq", score=0.9, latency_ms=9.0, reply={"kind": "faq"},
        state={"slots": {"a": 1}}, audience="buyer",
    )  # fmt: skip
    assert bot_id == user_id + 1
    store.close()
    again = ConversationStore.open(path)
    conv = again.conversation("c1")
    assert conv is not None and conv.state == {"slots": {"a": 1}} and conv.audience == "buyer"
    assert [(m.role, m.text) for m in again.messages("c1")] == [("user", "发票多久到"), ("bot", "10 个工作日内")]


def test_a_failed_turn_stores_nothing(tmp_path: Path) -> None:
    store = ConversationStore.open(tmp_path / "f.sqlite3")
    with pytest.raises(TypeError):
        store.record_turn("c2", "hi", "x", kind="faq", score=1.0, latency_ms=None, reply={"bad": object()}, state={})
    assert store.conversation("c2") is None and store.messages("c2") == []


def test_queue_lists_conversations_that_need_a_person(tmp_path: Path) -> None:
    store = ConversationStore.open(tmp_path / "q.sqlite3")
    for cid in ("ok", "asked", "flagged"):
        store.record_turn(cid, "q", "a", kind="faq", score=1.0, latency_ms=None, reply={}, state={})
    store.set_handoff("asked", "requested", reason="user_request")
    store.set_attention("flagged", "fallback")
    assert {c.id for c in store.queue()} == {"asked", "flagged"}


def test_the_queue_ranks_requests_for_a_person_by_when_they_were_made(tmp_path: Path) -> None:
    """A conversation the bot flagged long ago and that asks for a person later waits from its request: flagging
    many conversations first cannot pre-age a flood of hand-over requests ahead of a real one."""
    store = ConversationStore.open(tmp_path / "age.sqlite3")
    for cid in ("attacker", "real", "flag-only"):
        store.record_turn(cid, "q", "a", kind="fallback", score=0.0, latency_ms=None, reply={}, state={})
    steps = [
        lambda: store.set_attention("attacker", "fallback"),  # flagged first: the oldest wait
        lambda: store.set_attention("flag-only", "fallback"),
        lambda: store.set_handoff("real", "requested", reason="user_request"),
        lambda: store.set_handoff("attacker", "requested", reason="user_request"),  # after the real user
    ]
    for step in steps:
        step()
        time.sleep(0.005)  # timestamps have millisecond resolution
    assert [c.id for c in store.queue()] == ["real", "attacker", "flag-only"]
    assert store.queue_size() == 3 and [c.id for c in store.queue(offset=1, limit=1)] == ["attacker"]
    store.set_handoff("real", "bot", reason="handed_back")
    assert [c.id for c in store.queue()] == ["attacker", "flag-only"]


def test_a_version_2_database_gains_the_team_tables_and_keeps_its_conversations(tmp_path: Path) -> None:
    """The schema as version 2 left it (no resolved/contact columns, no last_seen_at, none of the team's tables)
    is migrated in place: what it held stays, and the new parts work."""
    path = tmp_path / "v2.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (2);
        CREATE TABLE conversations (id VARCHAR(64) PRIMARY KEY, created_at VARCHAR(40) NOT NULL,
          updated_at VARCHAR(40) NOT NULL, audience VARCHAR(16), state TEXT NOT NULL DEFAULT '{}',
          handoff VARCHAR(16) NOT NULL DEFAULT 'bot', agent VARCHAR(80), attention VARCHAR(40),
          waiting_since VARCHAR(40), human_at VARCHAR(40));
        CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id VARCHAR(64) NOT NULL, role VARCHAR(16) NOT NULL,
          text TEXT NOT NULL, kind VARCHAR(16), score FLOAT, latency_ms FLOAT, reply TEXT, agent VARCHAR(80),
          created_at VARCHAR(40) NOT NULL);
        CREATE TABLE feedback (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL,
          conversation_id VARCHAR(64) NOT NULL, helpful INTEGER NOT NULL, comment TEXT,
          created_at VARCHAR(40) NOT NULL);
        CREATE TABLE handoffs (id INTEGER PRIMARY KEY, conversation_id VARCHAR(64) NOT NULL,
          state VARCHAR(16) NOT NULL,
          reason VARCHAR(40), agent VARCHAR(80), created_at VARCHAR(40) NOT NULL);
        CREATE TABLE orders (id VARCHAR(64) PRIMARY KEY, product_type VARCHAR(32) NOT NULL, product_name VARCHAR(200),
          purchased_on VARCHAR(10) NOT NULL, service_confirmed INTEGER, amount VARCHAR(32));
        CREATE TABLE settings (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE accounts (username VARCHAR(64) PRIMARY KEY, display_name VARCHAR(80) NOT NULL,
          role VARCHAR(16) NOT NULL, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
          created_at VARCHAR(40) NOT NULL, password_changed_at VARCHAR(40) NOT NULL);
        CREATE TABLE agent_sessions (token_hash VARCHAR(64) PRIMARY KEY, username VARCHAR(64) NOT NULL,
          created_at VARCHAR(40) NOT NULL, expires_at VARCHAR(40) NOT NULL, revoked_at VARCHAR(40),
          address VARCHAR(64));
        INSERT INTO conversations (id, created_at, updated_at, handoff, waiting_since)
          VALUES ('old', '2026-11-01T00:00:00.000+00:00', '2026-11-01T00:00:00.000+00:00', 'requested',
                  '2026-11-01T00:00:00.000+00:00');
        INSERT INTO messages (conversation_id, role, text, created_at) VALUES ('old', 'user', '转人工', '2026-11-01');
        """
    )
    db.commit()
    db.close()
    store = ConversationStore.open(path)
    assert store.db.version == len(MIGRATIONS) == 6
    assert [c.id for c in store.queue()] == ["old"] and store.messages("old")[0].text == "转人工"
    assert store.create_account("li", "李", "agent", "x")  # v5 gave the old accounts table its permission column
    li = store.account("li")
    assert li is not None and li.knowledge_editor is False and not li.edits_knowledge
    store.take_over("old", "wang")
    store.resolve("old", "wang")
    assert store.queue() == [] and [c.id for c in store.search("转人工")] == ["old"]
    store.rate_conversation("old", 5, None, "wang")
    assert store.conversation_rating("old")["score"] == 5  # type: ignore[index]
    assert store.save_canned("问候", "您好", "admin") == 1
