"""Scale-out: the store on SQLite and on PostgreSQL, and two server processes sharing PostgreSQL + Redis
(the user's socket on one, the agent's on the other).

`make test` starts PostgreSQL and Redis on loopback (.ci/services.sh) and sets FAQBOT_TEST_POSTGRES_URL and
FAQBOT_TEST_REDIS_URL. Without them these tests fail, saying so (they never skip); `make test-fast` leaves them out
(marker ``backends``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from bot.engine import AnswerEngine
from bot.store import MIGRATIONS, ConversationStore
from tests.conftest import REDIS, need
from tests.helpers import free_port, serve

pytestmark = [pytest.mark.integration, pytest.mark.backends]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    if request.param == "sqlite":
        s = ConversationStore.open(tmp_path / "s.sqlite3")
    else:
        s = ConversationStore.open(tmp_path / "unused", request.getfixturevalue("pg_url"))
    yield s
    s.close()


def test_the_store_behaves_the_same_on_both_backends(store: ConversationStore) -> None:
    assert store.db.version == len(MIGRATIONS)
    u, b = store.record_turn("c1", "发票多久到", "10 个工作日内", kind="faq", score=0.95, latency_ms=9.5,
                             reply={"kind": "faq"}, state={"slots": {"x": "我"}}, audience="buyer")  # fmt: skip
    assert b == u + 1
    store.record_turn("c1", "今天天气", "抱歉", kind="fallback", score=0.01, latency_ms=8.0, reply={}, state={})
    assert [m.text for m in store.messages("c1")] == ["发票多久到", "10 个工作日内", "今天天气", "抱歉"]
    store.add_feedback(b, "c1", helpful=False, comment="没说清")
    store.set_attention("c1", "thumbs_down")
    store.set_handoff("c1", "requested", reason="user_request")
    conv = store.conversation("c1")
    assert conv is not None and conv.handoff == "requested" and conv.attention == "thumbs_down"
    assert [c.id for c in store.queue()] == ["c1"]
    improve = store.to_improve(low_score=0.6)
    assert {(r["question"], r["kind"], r["thumbs_down"]) for r in improve} == {
        ("发票多久到", "faq", True),
        ("今天天气", "fallback", False),
    }
    store.set_setting("k", "v1")
    store.set_setting("k", "v2")
    assert store.get_setting("k") == "v2" and store.writable()
    with pytest.raises(TypeError):  # a failed turn stores nothing
        store.record_turn("c2", "x", "y", kind="faq", score=1.0, latency_ms=None, reply={"o": object()}, state={})
    assert store.conversation("c2") is None


def test_two_servers_share_conversations_queue_and_agent_messages(
    engine: AnswerEngine, real_index_dir: Path, tmp_path: Path, pg_url: str
) -> None:
    redis_url = need(REDIS, "redis")
    shared = {"FAQBOT_DATABASE_URL": pg_url, "FAQBOT_REDIS_URL": redis_url}
    port_a, port_b = free_port(), free_port()
    a = serve(real_index_dir, tmp_path / "a.sqlite3", port_a, **shared)
    b = serve(real_index_dir, tmp_path / "b.sqlite3", port_b, **shared)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port_b}") as agent:
            page = agent.get("/agent").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            agent.post(
                "/agent/login",
                data={"username": "agent", "password": "server-test-password", "csrf": csrf.group(1)},
            )
            token = re.search(r'name="csrf-token" content="([^"]+)"', agent.get("/agent").text)
            assert token is not None
            cookie = "; ".join(f"{k}={v}" for k, v in agent.cookies.items())
            with connect(f"ws://127.0.0.1:{port_b}/ws/agent", additional_headers={"cookie": cookie}) as agent_ws, \
                    connect(f"ws://127.0.0.1:{port_a}/ws/chat") as user:  # fmt: skip
                assert json.loads(agent_ws.recv())["type"] == "snapshot"
                sid = json.loads(user.recv())["session_id"]
                user.send(json.dumps({"type": "message", "text": "转人工", "context": {}}))
                frames = [json.loads(user.recv()) for _ in range(3)]
                assert frames[1]["reply"]["kind"] == "handoff"
                # the queue change made on server A reaches the agent's socket on server B
                queued = json.loads(agent_ws.recv(timeout=10))
                assert queued["type"] == "queue" and queued["conversation"]["id"] == sid
                assert any(i["id"] == sid for i in agent.get("/api/agent/queue").json()["items"])
                r = agent.post(f"/api/agent/conversations/{sid}/messages", json={"text": "您好，我是乙"},
                               headers={"x-csrf-token": token.group(1)})  # fmt: skip
                assert r.status_code == 201
                took = json.loads(user.recv(timeout=10))  # writing took it over (sent on B, via A)
                assert took == {"type": "handoff", "state": "agent", "agent": "客服"}
                pushed = json.loads(user.recv(timeout=10))
                assert pushed == {**pushed, "type": "agent_message", "text": "您好，我是乙", "agent": "客服"}
            # the conversation continues on the other server with its history
            with connect(f"ws://127.0.0.1:{port_b}/ws/chat?session_id={sid}") as again:
                history = json.loads(again.recv())["history"]
                assert [m["role"] for m in history] == ["user", "bot", "agent"]
    finally:
        for p in (a, b):
            p.terminate()
            p.wait(timeout=20)


def _admin(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/agent").text)
    assert csrf is not None
    client.post("/agent/login", data={"username": "admin", "password": "server-admin-password", "csrf": csrf.group(1)})
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/agent").text)
    assert token is not None
    client.headers["x-csrf-token"] = token.group(1)
    return client


def test_a_knowledge_change_accepted_on_one_server_reaches_the_other(
    engine: AnswerEngine, real_index_dir: Path, tmp_path: Path, pg_url: str
) -> None:
    """Two machines on one PostgreSQL (+ Redis), each with its own live folder: the change checked and swapped in on
    A is found in the database by B, which builds the same version and answers with it."""
    strange = "紫金九号在哪儿看"  # a team's word for the orders page
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps({"q": "镜像能下载到本地吗", "expect": "镜像如何下载？"}, ensure_ascii=False) + "\n",
                      encoding="utf-8")  # fmt: skip
    port_a, port_b = free_port(), free_port()
    procs: list[Any] = []
    clients: list[httpx.Client] = []
    try:
        shared = {"FAQBOT_DATABASE_URL": pg_url, "FAQBOT_REDIS_URL": need(REDIS, "redis"),
                  "FAQBOT_GUARD_SETS": json.dumps([str(golden)]), "FAQBOT_KNOWLEDGE_POLL_SECONDS": "1"}  # fmt: skip
        for name, port in (("a", port_a), ("b", port_b)):
            live = str(tmp_path / f"live-{name}")
            procs.append(serve(real_index_dir, tmp_path / f"{name}.sqlite3", port, FAQBOT_LIVE_DIR=live, **shared))
        b = httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=60)
        clients.append(b)
        first = b.post("/api/chat", json={"message": strange}).json()
        assert first["kind"] == "fallback", first

        def ask_b() -> dict[str, Any]:  # one conversation, asked every few seconds (well inside the rate limits)
            r = b.post("/api/chat", json={"message": strange, "session_id": first["session_id"]})
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        admin = _admin(f"http://127.0.0.1:{port_a}")
        clients.append(admin)
        change = {"kind": "add_alternates", "entry_id": "view-orders", "texts": [strange]}
        assert admin.post("/api/admin/knowledge/changes", json={"change": change}).status_code == 202
        deadline = time.monotonic() + 900
        while (job := admin.get("/api/admin/knowledge/job").json())["state"] == "running":
            assert time.monotonic() < deadline, job
            time.sleep(1)
        assert job["state"] == "done", job
        while (reply := ask_b())["kind"] != "faq":
            assert time.monotonic() < deadline, reply
            time.sleep(3)
        assert reply["faq"]["id"] == "view-orders", reply
    finally:
        for c in clients:
            c.close()
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
