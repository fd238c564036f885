"""The web server in process (FastAPI TestClient): real index, real encoder, real SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect

from bot.api import create_app
from bot.engine import AnswerEngine
from bot.errors import UnsafeSettings
from bot.settings import Settings
from bot.store import ConversationStore
from tests.helpers import PASSWORD, TODAY, chat, login


@pytest.fixture(scope="module")
def web_settings(settings: Settings, engine: AnswerEngine, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # `engine` builds the session's index; the app opens its own engine on it
    db = tmp_path_factory.mktemp("web") / "faqbot.sqlite3"
    return settings.model_copy(
        update={"database_path": db, "agent_password": SecretStr(PASSWORD), "allow_rebuild": False}
    )


@pytest.fixture(scope="module")
def client(web_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings)) as c:
        yield c


# ---------------------------------------------------------------------------------------------- chat API


def test_chat_returns_the_reply_object_with_session_and_message_ids(client: TestClient) -> None:
    reply = chat(client, "发票 快递费")
    assert reply["kind"] == "faq" and reply["faq"]["id"] == "invoice-postage"
    assert reply["session_id"] and isinstance(reply["message_id"], int)
    assert "<li>" in reply["html"] and "<script" not in reply["html"]
    follow = chat(client, "30元", reply["session_id"])
    assert follow["session_id"] == reply["session_id"]
    assert follow["kind"] == "rule" and follow["rule"]["decision"] == "cash_on_delivery_allowed"


def test_rules_with_context_order_through_the_api(client: TestClient) -> None:
    reply = chat(client, "这个订单能退吗", order={"id": "2026112800001"})
    assert reply["rule"]["decision"] == "refund_in_window" and reply["rule"]["dates"]["latest"] == "2026-12-02"


def test_a_rules_citation_is_shown_once_as_links_not_again_in_the_bubble(client: TestClient) -> None:
    """The widget puts "依据：" and a link per cited entry under a rule's bubble: the bubble's HTML leaves out the
    text's closing "依据：「…」" line (the text keeps it, for the terminal and the API), also on history restore."""
    reply = chat(client, "这个订单能退吗", order={"id": "2026112800001"})
    assert reply["kind"] == "rule" and reply["rule"]["cites"]
    cited = "「" + reply["rule"]["cites"][0]["question"] + "」"
    assert reply["text"].rstrip().rpartition("\n\n")[2].startswith("依据：") and cited in reply["text"]
    assert "依据" not in reply["html"] and "<p>" in reply["html"]
    with client.websocket_connect(f"/ws/chat?session_id={reply['session_id']}") as ws:
        restored = ws.receive_json()["history"][-1]
    assert restored["role"] == "bot" and restored["text"] == reply["text"] and restored["html"] == reply["html"]
    faq = chat(client, "镜像能下载吗")  # an FAQ answer's own words are left as they are
    assert faq["kind"] == "faq" and faq["html"].count("<p>") >= 1


@pytest.mark.parametrize(("message", "kind"), [("发票", "clarify"), ("小程序", "fallback")])
def test_options_are_shown_once_as_buttons_not_again_as_a_list(client: TestClient, message: str, kind: str) -> None:
    """A choice or a fallback offers its questions as buttons (the suggestions): the bubble's HTML leaves out the
    text's list of the same questions, live and on history restore; the text keeps it."""
    reply = chat(client, message)
    assert reply["kind"] == kind and len(reply["suggestions"]) >= 2
    for option in reply["suggestions"]:
        assert option["question"] in reply["text"] and option["question"] not in reply["html"]
    assert "<li>" not in reply["html"] and reply["html"].startswith("<p>")
    with client.websocket_connect(f"/ws/chat?session_id={reply['session_id']}") as ws:
        assert ws.receive_json()["history"][-1]["html"] == reply["html"]


def test_html_in_a_message_is_text(client: TestClient) -> None:
    reply = chat(client, "<img src=x onerror=alert(1)>镜像能下载吗")
    assert "<img" not in reply["html"] and "onerror" not in reply["html"].replace("&lt;img src=x onerror", "")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/faq/no-such-entry", None, 404, "not_found"),
        ("get", "/api/no/such/route", None, 404, "not_found"),
        ("post", "/api/chat", {"message": 5}, 422, "invalid_request"),
        ("post", "/api/chat", {"session_id": "x"}, 422, "invalid_request"),
        ("post", "/api/chat", {"message": "hi", "context": {"today": "tomorrow"}}, 422, "invalid_request"),
        ("post", "/api/chat", {"message": "hi", "context": {"order": {"purchased_on": "x"}}}, 422, "invalid_request"),
        ("put", "/api/chat", {"message": "hi"}, 405, "method_not_allowed"),
        ("post", "/api/feedback", {"message_id": 999999, "session_id": "x", "helpful": False}, 404, "not_found"),
        ("post", "/api/feedback", {"message_id": 1, "helpful": False}, 422, "invalid_request"),
        ("get", "/api/agent/queue", None, 401, "unauthorized"),
    ],
)
def test_one_error_shape(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None, status: int, code: str
) -> None:
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == status
    data = r.json()
    assert set(data) == {"status", "code", "message"} and data["status"] == status and data["code"] == code
    assert data["message"]


def test_pages_answer_errors_with_a_page(client: TestClient) -> None:
    for path in ("/no/such/page", "/faq/no-such-entry"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "没有找到这个页面" in r.text and "<html" in r.text


def test_the_faq_page_lists_the_categories_in_the_source_order(client: TestClient) -> None:
    headings = re.findall(r"<h2>([^<]+)</h2>", client.get("/faq").text)
    source_order = "镜像 购买支付 售后和退款 发票 服务商入驻 服务商后台使用 服务商收益提现 服务商退出 小程序"
    assert headings == source_order.split()


def test_every_page_names_the_sites_own_icon(client: TestClient) -> None:
    """No page leaves the browser to ask for /favicon.ico (a 404 on every visit): each names the icon it serves."""
    for path in ("/", "/provider", "/faq", "/faq/image-limits", "/agent/login", "/no/such/page"):
        assert '<link rel="icon" href="/static/favicon.svg"' in client.get(path).text, path
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg") and "<script" not in icon.text


def test_malformed_json_body_gets_the_error_shape(client: TestClient) -> None:
    r = client.post("/api/chat", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


# ---------------------------------------------------------------------------------------------- FAQ, feedback, health


def test_faq_list_filter_search_and_entry(client: TestClient) -> None:
    everything = client.get("/api/faq").json()
    assert everything["total"] == 87
    invoices = client.get("/api/faq", params={"category": "发票"}).json()
    assert invoices["total"] == 13 and all(i["category"] == "发票" for i in invoices["items"])
    providers = client.get("/api/faq", params={"audience": "provider"}).json()
    assert all(i["audience"] in ("provider", "both") for i in providers["items"])
    found = client.get("/api/faq", params={"q": "镜像能下到本地吗"}).json()
    assert found["items"][0]["id"] == "image-download"
    entry = client.get("/api/faq/image-limits").json()
    assert entry["question"] == "镜像的使用限制？" and "<table>" in entry["answer_html"]
    assert entry["answer_markdown"].startswith("| 名称") and entry["conflicts"]
    assert client.get("/faq/image-limits").status_code == 200 and "500" in client.get("/faq/image-limits").text


def test_feedback_is_stored_and_thumbs_down_queues_the_conversation(client: TestClient, web_settings: Settings) -> None:
    reply = chat(client, "小程序多久更新一次")
    other = chat(client, "你好")
    forged = {"message_id": reply["message_id"], "session_id": other["session_id"], "helpful": False}
    assert client.post("/api/feedback", json=forged).status_code == 404  # not this conversation's reply
    mine = {"message_id": reply["message_id"], "session_id": reply["session_id"], "helpful": False, "comment": "没说清"}
    r = client.post("/api/feedback", json=mine)
    assert r.status_code == 201 and r.json()["stored"]
    store = ConversationStore.open(web_settings.database_path)
    stored = store.feedback(reply["session_id"])
    assert stored and stored[-1]["helpful"] == 0 and stored[-1]["comment"] == "没说清"
    conv = store.conversation(reply["session_id"])
    assert conv is not None and conv.attention == "thumbs_down"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"index": True, "encoder": True, "database": True}


def test_openapi_documents_the_api(client: TestClient) -> None:
    from importlib.metadata import version

    schema = client.get("/openapi.json").json()
    assert schema["info"]["version"] == version("faqbot")  # one version source (bot/version.py)
    paths = schema["paths"]
    assert {"/api/chat", "/api/faq", "/api/faq/{entry_id}", "/api/feedback", "/healthz", "/readyz"} <= set(paths)


def test_pages_render(client: TestClient) -> None:
    for path in ("/", "/provider", "/faq", "/faq?q=发票", "/agent"):
        r = client.get(path)
        assert r.status_code == 200 and "<html" in r.text, path
    js = client.get("/widget.js")
    assert (
        js.status_code == 200 and "attachShadow" in js.text and js.headers["content-type"].startswith("text/javascript")
    )


def test_the_widget_script_is_revalidated_by_its_etag(client: TestClient) -> None:
    """Every page load asks again (no-cache); an unchanged widget is a 304 without a body."""
    js = client.get("/widget.js")
    etag = js.headers["etag"]
    assert js.headers["cache-control"] == "no-cache" and etag.startswith('"') and len(js.content) > 10_000
    again = client.get("/widget.js", headers={"If-None-Match": f'"other", {etag}'})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get("/widget.js", headers={"If-None-Match": "*"}).status_code == 304
    stale = client.get("/widget.js", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == js.content


# ---------------------------------------------------------------------------------------------- WebSocket


def test_websocket_session_typing_reply_and_errors(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        first = ws.receive_json()
        assert first["type"] == "session" and first["session_id"] and first["history"] == []
        ws.send_json({"type": "message", "text": "镜像能下到本地吗", "context": TODAY})
        assert ws.receive_json() == {"type": "typing"}
        reply = ws.receive_json()
        assert reply["type"] == "reply" and reply["reply"]["faq"]["id"] == "image-download"
        assert reply["reply"]["session_id"] == first["session_id"]
        for bad, code in [
            ("not json", "bad_json"),
            ("[1, 2]", "bad_frame"),
            ('{"type": "dance"}', "unknown_type"),
            ('{"type": "message", "text": 5}', "bad_text"),
            ('{"type": "message", "text": "hi", "context": {"today": "x"}}', "bad_context"),
            ('{"type": "message", "text": "' + "长" * 9000 + '"}', "too_large"),
        ]:
            ws.send_text(bad)
            err = ws.receive_json()
            assert err["type"] == "error" and err["code"] == code and err["message"], (bad[:30], err)
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "message", "text": "你好"})  # the connection is still up
        assert ws.receive_json()["type"] == "typing"
        assert ws.receive_json()["reply"]["kind"] == "smalltalk"
    with client.websocket_connect(f"/ws/chat?session_id={first['session_id']}") as ws:
        resumed = ws.receive_json()
        assert resumed["session_id"] == first["session_id"]
        texts = [m["text"] for m in resumed["history"]]
        assert texts[0] == "镜像能下到本地吗" and "你好" in texts


def test_handoff_queue_agent_reply_takeover_and_hand_back(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as user:
        sid = user.receive_json()["session_id"]
        user.send_json({"type": "message", "text": "我11月20日买的SaaS模板能退吗", "context": TODAY})
        user.receive_json()
        user.receive_json()
        user.send_json({"type": "message", "text": "转人工", "context": TODAY})
        user.receive_json()
        handoff = user.receive_json()["reply"]
        assert handoff["kind"] == "handoff"
        assert user.receive_json() == {"type": "handoff", "state": "requested"}

        token = login(client)
        queue = client.get("/api/agent/queue").json()["items"]
        mine = next(i for i in queue if i["id"] == sid)
        assert mine["handoff"] == "requested" and mine["last_user_message"] == "转人工"
        detail = client.get(f"/api/agent/conversations/{sid}").json()
        assert [m["role"] for m in detail["messages"]] == ["user", "bot", "user", "bot"]
        top = detail["suggestions"][0]
        assert top["kind"] == "rule" and top["rule"]["decision"] == "negotiate_with_provider"  # the real question
        assert "**" not in top["text"]  # plain text, ready to send

        # state changes need the CSRF header
        r = client.post(f"/api/agent/conversations/{sid}/handoff", json={"state": "agent"})
        assert r.status_code == 403 and r.json()["code"] == "csrf"
        r = client.post(
            f"/api/agent/conversations/{sid}/handoff", json={"state": "agent"}, headers={"x-csrf-token": token}
        )
        assert r.status_code == 200 and r.json()["handoff"] == "agent"
        assert user.receive_json() == {"type": "handoff", "state": "agent", "agent": "客服"}

        r = client.post(
            f"/api/agent/conversations/{sid}/messages", json={"text": top["text"]}, headers={"x-csrf-token": token}
        )
        assert r.status_code == 201
        pushed = user.receive_json()
        assert pushed["type"] == "agent_message" and pushed["agent"] == "客服" and pushed["text"] == top["text"]

        # while an agent has it, the bot does not answer
        user.send_json({"type": "message", "text": "好的，谢谢", "context": TODAY})
        user.receive_json()
        quiet = user.receive_json()["reply"]
        assert quiet["kind"] == "handoff" and quiet["reason"] == "with_agent"

        client.post(f"/api/agent/conversations/{sid}/handoff", json={"state": "bot"}, headers={"x-csrf-token": token})
        assert user.receive_json()["state"] == "bot"
        user.send_json({"type": "message", "text": "发票多久能开出来", "context": TODAY})
        user.receive_json()
        assert user.receive_json()["reply"]["kind"] == "faq"


def test_agent_search_suggestions_and_login_failures(client: TestClient) -> None:
    token = login(client)
    found = client.get("/api/agent/suggest", params={"q": "发票多久能到"}).json()
    assert found[0]["faq"]["id"] == "invoice-arrival-time" and 0 < found[0]["score"] <= 1
    assert client.get("/api/agent/suggest", params={"q": ""}).status_code == 422
    client.post("/agent/logout", data={"csrf": token})
    assert client.get("/api/agent/queue").status_code == 401
    page = client.get("/agent")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    wrong = client.post(
        "/agent/login", data={"username": "agent", "password": "nope", "csrf": csrf.group(1)}, follow_redirects=False
    )
    assert wrong.status_code == 401 and "密码不正确" in wrong.text
    forged = client.post(
        "/agent/login", data={"username": "agent", "password": PASSWORD, "csrf": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/agent") as ws:
        ws.receive_json()


def test_agent_socket_gets_the_queue_live(client: TestClient) -> None:
    login(client)
    with client.websocket_connect("/ws/agent") as agent:
        assert agent.receive_json()["type"] == "snapshot"
        reply = chat(client, "转人工")
        frame = agent.receive_json()
        assert frame["type"] == "queue" and frame["conversation"]["id"] == reply["session_id"]


# ---------------------------------------------------------------------- restart, secrets, production


def test_a_restart_keeps_history_and_the_rule_in_progress(web_settings: Settings, tmp_path: Path) -> None:
    s = web_settings.model_copy(update={"database_path": tmp_path / "restart.sqlite3"})
    with TestClient(create_app(s)) as c:
        first = chat(c, "我买的东西能退款吗")
        assert first["rule"]["missing"] == ["delivery_type"]
        sid = first["session_id"]
    with TestClient(create_app(s)) as c:  # a new process on the same database
        second = chat(c, "SaaS", sid)
        assert second["rule"]["missing"] == ["purchased_on"]
        with c.websocket_connect(f"/ws/chat?session_id={sid}") as ws:
            assert [m["role"] for m in ws.receive_json()["history"]] == ["user", "bot", "user", "bot"]


def test_generated_agent_password_is_printed_once_and_only_its_hash_stored(
    web_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = web_settings.model_copy(update={"database_path": tmp_path / "pw.sqlite3", "agent_password": None})
    create_app(s)
    printed = capsys.readouterr().err
    password = re.search(r"客服后台 /agent 初始密码（只显示这一次，请妥善保存）：(\S+)", printed)
    assert password is not None
    account = ConversationStore.open(s.database_path).account("agent")
    assert account is not None and account.password_hash.startswith("$argon2id")
    assert password.group(1) not in account.password_hash
    app = create_app(s)
    assert "初始密码" not in capsys.readouterr().err  # not shown again
    assert app.state.auth.verify("agent", password.group(1)) and not app.state.auth.verify("agent", "wrong")
    assert not app.state.auth.verify("admin", password.group(1))  # one account, one password


def test_production_refuses_unsafe_settings(web_settings: Settings, tmp_path: Path) -> None:
    unsafe = web_settings.model_copy(
        update={"env": "production", "agent_password": None, "session_secret": None, "allowed_origins": ["*"]}
    )
    with pytest.raises(UnsafeSettings, match=r"FAQBOT_AGENT_PASSWORD.*FAQBOT_SESSION_SECRET.*FAQBOT_ALLOWED_ORIGINS"):
        create_app(unsafe)
    safe = unsafe.model_copy(
        update={
            "agent_password": SecretStr("a-long-enough-password"),
            "admin_password": SecretStr("another-long-password"),
            "session_secret": SecretStr("s" * 40),
            "allowed_origins": ["https://shop.example.com"],
            "database_path": tmp_path / "prod.sqlite3",
        }
    )
    with TestClient(create_app(safe)) as c:
        with (
            pytest.raises(WebSocketDisconnect),
            c.websocket_connect("/ws/chat", headers={"origin": "https://evil.example.com"}) as ws,
        ):
            ws.receive_json()
        with c.websocket_connect("/ws/chat", headers={"origin": "https://shop.example.com"}) as ws:
            assert ws.receive_json()["type"] == "session"


@pytest.mark.integration
def test_report_groups_what_to_improve(client: TestClient, web_settings: Settings, tmp_path: Path) -> None:
    for q in ("云服务器怎么重装系统", "云服务器如何重装系统", "今天天气怎么样"):
        assert chat(client, q)["kind"] == "fallback"
    disliked = chat(client, "镜像的计费方式是怎样的")  # answered, then rated down: the report lists it too
    rating = {"message_id": disliked["message_id"], "session_id": disliked["session_id"], "helpful": False}
    assert client.post("/api/feedback", json=rating).status_code == 201
    env = batch_free_env(web_settings)
    out = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--csv", str(tmp_path / "improve.csv")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "待改进问题" in out.stdout
    lines = (tmp_path / "improve.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("count,question,fallback,clarify")
    reinstall = next(line for line in lines if "重装系统" in line)
    assert reinstall.startswith("2,"), lines  # the two phrasings are one group
    assert any(line.startswith("1,镜像的计费方式是怎样的,") for line in lines), lines


def batch_free_env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env["FAQBOT_DATABASE_PATH"] = str(s.database_path)
    env["FAQBOT_INDEX_DIR"] = str(s.index_dir)
    return env


# ---------------------------------------------------------------------- found in use: waiting, suggestions


def _ws_turn(ws: Any, text: str, **ctx: Any) -> dict[str, Any]:
    ws.send_json({"type": "message", "text": text, "context": {**TODAY, **ctx}})
    while True:
        frame = ws.receive_json()
        if frame["type"] == "reply":
            return frame["reply"]  # type: ignore[no-any-return]


def test_while_a_person_is_awaited_the_bot_answers_only_clear_faq_questions(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as user:
        sid = user.receive_json()["session_id"]
        assert _ws_turn(user, "转人工")["reason"] == "user_request"
        waiting = _ws_turn(user, "还要等多久？有人吗")
        assert waiting["kind"] == "handoff" and waiting["reason"] == "waiting_for_agent" and "稍候" in waiting["text"]
        again = _ws_turn(user, "转人工")
        assert again["reason"] == "already_waiting"
        clear = _ws_turn(user, "镜像能下载到本地吗")  # a clear FAQ question: answered, marked as the bot's
        assert clear["kind"] == "faq" and clear["faq"]["id"] == "image-download" and "机器人自动回复" in clear["text"]
        rule = _ws_turn(user, "我前天买的SaaS模板能退款吗")  # a rule decision waits for the person
        assert rule["kind"] == "handoff" and rule["reason"] == "waiting_for_agent"
    token = login(client)
    # an agent writes to a conversation nobody owns: that takes it over, and the bot says only that a person has it
    r = client.post(f"/api/agent/conversations/{sid}/messages", json={"text": "您好，我来看一下"},
                    headers={"x-csrf-token": token})  # fmt: skip
    assert r.status_code == 201
    client.post(f"/api/agent/conversations/{sid}/handoff", json={"state": "bot"}, headers={"x-csrf-token": token})
    after_back = chat(client, "好的谢谢，那退款要几天到账？", sid)
    assert after_back["reason"] == "not_in_faq"  # handed back: the bot speaks again (and says what it does not know)
    other = chat(client, "发票多久能开出来")
    r = client.post(f"/api/agent/conversations/{other['session_id']}/messages", json={"text": "您好"},
                    headers={"x-csrf-token": token})  # fmt: skip
    assert r.status_code == 201
    quiet = chat(client, "好的谢谢，那退款要几天到账？", other["session_id"])
    assert quiet["kind"] == "handoff" and quiet["reason"] == "with_agent"


def test_console_suggestions_answer_the_latest_real_question_and_say_which(client: TestClient) -> None:
    first = chat(client, "我要投诉服务商，一直联系不上")
    sid = first["session_id"]
    for text in ("找真人", "还要等多久？有人吗", "2026112800001", "好的谢谢"):
        chat(client, text, sid)
    login(client)
    detail = client.get(f"/api/agent/conversations/{sid}").json()
    assert detail["suggestions_for"]["text"] == "我要投诉服务商，一直联系不上"
    assert detail["suggestions_for"]["message_id"] == first["message_id"] - 1  # the user's message, stored before
    top = detail["suggestions"][0]
    assert top["faq"]["id"] == "provider-unreachable" and top["score"] > 0.5, detail["suggestions"]
    lone = chat(client, "转人工")
    empty = client.get(f"/api/agent/conversations/{lone['session_id']}").json()
    assert empty["suggestions_for"] is None and empty["suggestions"] == []  # nothing real asked yet


def test_a_question_the_faq_does_not_answer_is_said_so_even_on_an_order_page(client: TestClient) -> None:
    for text, ctx in [("退款多久到账", {}), ("这个订单退款几天能到账", {"order": {"id": "2026112800001"}})]:
        reply = chat(client, text, **ctx)
        assert reply["kind"] == "fallback" and reply["reason"] == "not_in_faq" and reply["rule"] is None
        assert "没有写" in reply["text"] and "转人工" in reply["text"]
        assert {s["id"] for s in reply["suggestions"]} == {"refund-how", "refund-rules"}
    withdrawal = chat(client, "提现多久到账")  # the FAQ does say this one
    assert withdrawal["kind"] == "faq" and withdrawal["faq"]["id"] == "withdrawal-arrival-time"


def test_console_suggestions_decide_on_the_same_page_facts_the_user_was_answered_on(client: TestClient) -> None:
    order = {"id": "2026112800001"}  # the demo SaaS order bought 2026-11-28
    told = chat(client, "这个订单能退吗", order=order)
    assert told["rule"]["decision"] == "refund_in_window"
    other = chat(client, "我买的API服务能退款吗", told["session_id"], order=order)
    assert other["rule"]["decision"] == "no_refund" and "2026112800001" in other["text"]  # not the page's order
    chat(client, "转人工", told["session_id"], order=order)
    login(client)
    detail = client.get(f"/api/agent/conversations/{told['session_id']}").json()
    assert detail["suggestions_for"]["text"] == "我买的API服务能退款吗"
    rule = detail["suggestions"][0]
    assert rule["kind"] == "rule" and rule["rule"]["decision"] == other["rule"]["decision"]


def test_a_reply_keeps_one_rating_however_often_it_is_clicked(client: TestClient, web_settings: Settings) -> None:
    reply = chat(client, "发票多久能开出来")
    body = {"message_id": reply["message_id"], "session_id": reply["session_id"]}
    for helpful in (False,) * 10 + (True,):
        assert client.post("/api/feedback", json={**body, "helpful": helpful}).status_code == 201
    rows = ConversationStore.open(web_settings.database_path).feedback(reply["session_id"])
    assert [r["helpful"] for r in rows] == [1]  # the last click counts, once


def test_the_widgets_handoff_button_is_a_typed_frame(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as user:
        sid = user.receive_json()["session_id"]
        user.send_json({"type": "handoff", "context": TODAY})
        assert user.receive_json()["type"] == "typing"
        reply = user.receive_json()["reply"]
        assert reply["kind"] == "handoff" and reply["reason"] == "user_request"
        assert user.receive_json() == {"type": "handoff", "state": "requested"}
        user.send_json({"type": "handoff", "context": {"today": "tomorrow"}})
        assert user.receive_json()["code"] == "bad_context"
    login(client)
    detail = client.get(f"/api/agent/conversations/{sid}").json()
    assert [m["text"] for m in detail["messages"] if m["role"] == "user"] == ["转人工"]  # the transcript says so
    assert detail["conversation"]["handoff"] == "requested"
