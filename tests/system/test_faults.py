"""Faults: kill -9 mid-conversation, a missing or corrupt index, an encoder that cannot load, a read-only
database. Nothing acknowledged is lost; the server says what is wrong in /readyz and the log, and degrades
instead of crashing."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, event
from websockets.sync.client import connect

from bot.api import create_app
from bot.engine import AnswerEngine
from bot.settings import Settings
from tests.helpers import TODAY, free_port, serve, wait_until_ready

pytestmark = pytest.mark.integration
INDEX_PROBLEM = "the search index cannot be used"


def ask(ws: object, text: str) -> dict[str, object]:
    ws.send(json.dumps({"type": "message", "text": text, "context": TODAY}))  # type: ignore[attr-defined]
    while True:
        frame = json.loads(ws.recv())  # type: ignore[attr-defined]
        if frame["type"] == "reply":
            return frame["reply"]  # type: ignore[no-any-return]


def test_kill_9_loses_nothing_acknowledged_and_the_conversation_resumes(
    engine: AnswerEngine, real_index_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "faqbot.sqlite3"
    port = free_port()
    proc = serve(real_index_dir, db, port)
    url = f"ws://127.0.0.1:{port}/ws/chat"
    try:
        with connect(url) as ws:
            session_id = json.loads(ws.recv())["session_id"]
            acknowledged = ["发票多久能开出来", "镜像能下到本地吗", "我买的东西能退款吗"]
            replies = [ask(ws, q) for q in acknowledged]
            assert replies[-1]["rule"]["missing"] == ["delivery_type"]  # type: ignore[index]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    proc = serve(real_index_dir, db, port)
    try:
        with connect(f"{url}?session_id={session_id}") as ws:
            resumed = json.loads(ws.recv())
            assert resumed["session_id"] == session_id
            users = [m["text"] for m in resumed["history"] if m["role"] == "user"]
            bots = [m for m in resumed["history"] if m["role"] == "bot"]
            assert users == acknowledged and len(bots) == len(acknowledged)
            assert [b["id"] for b in bots] == [r["message_id"] for r in replies]
            after = ask(ws, "SaaS")  # the rule that was waiting for the product type goes on
            assert after["rule"]["missing"] == ["purchased_on"]  # type: ignore[index]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _degraded(settings: Settings, caplog: pytest.LogCaptureFixture, public: str, logged: str) -> None:
    """Index or encoder gone: the server starts in lexical-only mode — rules still decide, keyword search offers
    the closest questions (never a confident answer), /readyz is 503 and says so, the log says why."""
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready" and body["mode"] == "lexical-only" and body["problem"] == public
        assert "/" not in ready.text.replace("/readyz", "")  # no file paths for anonymous visitors
        assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200
        options = client.post("/api/chat", json={"message": "纸质发票的邮费谁来出", "context": TODAY}).json()
        assert options["kind"] == "clarify" and options["reason"] == "degraded" and "转人工" in options["text"]
        assert "invoice-postage" in [s["id"] for s in options["suggestions"]]
        picked = client.post("/api/chat", json={"message": "纸质邮寄快递费用将由谁来承担？", "context": TODAY}).json()
        assert picked["kind"] == "faq" and picked["faq"]["id"] == "invoice-postage"  # a clicked chip is answered
        rule = client.post("/api/chat", json={"message": "我前天买的SaaS模板能退款吗", "context": TODAY}).json()
        assert rule["kind"] == "rule" and rule["rule"]["decision"] == "refund_in_window"
        with client.websocket_connect("/ws/chat") as ws:
            assert ws.receive_json()["type"] == "session"
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not start" in m and logged in m for m in messages)  # the details are in the log
    assert any("lexical-only" in m for m in messages)


@pytest.fixture()
def base(settings: Settings, engine: AnswerEngine, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "database_path": tmp_path / "faqbot.sqlite3",
            "agent_password": SecretStr("fault-test-password"),
            "admin_password": SecretStr("fault-admin-password"),
            "allow_rebuild": False,
        }
    )


def test_missing_index_degrades_with_a_clear_error(
    base: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "no-index"
    empty.mkdir()
    _degraded(base.model_copy(update={"index_dir": empty}), caplog, INDEX_PROBLEM, "no index has been built")


def test_corrupt_index_degrades_with_a_clear_error(
    base: Settings, real_index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "index"
    shutil.copytree(real_index_dir, broken)
    faiss_file = next(broken.glob("*.faiss"))
    faiss_file.write_bytes(b"not a faiss index" * 10)
    _degraded(base.model_copy(update={"index_dir": broken}), caplog, INDEX_PROBLEM, "IndexUnusable")


def test_an_encoder_that_cannot_load_degrades_with_a_clear_error(
    base: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # rebuilding is allowed (into an empty directory), so the missing model is what stops the engine
    settings = base.model_copy(
        update={"encoder": "sentence-transformers", "st_model": "/no/such/model", "allow_rebuild": True,
                "index_dir": tmp_path / "index"}
    )  # fmt: skip
    _degraded(settings, caplog, "the sentence encoder cannot be loaded", "EncoderError")


def test_broken_knowledge_leaves_the_server_up_and_unavailable(
    base: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(base.knowledge_dir, broken)
    (broken / "rules.yaml").write_text("refund: [unclosed", encoding="utf-8")
    with caplog.at_level(logging.ERROR), TestClient(create_app(base.model_copy(update={"knowledge_dir": broken}))) as c:
        ready = c.get("/readyz").json()
        assert ready["mode"] == "unavailable" and ready["problem"] == "the rules data is invalid"
        chat = c.post("/api/chat", json={"message": "发票多久到"})
        assert chat.status_code == 503 and chat.json()["code"] == "unavailable" and "人工客服" in chat.json()["message"]
        assert str(broken) not in chat.text and str(broken) not in c.get("/readyz").text
        with c.websocket_connect("/ws/chat") as ws, pytest.raises(Exception) as closed:
            ws.receive_json()
        assert getattr(closed.value, "code", None) == 1011
    assert any("could not start" in r.getMessage() and str(broken) in r.getMessage() for r in caplog.records)


def test_a_read_only_database_refuses_clearly_and_keeps_what_it_has(base: Settings) -> None:
    with TestClient(create_app(base)) as client:
        first = client.post("/api/chat", json={"message": "发票多久到", "context": TODAY}).json()
        store = client.app.state.store  # type: ignore[attr-defined]
        writable = store.db.engine
        # a real read-only connection to the same file (as root, file permissions would not stop writes)
        store.db.engine = create_engine(
            f"sqlite:///file:{base.database_path}?mode=ro&uri=true", connect_args={"check_same_thread": False}
        )
        try:
            r = client.post("/api/chat", json={"message": "镜像能下载吗", "session_id": first["session_id"]})
            assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
            assert "not writable" in ready.json()["database_problem"]
            with client.websocket_connect(f"/ws/chat?session_id={first['session_id']}") as ws:
                ws.receive_json()
                ws.send_json({"type": "message", "text": "你好"})
                assert ws.receive_json()["type"] == "typing"
                assert ws.receive_json()["code"] == "storage_unavailable"  # the socket stays up
        finally:
            store.db.engine.dispose()
            store.db.engine = writable
        history = store.messages(first["session_id"])
        assert [m.text for m in history if m.role == "user"] == ["发票多久到"]  # nothing half-written
        assert client.get("/readyz").status_code == 200


def test_a_full_database_refuses_clearly_and_recovers(base: Settings) -> None:
    with TestClient(create_app(base.model_copy(update={"messages_per_minute": 1000}))) as client:
        first = client.post("/api/chat", json={"message": "发票多久到", "context": TODAY}).json()
        store = client.app.state.store  # type: ignore[attr-defined]
        roomy = store.db.engine
        full = create_engine(f"sqlite:///{base.database_path}", connect_args={"check_same_thread": False})

        @event.listens_for(full, "connect")
        def _no_room(dbapi_conn: object, _: object) -> None:  # the file may not grow: "database or disk is full"
            cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
            pages = cur.execute("PRAGMA page_count").fetchone()[0]
            cur.execute(f"PRAGMA max_page_count = {pages}")
            cur.close()

        store.db.engine = full
        try:
            big = "发票" * 240
            codes = {client.post("/api/chat", json={"message": big, "session_id": first["session_id"]}).status_code
                     for _ in range(30)}  # fmt: skip
            assert 503 in codes and 500 not in codes
            # the probe answers (never a 500) and its status agrees with its own check; a tiny test write can still
            # fit into a page the file already has, so it need not see this kind of "full" (the turns do)
            ready = client.get("/readyz")
            assert ready.status_code == (200 if ready.json()["checks"]["database"] else 503), ready.text
        finally:
            full.dispose()
            store.db.engine = roomy
        assert (
            client.post("/api/chat", json={"message": "镜像能下载吗", "session_id": first["session_id"]}).status_code
            == 200
        )


# ---------------------------------------------------------------------- attack probe: storage and start-up


def test_a_deleted_database_file_is_noticed_and_writes_are_refused(base: Settings) -> None:
    with TestClient(create_app(base)) as client:
        first = client.post("/api/chat", json={"message": "发票多久到", "context": TODAY}).json()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{base.database_path}{suffix}").unlink(missing_ok=True)
        r = client.post("/api/chat", json={"message": "镜像能下载吗", "session_id": first["session_id"]})
        assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
        with client.websocket_connect("/ws/chat") as ws:
            ws.receive_json()
            ws.send_json({"type": "message", "text": "你好"})
            assert ws.receive_json()["type"] == "typing"
            assert ws.receive_json()["code"] == "storage_unavailable"


def test_readiness_says_not_ready_before_the_disk_is_full(base: Settings) -> None:
    with TestClient(create_app(base.model_copy(update={"min_free_disk_mb": 10**9}))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is False


def test_a_corrupt_jieba_dictionary_is_written_again(
    base: Settings, real_index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(real_index_dir, copy)
    dictionary = next(copy.glob("jieba-*.txt"))
    dictionary.write_bytes(b"\xff\xfe not a dictionary\n" + b"word-without-frequency\n" * 100)
    with caplog.at_level(logging.WARNING), TestClient(create_app(base.model_copy(update={"index_dir": copy}))) as c:
        assert c.get("/readyz").status_code == 200
        reply = c.post("/api/chat", json={"message": "镜像能下到本地吗", "context": TODAY}).json()
        assert reply["kind"] == "faq" and reply["faq"]["id"] == "image-download"
    assert any("jieba dictionary" in r.getMessage() for r in caplog.records)
    assert dictionary.stat().st_size > 1_000_000  # written again from jieba's own


def test_a_hand_over_is_stored_with_its_turn_or_not_at_all(base: Settings) -> None:
    with TestClient(create_app(base)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        with store.db.engine.begin() as conn:  # the queue write fails, as a crash between the two writes would
            conn.exec_driver_sql(
                "CREATE TRIGGER no_handoffs BEFORE INSERT ON handoffs BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
            )
        first = client.post("/api/chat", json={"message": "发票多久到", "context": TODAY}).json()
        r = client.post("/api/chat", json={"message": "转人工", "session_id": first["session_id"]})
        assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
        texts = [m.text for m in store.messages(first["session_id"])]
        assert "转人工" not in texts  # no hand-over request stored without its place in the queue
        with store.db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER no_handoffs")
        client.post("/api/chat", json={"message": "转人工", "session_id": first["session_id"]})
        conv = store.conversation(first["session_id"])
        assert conv is not None and conv.handoff == "requested" and conv.waiting_since


def test_serve_on_a_read_only_database_without_a_session_secret_says_why(
    engine: AnswerEngine, real_index_dir: Path, tmp_path: Path
) -> None:
    from bot.store import ConversationStore

    db = tmp_path / "ro.sqlite3"
    ConversationStore.open(db).close()  # migrated, but no accounts and no session secret stored yet
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env.update(FAQBOT_INDEX_DIR=str(real_index_dir), FAQBOT_ALLOW_REBUILD="false",
               FAQBOT_DATABASE_URL=f"sqlite:///file:{db}?mode=ro&uri=true", FAQBOT_PORT=str(free_port()))  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "FAQBOT_SESSION_SECRET" in out.stderr, out.stderr[-2000:]


def test_a_real_server_closes_slow_headers_cuts_chunked_bodies_and_logs_no_session_ids(
    engine: AnswerEngine, real_index_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    log_file = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env.update(FAQBOT_INDEX_DIR=str(real_index_dir), FAQBOT_ALLOW_REBUILD="false", FAQBOT_PORT=str(port),
               FAQBOT_DATABASE_PATH=str(tmp_path / "faqbot.sqlite3"), FAQBOT_AGENT_PASSWORD="server-test-password",
               FAQBOT_ADMIN_PASSWORD="server-admin-password", FAQBOT_REQUEST_TIMEOUT_SECONDS="1",
               FAQBOT_HTTP_CONNECTIONS_PER_ADDRESS="40")  # fmt: skip
    with log_file.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, stdout=log, stderr=log)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", proc)
        # slow headers: the server hangs up after the header timeout
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        slow.settimeout(10)
        started = time.monotonic()
        assert slow.recv(1024) == b"" and time.monotonic() - started < 5
        slow.close()
        # a body that trickles in: 408 after the timeout
        trickle = socket.create_connection(("127.0.0.1", port))
        trickle.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100\r\n\r\n{\"message\"")  # fmt: skip
        trickle.settimeout(10)
        assert trickle.recv(1024).startswith(b"HTTP/1.1 408")
        trickle.close()
        # headers that never end: 431 at 64 KB
        bloat = socket.create_connection(("127.0.0.1", port))
        with contextlib.suppress(OSError):
            bloat.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200_000)
        bloat.settimeout(10)
        assert bloat.recv(1024).startswith(b"HTTP/1.1 431")
        bloat.close()
        # one address holds at most FAQBOT_HTTP_CONNECTIONS_PER_ADDRESS connections (sockets that became
        # WebSockets, now closed, are not counted any more)
        for _ in range(50):
            with connect(f"ws://127.0.0.1:{port}/ws/chat") as ws:
                json.loads(ws.recv())
        many = [socket.create_connection(("127.0.0.1", port)) for _ in range(45)]
        time.sleep(0.3)
        closed, _, _ = select.select(many, [], [], 0.3)
        assert len(closed) == 5 and all(c.recv(1) == b"" for c in closed)
        for c in many:
            c.close()
        # a chunked body without Content-Length: 413 long before 20 MB are sent
        body = socket.create_connection(("127.0.0.1", port))
        body.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        sent = 0
        with contextlib.suppress(OSError):
            for _ in range(320):
                body.sendall(chunk)
                sent += 0x10000
        body.settimeout(10)
        answer = body.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        body.close()
        # the widget's socket URL carries the conversation id; the access log must not
        with connect(f"ws://127.0.0.1:{port}/ws/chat?session_id=SECRET-SESSION-ID-123") as ws:
            json.loads(ws.recv())
        urllib.request.urlopen(f"http://127.0.0.1:{port}/faq?session_id=SECRET-SESSION-ID-456").read()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?session_id=SECRET-SESSION-ID-789").read()
        with contextlib.suppress(urllib.error.HTTPError):  # 401: the path is logged all the same
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/agent/conversations/SECRET-CONVERSATION-ID")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    logged = log_file.read_text()
    assert "/ws/chat" in logged and "SECRET-SESSION-ID" not in logged and "session_id=[redacted]" in logged
    assert "SECRET-CONVERSATION-ID" not in logged and "/api/agent/conversations/[redacted]" in logged
    assert '"GET /healthz?session_id=[redacted] HTTP/1.1" 200' in logged and "Logging error" not in logged
