"""The team's console on the server: accounts and sessions, ownership, resolve and reopen, unread markers, the
context beside a transcript, canned responses, and what the widget asks about people (waiting, offline messages,
satisfaction). In process (FastAPI TestClient) on the real engine and a real SQLite file; each agent is its own
client with its own cookies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.api import create_app
from bot.engine import AnswerEngine
from bot.settings import Settings
from tests.helpers import PASSWORD, chat, login

ADMIN_PASSWORD = "admin-test-password"


@pytest.fixture(scope="module")
def app(settings: Settings, engine: AnswerEngine, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db = tmp_path_factory.mktemp("team") / "faqbot.sqlite3"
    return create_app(settings.model_copy(update={
        "database_path": db, "agent_password": SecretStr(PASSWORD), "admin_password": SecretStr(ADMIN_PASSWORD),
        "allow_rebuild": False,
    }))  # fmt: skip


@pytest.fixture(scope="module")
def admin(app: FastAPI) -> Iterator[TestClient]:
    """The admin's browser (this client runs the app's lifespan)."""
    with TestClient(app) as c:
        c.headers["x-csrf-token"] = login(c, ADMIN_PASSWORD, "admin")
        yield c


def person(app: FastAPI, username: str, password: str) -> TestClient:
    """Another browser on the same running app, signed in as ``username``."""
    c = TestClient(app)
    c.headers["x-csrf-token"] = login(c, password, username)
    return c


@pytest.fixture(scope="module")
def team(app: FastAPI, admin: TestClient) -> dict[str, TestClient]:
    """Two agents the admin created from the console's API."""
    clients = {}
    for username, name in (("wang", "王小明"), ("li", "李华")):
        r = admin.post("/api/agent/accounts", json={"username": username, "display_name": name})
        assert r.status_code == 201, r.text
        clients[username] = person(app, username, r.json()["password"])
    return clients


def handoff(admin: TestClient, text: str = "我要找人工客服") -> str:
    reply = chat(admin, "镜像能下到本地吗")
    chat(admin, text, reply["session_id"])
    return str(reply["session_id"])


def queue(c: TestClient, view: str = "all") -> dict[str, Any]:
    r = c.get(f"/api/agent/queue?view={view}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def ids(page: dict[str, Any]) -> set[str]:
    return {i["id"] for i in page["items"]}


# ------------------------------------------------------------------ accounts and sessions


def test_admin_manages_accounts_and_an_agent_cannot(app: FastAPI, admin: TestClient, team: dict[str, TestClient]
                                                    ) -> None:  # fmt: skip
    wang = team["wang"]
    assert wang.get("/api/agent/me").json() == {"username": "wang", "display_name": "王小明", "role": "agent",
                                                  "knowledge_editor": False}  # fmt: skip
    assert wang.post("/api/agent/accounts", json={"username": "zhao", "display_name": "x"}).status_code == 403
    assert wang.get("/api/agent/accounts").status_code == 403
    again = admin.post("/api/agent/accounts", json={"username": "wang", "display_name": "another"})
    assert again.status_code == 409 and "wang" in again.json()["message"]
    bad = admin.post("/api/agent/accounts", json={"username": "<b>x</b>", "display_name": "x"})
    assert bad.status_code == 422
    listed = {a["username"]: a for a in admin.get("/api/agent/accounts").json()}
    assert listed["wang"]["display_name"] == "王小明" and listed["wang"]["sessions"] == 1
    assert "password_hash" not in listed["wang"]
    # an admin cannot lock themselves out
    assert admin.post("/api/agent/accounts/admin", json={"disabled": True}).status_code == 422


def test_disabling_ends_sessions_and_a_reset_password_replaces_the_old(app: FastAPI, admin: TestClient) -> None:
    created = admin.post("/api/agent/accounts", json={"username": "zhou", "display_name": "周"}).json()
    zhou = person(app, "zhou", created["password"])
    assert zhou.get("/api/agent/me").status_code == 200
    assert admin.post("/api/agent/accounts/zhou", json={"disabled": True}).status_code == 200
    assert zhou.get("/api/agent/me").status_code == 401  # the session died with the account
    with pytest.raises(AssertionError):
        person(app, "zhou", created["password"])  # a disabled account cannot sign in
    admin.post("/api/agent/accounts/zhou", json={"disabled": False})
    fresh = admin.post("/api/agent/accounts/zhou/password").json()["password"]
    assert fresh != created["password"]
    with pytest.raises(AssertionError):
        person(app, "zhou", created["password"])
    assert person(app, "zhou", fresh).get("/api/agent/me").json()["display_name"] == "周"
    assert admin.post("/api/agent/accounts/nobody/password").status_code == 404


def test_sessions_list_and_sign_out_everywhere(app: FastAPI, admin: TestClient) -> None:
    password = admin.post("/api/agent/accounts", json={"username": "sun", "display_name": "孙"}).json()["password"]
    laptop, phone, tablet = (person(app, "sun", password) for _ in range(3))
    rows = laptop.get("/api/agent/sessions").json()
    assert len(rows) == 3 and sum(r["current"] for r in rows) == 1
    assert laptop.post("/api/agent/sessions/sign-out", json={"everywhere": False}).json()["ended"] == 2
    assert phone.get("/api/agent/me").status_code == 401 and laptop.get("/api/agent/me").status_code == 200
    assert laptop.post("/api/agent/sessions/sign-out", json={"everywhere": True}).json()["ended"] == 1
    assert laptop.get("/api/agent/me").status_code == 401
    # and an admin can end someone's sessions
    again = person(app, "sun", password)
    assert admin.post("/api/agent/accounts/sun/sign-out").json()["ended"] == 1
    assert again.get("/api/agent/me").status_code == 401 and tablet.get("/api/agent/me").status_code == 401


def test_the_user_sees_the_accounts_display_name(app: FastAPI, admin: TestClient, team: dict[str, TestClient]) -> None:
    cid = handoff(admin)
    wang = team["wang"]
    assert wang.post(f"/api/agent/conversations/{cid}/messages", json={"text": "您好，我来帮您"}).status_code == 201
    with admin.websocket_connect(f"/ws/chat?session_id={cid}") as ws:
        session = ws.receive_json()
    agent_lines = [m for m in session["history"] if m["role"] == "agent"]
    assert [m["agent"] for m in agent_lines] == ["王小明"]  # the account's name, not "wang"
    assert session["handoff"] == "agent" and session["agent"] == "王小明"


# ------------------------------------------------------------------ ownership


def test_only_the_owner_posts_and_a_forced_take_over_is_noted(admin: TestClient, team: dict[str, TestClient]) -> None:
    wang, li = team["wang"], team["li"]
    cid = handoff(admin)
    assert cid in ids(queue(li, "unassigned"))
    took = wang.post(f"/api/agent/conversations/{cid}/handoff", json={"state": "agent"})
    assert took.status_code == 200 and took.json()["agent"] == "wang" and took.json()["agent_name"] == "王小明"
    assert cid in ids(queue(wang, "mine")) and cid not in ids(queue(li, "mine"))
    assert cid not in ids(queue(li, "unassigned")) and cid in ids(queue(li, "all"))
    blocked = li.post(f"/api/agent/conversations/{cid}/messages", json={"text": "我也来"})
    assert blocked.status_code == 409 and "王小明" in blocked.json()["message"]
    assert li.post(f"/api/agent/conversations/{cid}/handoff", json={"state": "bot"}).status_code == 409
    assert li.post(f"/api/agent/conversations/{cid}/resolve").status_code == 409
    assert li.post(f"/api/agent/conversations/{cid}/handoff", json={"state": "agent"}).status_code == 409
    forced = li.post(f"/api/agent/conversations/{cid}/handoff", json={"state": "agent", "force": True})
    assert forced.status_code == 200 and forced.json()["agent"] == "li"
    notes = [m for m in li.get(f"/api/agent/conversations/{cid}").json()["messages"] if m["role"] == "note"]
    assert len(notes) == 1 and "李华" in notes[0]["text"] and "王小明" in notes[0]["text"]
    assert wang.post(f"/api/agent/conversations/{cid}/messages", json={"text": "我还在"}).status_code == 409
    assert li.post(f"/api/agent/conversations/{cid}/messages", json={"text": "您好"}).status_code == 201
    # the user's history has no internal note
    with admin.websocket_connect(f"/ws/chat?session_id={cid}") as ws:
        assert all(m["role"] != "note" for m in ws.receive_json()["history"])


def test_posting_to_an_unowned_conversation_takes_it(admin: TestClient, team: dict[str, TestClient]) -> None:
    cid = handoff(admin)
    assert team["li"].post(f"/api/agent/conversations/{cid}/messages", json={"text": "您好"}).status_code == 201
    item = team["wang"].get(f"/api/agent/conversations/{cid}").json()["conversation"]
    assert item["handoff"] == "agent" and item["agent"] == "li"


def test_an_admin_assigns_and_views_count_what_they_show(admin: TestClient, team: dict[str, TestClient]) -> None:
    cid = handoff(admin)
    before = queue(team["wang"])["counts"]
    r = admin.post(f"/api/agent/conversations/{cid}/assign", json={"username": "wang"})
    assert r.status_code == 200 and r.json()["agent"] == "wang"
    after = queue(team["wang"], "mine")
    assert cid in ids(after)
    assert after["counts"]["mine"] == before["mine"] + 1 and after["counts"]["unassigned"] == before["unassigned"] - 1
    assert after["total"] == after["counts"]["mine"] == len(after["items"])
    notes = [m["text"] for m in admin.get(f"/api/agent/conversations/{cid}").json()["messages"] if m["role"] == "note"]
    assert notes and "王小明" in notes[-1]
    assert team["li"].post(f"/api/agent/conversations/{cid}/assign", json={"username": "li"}).status_code == 403
    nobody = admin.post(f"/api/agent/conversations/{cid}/assign", json={"username": "ghost"})
    assert nobody.status_code == 422


# ------------------------------------------------------------------ resolve, reopen, unread


def test_resolve_leaves_the_queue_is_searchable_and_reopens_to_the_owner(
    admin: TestClient, team: dict[str, TestClient]
) -> None:
    wang = team["wang"]
    cid = handoff(admin, "帮我转人工，镜像下载一直失败 zx81")
    wang.post(f"/api/agent/conversations/{cid}/messages", json={"text": "已处理"})
    total = queue(wang)["total"]
    assert wang.post(f"/api/agent/conversations/{cid}/resolve").status_code == 200
    page = queue(wang)
    assert cid not in ids(page) and page["total"] == total - 1
    found = wang.get("/api/agent/search?q=zx81").json()
    assert [f["id"] for f in found] == [cid] and found[0]["resolved_at"]
    assert wang.get("/api/agent/search?q=zx81&status=open").json() == []
    chat(admin, "还有一个问题：发票怎么开", cid)  # the user writes again
    mine = queue(wang, "mine")
    item = next(i for i in mine["items"] if i["id"] == cid)
    assert item["attention"] == "reopened" and item["resolved_at"] is None


def test_unread_until_the_agent_opens_it(admin: TestClient, team: dict[str, TestClient]) -> None:
    li = team["li"]
    cid = handoff(admin)
    page = queue(li)
    item = next(i for i in page["items"] if i["id"] == cid)
    assert item["last_user_id"] > page["reads"].get(cid, 0)  # unread
    li.get(f"/api/agent/conversations/{cid}")
    assert queue(li)["reads"][cid] >= item["last_user_id"]  # read
    assert queue(team["wang"])["reads"].get(cid, 0) < item["last_user_id"]  # still unread for another agent
    chat(admin, "还在吗？我又想到一个问题", cid)
    newer = next(i for i in queue(li)["items"] if i["id"] == cid)
    assert newer["last_user_id"] > queue(li)["reads"][cid]


def test_thumbs_up_resolves_a_conversation_the_bot_flagged(admin: TestClient) -> None:
    first = chat(admin, "qwzx plmn 这是什么")
    assert first["kind"] == "fallback"
    cid = first["session_id"]
    assert cid in ids(queue(admin))
    answer = chat(admin, "镜像能下到本地吗", cid)
    r = admin.post("/api/feedback", json={"message_id": answer["message_id"], "session_id": cid, "helpful": True})
    assert r.status_code == 201
    assert cid not in ids(queue(admin))
    assert admin.get(f"/api/agent/conversations/{cid}").json()["context"]["resolved_by"] == "auto:thumbs_up"


def test_silence_resolves_only_conversations_nobody_waits_on(app: FastAPI, admin: TestClient,
                                                             team: dict[str, TestClient]) -> None:  # fmt: skip
    answered = handoff(admin)
    team["wang"].post(f"/api/agent/conversations/{answered}/messages", json={"text": "已为您处理"})
    waiting = handoff(admin)  # asked for a person, nobody answered: it must wait, however long
    service = app.state.service
    resolved = asyncio.run(service.resolve_silent(0.0))
    assert resolved >= 1
    still = ids(queue(admin))
    assert answered not in still and waiting in still
    assert admin.get(f"/api/agent/conversations/{answered}").json()["context"]["resolved_by"] == "auto:silence"


# ------------------------------------------------------------------ context and replies


def test_context_shows_the_page_order_and_rule_outcomes(admin: TestClient) -> None:
    reply = chat(admin, "这个订单能退吗", audience="buyer", order={"id": "2026112800001"})
    assert reply["kind"] == "rule"
    cid = reply["session_id"]
    chat(admin, "转人工", cid)
    data = admin.get(f"/api/agent/conversations/{cid}").json()
    ctx = data["context"]
    assert ctx["audience"] == "buyer" and ctx["today"] == "2026-11-30"
    assert ctx["order"]["id"] == "2026112800001" and ctx["order"]["product_type"] and ctx["order"]["purchased_on"]
    assert ctx["rules"] and ctx["rules"][0]["decision"] and ctx["rules"][0]["cites"]
    bot = [m for m in data["messages"] if m["role"] == "bot"]
    assert bot[0]["html"] and "<script" not in bot[0]["html"]


def test_suggestions_are_plain_words_without_the_bots_citation(admin: TestClient) -> None:
    found = admin.get("/api/agent/suggest", params={"q": "我11月20日买的SaaS模板能退吗"}).json()
    rule = next(s for s in found if s["kind"] == "rule")
    assert "依据" not in rule["text"] and "**" not in rule["text"] and rule["faq"]["id"]


def test_canned_responses_are_team_wide_and_admin_edited(admin: TestClient, team: dict[str, TestClient]) -> None:
    wang = team["wang"]
    assert wang.post("/api/agent/canned", json={"title": "问候", "text": "您好"}).status_code == 403
    made = admin.post("/api/agent/canned", json={"title": "问候", "text": "您好，请问有什么可以帮您？"})
    assert made.status_code == 201
    cid = made.json()["id"]
    assert [c["title"] for c in wang.get("/api/agent/canned").json()] == ["问候"]
    assert admin.post(f"/api/agent/canned/{cid}", json={"title": "问候", "text": "您好！"}).status_code == 200
    assert wang.get("/api/agent/canned").json()[0]["text"] == "您好！"
    assert wang.post(f"/api/agent/canned/{cid}/delete").status_code == 403
    assert admin.post(f"/api/agent/canned/{cid}/delete").status_code == 200
    assert admin.post(f"/api/agent/canned/{cid}/delete").status_code == 404
    assert wang.get("/api/agent/canned").json() == []


# ------------------------------------------------------------------ what the widget asks about people


def test_waiting_says_whether_anyone_is_online_and_how_many_wait_ahead(admin: TestClient) -> None:
    first, second = handoff(admin), handoff(admin)
    info = admin.get(f"/api/chat/waiting?session_id={second}").json()
    assert info["ahead"] >= 1
    assert admin.get(f"/api/chat/waiting?session_id={first}").json()["ahead"] < info["ahead"]
    assert admin.get("/api/chat/waiting").json()["ahead"] is None
    with admin.websocket_connect("/ws/agent") as ws:  # a console open: someone is online
        ws.receive_json()
        assert admin.get("/api/chat/waiting").json()["agents_online"] is True


def test_offline_message_needs_a_valid_contact_and_lands_in_the_queue(admin: TestClient) -> None:
    bad = admin.post("/api/chat/offline", json={"text": "请回电", "contact": "call me maybe"})
    assert bad.status_code == 422 and "手机号" in bad.json()["message"]
    ok = admin.post("/api/chat/offline", json={"text": "发票一直没收到，请联系我", "contact": "+86 138-0013-8000"})
    assert ok.status_code == 201
    cid = ok.json()["session_id"]
    item = next(i for i in queue(admin)["items"] if i["id"] == cid)
    assert item["attention"] == "offline_message" and item["contact"] == "13800138000"
    assert "发票一直没收到" in item["last_user_message"]
    mail = admin.post("/api/chat/offline", json={"text": "hi", "contact": "buyer@example.com", "session_id": cid})
    assert mail.status_code == 201 and mail.json()["session_id"] == cid


def test_csat_needs_a_person_and_one_rating_per_conversation(admin: TestClient, team: dict[str, TestClient]) -> None:
    alone = chat(admin, "镜像能下到本地吗")["session_id"]
    refused = admin.post("/api/csat", json={"session_id": alone, "score": 5})
    assert refused.status_code == 409
    cid = handoff(admin)
    team["li"].post(f"/api/agent/conversations/{cid}/messages", json={"text": "已解决"})
    team["li"].post(f"/api/agent/conversations/{cid}/resolve")
    with admin.websocket_connect(f"/ws/chat?session_id={cid}") as ws:
        assert ws.receive_json()["csat_due"] is True
    assert admin.post("/api/csat", json={"session_id": cid, "score": 2, "comment": "慢"}).status_code == 201
    assert admin.post("/api/csat", json={"session_id": cid, "score": 4}).status_code == 201  # a change, not a pile
    with admin.websocket_connect(f"/ws/chat?session_id={cid}") as ws:
        session = ws.receive_json()
    assert session["csat"] == {"score": 4, "comment": None} and session["csat_due"] is False
    assert admin.get(f"/api/agent/conversations/{cid}").json()["context"]["csat"]["score"] == 4
    assert admin.post("/api/csat", json={"session_id": cid, "score": 6}).status_code == 422


def test_a_rating_is_one_per_reply_and_comes_back_with_the_history(admin: TestClient) -> None:
    reply = chat(admin, "提现多久到账")
    cid, mid = reply["session_id"], reply["message_id"]
    for helpful in (True, False, True):
        admin.post("/api/feedback", json={"message_id": mid, "session_id": cid, "helpful": helpful})
    admin.post("/api/feedback", json={"message_id": mid, "session_id": cid, "helpful": False, "comment": "没说周末"})
    with admin.websocket_connect(f"/ws/chat?session_id={cid}") as ws:
        history = ws.receive_json()["history"]
    rated = next(m for m in history if m["id"] == mid)
    assert rated["rating"] == {"helpful": False, "comment": "没说周末"}


def test_agent_hours_are_read_in_their_time_zone() -> None:
    from datetime import UTC, datetime

    import pydantic

    office = Settings(agent_hours="09:00-18:00")  # Beijing time by default
    assert office.within_agent_hours(datetime(2026, 12, 2, 1, 30, tzinfo=UTC))  # 09:30 in Beijing
    assert not office.within_agent_hours(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # 18:00 in Beijing: closed
    night = Settings(agent_hours="22:00-06:00", agent_timezone="Europe/Berlin")
    assert night.within_agent_hours(datetime(2026, 12, 2, 23, 30, tzinfo=UTC))  # 00:30 in Berlin
    assert not night.within_agent_hours(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    assert Settings().within_agent_hours(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))  # unset: always
    for bad in ({"agent_hours": "9-18"}, {"agent_hours": "25:00-26:00"}, {"agent_timezone": "Mars/Olympus"}):
        with pytest.raises(pydantic.ValidationError):
            Settings(**bad)  # type: ignore[arg-type]


def test_outside_the_hours_nobody_counts_as_online(app: FastAPI, admin: TestClient) -> None:
    service = app.state.service
    with admin.websocket_connect("/ws/agent") as ws:  # someone is signed in with the console open
        ws.receive_json()
        assert admin.get("/api/chat/waiting").json()["agents_online"] is True
        settings = service.engine.settings
        closed = settings.model_copy(update={"agent_hours": "00:00-00:01"})
        service.engine.settings = closed
        try:
            assert admin.get("/api/chat/waiting").json()["agents_online"] is False
        finally:
            service.engine.settings = settings
