"""Security and abuse limits of the web server: every protected route refuses strangers, limits answer with
the common error shape or a WebSocket close reason, and hostile text stays text."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from bot.api import create_app
from bot.engine import AnswerEngine
from bot.settings import Settings
from bot.store import ConversationStore
from tests.helpers import PASSWORD, chat, login

ADMIN = "admin-test-password"
# Routes anyone may call. A new route must be added here or live under a protected prefix: the walk fails otherwise.
PUBLIC = {
    "/", "/provider", "/widget.js", "/faq", "/faq/{entry_id}", "/api/faq", "/api/faq/{entry_id}", "/api/chat",
    "/api/feedback", "/api/chat/waiting", "/api/chat/offline", "/api/csat", "/healthz", "/readyz", "/ws/chat",
    "/agent", "/agent/login", "/agent/logout",
    # pages whose own check sends the signed-out to sign in and refuses an account without the permission
    "/agent/knowledge", "/agent/dashboard",
    "/vendor/echarts-{version}.min.js",  # the dashboard's chart library, served by the app (never a CDN)
    "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/docs-static", "/static",
}  # fmt: skip
PROTECTED = ("/api/agent/", "/api/admin/", "/ws/agent")


@pytest.fixture(scope="module")
def app_settings(settings: Settings, engine: AnswerEngine, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(
        update={
            "database_path": tmp_path_factory.mktemp("sec") / "faqbot.sqlite3",
            "agent_password": SecretStr(PASSWORD),
            "admin_password": SecretStr(ADMIN),
            "allow_rebuild": False,
            "messages_per_minute": 5,
            "connections_per_ip": 3,
            "max_body_bytes": 4096,
            "ws_idle_seconds": 1.0,
            "allowed_origins": ["https://shop.example.com"],
        }
    )


@pytest.fixture(scope="module")
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as c:
        yield c


@pytest.fixture(scope="module")
def roomy(app_settings: Settings) -> Iterator[TestClient]:
    """The same database, without the tight rate limit."""
    with TestClient(create_app(app_settings.model_copy(update={"messages_per_minute": 1000}))) as c:
        yield c


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every endpoint of the app, through included routers (FastAPI wraps them), with its full path."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "path"):
            yield prefix + route.path, route


def _routes(client: TestClient) -> list[Any]:
    found = []
    for path, route in _walk(client.app.routes):  # type: ignore[attr-defined]
        route.full_path = path
        found.append(route)
    assert len(found) >= 25, "the route walk found too few routes: has FastAPI's router layout changed?"
    return found


def test_every_route_is_public_by_name_or_protected(client: TestClient) -> None:
    for route in _routes(client):
        path = route.full_path
        assert path in PUBLIC or path.startswith(PROTECTED), f"unclassified route {path}"


def _call(client: TestClient, route: APIRoute) -> Any:
    method = sorted(route.methods - {"HEAD"})[0]
    path = route.path.replace("{conversation_id}", "x")
    return client.request(method, path, json={} if method == "POST" else None)


def test_protected_routes_refuse_anonymous_and_wrong_role(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings)) as anon:
        protected = [r for r in _routes(anon) if r.path.startswith(PROTECTED)]
        assert len(protected) >= 7
        for route in protected:
            if isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
                with pytest.raises(WebSocketDisconnect), anon.websocket_connect(route.path) as ws:
                    ws.receive_json()
                continue
            r = _call(anon, route)
            assert r.status_code == 401 and r.json()["code"] == "unauthorized", route.path
    with TestClient(create_app(app_settings)) as agent:
        token = login(agent)
        for route in _routes(agent):
            if isinstance(route, APIRoute) and route.path.startswith("/api/admin/"):
                r = agent.request(sorted(route.methods)[0], route.path, headers={"x-csrf-token": token})
                assert r.status_code == 403 and r.json()["code"] == "forbidden", route.path


def test_admin_can_reload_knowledge_and_export_the_report(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings)) as admin:
        token = login(admin, ADMIN, "admin")
        assert admin.post("/api/admin/reload").status_code == 403  # no CSRF token
        r = admin.post("/api/admin/reload", headers={"x-csrf-token": token})
        assert r.status_code == 200 and r.json()["entries"] == 87
        chat(admin, "今天天气怎么样")
        report = admin.get("/api/admin/report.csv")
        assert report.status_code == 200 and report.text.startswith("count,question")
        assert "今天天气怎么样" in report.text
        assert admin.get("/api/agent/queue").status_code == 200  # an admin can also work the console


def test_security_headers_cookie_flags_and_cors(client: TestClient) -> None:
    cookies = []
    for path in ("/", "/agent", "/api/faq", "/faq/image-limits"):
        r = client.get(path)
        cookies += r.headers.get_list("set-cookie")
        csp = r.headers["content-security-policy"]
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src and "'self'" in script_src
        if path == "/agent":  # the console is framed by nobody, widget origins included
            assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
        else:
            assert "frame-ancestors 'self' https://shop.example.com" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert cookies and all("httponly" in c.lower() and "samesite=strict" in c.lower() for c in cookies)
    allowed = client.options(
        "/api/feedback",
        headers={"origin": "https://shop.example.com", "access-control-request-method": "POST"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "https://shop.example.com"
    refused = client.options(
        "/api/feedback", headers={"origin": "https://evil.example.com", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in refused.headers


def test_size_length_and_rate_limits_use_the_error_shape(client: TestClient) -> None:
    big = client.post("/api/chat", content=b'{"message": "' + b"x" * 5000 + b'"}',
                      headers={"content-type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    long = client.post("/api/chat", json={"message": "长" * 501})
    assert long.status_code == 422 and long.json()["code"] == "message_too_long"
    first = chat(client, "你好")
    codes = [client.post("/api/chat", json={"message": "你好", "session_id": first["session_id"]}).status_code
             for _ in range(6)]  # fmt: skip
    assert codes[:4] == [200] * 4 and codes[-1] == 429
    limited = client.post("/api/chat", json={"message": "你好", "session_id": first["session_id"]}).json()
    assert set(limited) == {"status", "code", "message"} and limited["code"] == "rate_limited"


def test_websocket_limits_close_with_reasons(client: TestClient) -> None:
    origin = {"origin": "https://shop.example.com"}
    with client.websocket_connect("/ws/chat", headers=origin) as ws:
        ws.receive_json()
        for _ in range(5):
            ws.send_json({"type": "message", "text": "你好"})
            assert ws.receive_json()["type"] == "typing"
            ws.receive_json()
        ws.send_json({"type": "message", "text": "你好"})
        assert ws.receive_json()["code"] == "rate_limited"  # and the socket stays open
        ws.send_json({"type": "message", "text": "长" * 501})
        assert ws.receive_json()["code"] == "too_long"
    sockets = [client.websocket_connect("/ws/chat", headers=origin) for _ in range(3)]
    opened = [s.__enter__() for s in sockets]
    for s in opened:
        s.receive_json()
    with client.websocket_connect("/ws/chat", headers=origin) as extra:
        with pytest.raises(WebSocketDisconnect) as closed:
            extra.receive_json()
        assert closed.value.code == 1008 and "open chats per address" in closed.value.reason
    for s in sockets:
        s.__exit__(None, None, None)
    with client.websocket_connect("/ws/chat", headers=origin) as idle:
        idle.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            idle.receive_json()  # nothing sent for longer than ws_idle_seconds
        assert closed.value.code == 1000 and closed.value.reason == "idle timeout"


@pytest.mark.parametrize(
    "hostile",
    [
        "'; DROP TABLE messages; --",
        "1 OR 1=1; SELECT * FROM conversations",
        "<script>alert(1)</script>发票",
        "[点我](javascript:alert(1)) 退款",
        "\u202e\u200b\u200d发票\u2066多久\u2069到",
        "发" * 499,
    ],
)
def test_hostile_text_is_stored_and_returned_as_text(roomy: TestClient, app_settings: Settings, hostile: str) -> None:
    reply = roomy.post("/api/chat", json={"message": hostile, "context": {}}).json()
    assert reply["q"] == hostile
    assert "<script" not in reply["html"] and "javascript:" not in reply["html"]
    store = ConversationStore.open(Path(app_settings.database_path))
    texts = [m.text for m in store.messages(reply["session_id"])]
    assert texts[0] == hostile  # stored exactly, parameterised SQL
    assert store.conversation(reply["session_id"]) is not None


# ---------------------------------------------------------------------- attack probe: bodies, logins, limits


def _client(app_settings: Settings, **overrides: Any) -> TestClient:
    """An app of its own, on a database of its own."""
    fresh = Path(tempfile.mkdtemp(prefix="faqbot-sec-")) / "faqbot.sqlite3"
    return TestClient(create_app(app_settings.model_copy(update={"database_path": fresh, **overrides})))


def test_a_chunked_body_without_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    sent = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: httpx sends Transfer-Encoding: chunked
        yield b'{"message": "'
        for _ in range(64):
            sent.append(1)
            yield b"x" * 16_384
        yield b'"}'

    r = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    page = client.get("/agent")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    form = client.post(
        "/agent/login",
        content=(f"csrf={token}&username=agent&password=" + "p" * 10_000).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked"},
    )
    assert form.status_code == 413


def test_login_form_fields_are_capped(client: TestClient) -> None:
    page = client.get("/agent")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    fields = {f"f{k}": "x" for k in range(20)} | {"csrf": token, "username": "agent", "password": "nope"}
    r = client.post("/agent/login", files={k: (None, v) for k, v in fields.items()})  # multipart, 23 fields
    assert r.status_code == 400 and "Too many fields" in r.text  # the login form answers with a page


def _login_attempt(c: TestClient, username: str, password: str, headers: dict[str, str] | None = None) -> Any:
    page = c.get("/agent", headers=headers)
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    return c.post("/agent/login", data={"username": username, "password": password, "csrf": token},
                  headers=headers, follow_redirects=False)  # fmt: skip


def test_login_backs_off_per_account_and_per_address(app_settings: Settings) -> None:
    with _client(app_settings, login_failures_per_address="3/minute", login_failures_per_account="5/minute",
                 login_limits_per_address="1000/minute", trusted_proxies=["testclient"]) as c:  # fmt: skip
        guesser = {"x-forwarded-for": "203.0.113.9"}
        codes = [_login_attempt(c, "agent", f"wrong-{k}", guesser).status_code for k in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        locked = _login_attempt(c, "agent", PASSWORD, guesser)  # even the right password waits for the window
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0 and "稍后" in locked.text
        assert _login_attempt(c, "admin", ADMIN, guesser).status_code == 303  # another account is not locked out
        owner = {"x-forwarded-for": "198.51.100.7"}
        assert _login_attempt(c, "agent", PASSWORD, owner).status_code == 303  # nor the owner, elsewhere
        for k in range(2):  # a distributed attack: failures from many addresses add up per account
            _login_attempt(c, "agent", "wrong", {"x-forwarded-for": f"192.0.2.{k}"})
        assert _login_attempt(c, "agent", PASSWORD, owner).status_code == 429
    with _client(app_settings, login_limits_per_address="4/minute") as c:
        codes = [_login_attempt(c, f"user{k}", "wrong").status_code for k in range(6)]
        assert codes == [401, 401, 401, 401, 429, 429]


def test_a_login_checks_one_hash_and_few_at_a_time(app_settings: Settings) -> None:
    import asyncio
    import threading
    import time

    with _client(app_settings, login_concurrent_checks=2) as c:
        auth = c.app.state.auth  # type: ignore[attr-defined]
        calls, running, peak = [], [0], [0]
        lock = threading.Lock()

        class CountingHasher:  # argon2's own hasher, its verify calls counted
            def __init__(self, real: Any) -> None:
                self.real = real

            def verify(self, stored: str, password: str) -> bool:
                with lock:
                    calls.append(1)
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                try:
                    time.sleep(0.05)
                    return bool(self.real.verify(stored, password))
                finally:
                    with lock:
                        running[0] -= 1

            def __getattr__(self, name: str) -> Any:
                return getattr(self.real, name)

        auth._hasher = CountingHasher(auth._hasher)
        assert _login_attempt(c, "agent", "wrong").status_code == 401
        assert len(calls) == 1  # the account is named: one hash, not one per role

        async def burst() -> list[object]:
            return await asyncio.gather(*(auth.authenticate("agent", "wrong") for _ in range(30)),
                                        return_exceptions=True)  # fmt: skip

        outcomes = asyncio.run(burst())
        assert peak[0] <= 2  # never more than login_concurrent_checks hashes at once
        busy = [o for o in outcomes if type(o).__name__ == "LoginBusy"]
        assert busy and len(busy) < 30  # beyond a short queue, refused at once instead of piling up


def test_logout_and_a_password_change_end_the_server_side_session(app_settings: Settings) -> None:
    with _client(app_settings) as c:
        token = login(c)
        stolen = dict(c.cookies)
        assert c.get("/api/agent/queue").status_code == 200
        c.post("/agent/logout", data={"csrf": token})
        assert c.get("/api/agent/queue").status_code == 401
        with TestClient(c.app) as thief:
            thief.cookies.update(stolen)
            assert thief.get("/api/agent/queue").status_code == 401  # the copied cookie is dead too
            r = thief.post("/api/agent/conversations/x/messages", json={"text": "hi"}, headers={"x-csrf-token": token})
            assert r.status_code == 401
        login(c)
        copied = dict(c.cookies)
        c.app.state.auth.set_password("agent", "a-brand-new-password")  # type: ignore[attr-defined]
        with TestClient(c.app) as other:
            other.cookies.update(copied)
            assert other.get("/api/agent/queue").status_code == 401


def test_limits_are_keyed_on_the_address_not_on_ids_the_client_chooses(app_settings: Settings) -> None:
    with _client(app_settings, messages_per_minute=30, conversations_per_minute_per_address=3,
                 messages_per_minute_per_address=8) as c:  # fmt: skip
        fresh = [c.post("/api/chat", json={"message": "你好", "session_id": f"made-up-{k}"}).status_code
                 for k in range(5)]  # fmt: skip
        assert fresh == [200, 200, 200, 429, 429]  # an unknown session_id is no fresh budget
        forged = c.post("/api/chat", json={"message": "你好"}, headers={"x-forwarded-for": "192.0.2.77"})
        assert forged.status_code == 429  # nor a forged X-Forwarded-For: no proxy is trusted
        store = c.app.state.store  # type: ignore[attr-defined]
        before = store.queue_size(), _conversation_count(store)
        for _ in range(6):  # bare connects store nothing
            with c.websocket_connect("/ws/chat", headers={"origin": "https://shop.example.com"}) as ws:
                assert ws.receive_json()["type"] == "session"
        assert (store.queue_size(), _conversation_count(store)) == before
        sid = c.post("/api/chat", json={"message": "你好"}).json()
        assert sid.get("code") == "rate_limited"  # the address's new-conversation budget is spent
    with _client(app_settings, messages_per_minute=4, messages_per_minute_per_address=1000) as c:
        first = c.post("/api/chat", json={"message": "你好"}).json()
        origin = {"origin": "https://shop.example.com"}
        codes = []
        for _ in range(2):  # a reconnect continues the same conversation, and its budget
            with c.websocket_connect(f"/ws/chat?session_id={first['session_id']}", headers=origin) as ws:
                ws.receive_json()
                for _ in range(2):
                    ws.send_json({"type": "message", "text": "你好"})
                    frame = ws.receive_json()
                    codes.append(frame.get("code") or ws.receive_json()["type"])
        assert codes == ["reply", "reply", "reply", "rate_limited"]  # 1 + 3 of 4, then refused


def _conversation_count(store: ConversationStore) -> int:
    from sqlalchemy import func, select

    from bot.store import conversations

    with store.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(conversations)).scalar() or 0)


def test_a_flood_of_handoffs_cannot_push_a_real_request_out_of_the_queue(app_settings: Settings) -> None:
    with _client(app_settings, messages_per_minute=1000, messages_per_minute_per_address=10_000,
                 conversations_per_minute_per_address=10_000, handoffs_per_hour_per_address=10_000) as c:  # fmt: skip
        real = c.post("/api/chat", json={"message": "我要投诉服务商，一直联系不上，转人工"}).json()
        for _ in range(120):
            c.post("/api/chat", json={"message": "转人工"})
        login(c)
        page = c.get("/api/agent/queue", params={"limit": 50}).json()
        assert page["total"] >= 121 and len(page["items"]) == 50
        assert page["items"][0]["id"] == real["session_id"]  # oldest wait first
        rest = c.get("/api/agent/queue", params={"offset": 100, "limit": 50}).json()["items"]
        assert rest and rest[0]["id"] != real["session_id"]  # paged, none lost
    with _client(app_settings, messages_per_minute=1000, messages_per_minute_per_address=10_000,
                 conversations_per_minute_per_address=10_000, handoffs_per_hour_per_address=3) as c:  # fmt: skip
        replies = [c.post("/api/chat", json={"message": "转人工"}).json() for _ in range(6)]
        assert [r["reason"] for r in replies] == ["user_request"] * 3 + ["handoff_limited"] * 3
        assert "频繁" in replies[-1]["text"]
        login(c)
        assert c.get("/api/agent/queue").json()["total"] == 3


def test_the_agent_socket_refuses_other_origins(client: TestClient) -> None:
    login(client)
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/agent", headers={"origin": "https://evil.example"}) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008 and "origin" in closed.value.reason
    with client.websocket_connect("/ws/agent", headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "snapshot"


def test_api_docs_are_off_in_production_and_offline_in_development(app_settings: Settings) -> None:
    with _client(app_settings) as dev:
        page = dev.get("/docs")
        assert page.status_code == 200 and "https://" not in page.text
        assert "sha256-" in page.headers["content-security-policy"]  # its one inline script, by hash
    prod = {"env": "production", "session_secret": SecretStr("s" * 40), "agent_password": SecretStr("p" * 16),
            "admin_password": SecretStr("q" * 16)}  # fmt: skip
    with _client(app_settings, **prod) as c:
        assert c.get("/docs").status_code == 404 and c.get("/redoc").status_code == 404
        assert c.get("/openapi.json").status_code == 404


# ---------------------------------------------------------------------- attack probe: hostile input


def test_malformed_websocket_frames_get_an_error_frame_and_keep_the_socket(client: TestClient) -> None:
    origin = {"origin": "https://shop.example.com"}
    with client.websocket_connect("/ws/chat", headers=origin) as ws:
        ws.receive_json()
        ws.send_bytes(b"\x00\x01binary")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_text("[" * 3000 + "]" * 3000)
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_text('{"type": "message", "text": "\\ud800 发票"}')  # a lone surrogate, escaped in JSON
        assert ws.receive_json()["code"] == "bad_text"
        ws.send_text('{"type": "message", "text": "发票", "context": {"x": "\\udfff"}}')
        assert ws.receive_json()["code"] == "bad_text"
        ws.send_json({"type": "message", "text": "发票多久能开"})  # still up
        assert ws.receive_json()["type"] == "typing"
        assert ws.receive_json()["type"] == "reply"


def test_lone_surrogates_over_http_get_a_clear_422(roomy: TestClient) -> None:
    for body in ('{"message": "\\ud800"}', '{"message": "hi", "context": {"order": {"id": "\\udc00"}}}'):
        r = roomy.post("/api/chat", content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", body
    for (
        path,
        body,
    ) in [  # pydantic refuses a lone surrogate in any str field (string_unicode); free-form dicts check themselves
        ("/api/feedback", '{"message_id": 1, "session_id": "\\ud800", "helpful": true}'),
        ("/api/feedback", '{"message_id": 1, "session_id": "s", "helpful": false, "comment": "\\udc00"}'),
        ("/api/chat/offline", '{"session_id": "s", "contact": "13800138000", "text": "\\ud800"}'),
        ("/api/csat", '{"session_id": "s", "score": 5, "comment": "\\udfff"}'),
    ]:
        r = roomy.post(path, content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", (path, body)


@pytest.mark.parametrize(
    "context",
    [
        {"today": "0001-01-01"},
        {"today": "9999-12-31"},
        {
            "today": "2026-11-30",
            "order": {"id": "x", "product_type": "saas", "purchased_on": "0001-01-01T00:00:00+14:00"},
        },
        {"order": {"id": "x", "product_type": "saas", "purchased_on": "9999-12-31"}},
    ],
)
def test_out_of_range_context_dates_are_refused_clearly(roomy: TestClient, context: dict[str, Any]) -> None:
    r = roomy.post("/api/chat", json={"message": "前天买的SaaS能退吗", "context": context})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_out_of_range_dates_in_a_message_get_a_clear_reply_everywhere(roomy: TestClient) -> None:
    reply = chat(roomy, "3000000天前买的SaaS能退吗")
    assert reply["kind"] == "rule" and "不是一个有效的日期" in reply["text"]
    with roomy.websocket_connect("/ws/chat", headers={"origin": "https://shop.example.com"}) as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "99999999999个月前申请的提现多久到账"})
        assert ws.receive_json()["type"] == "typing"
        assert ws.receive_json()["type"] == "reply"
    token = login(roomy)
    assert token
    detail = roomy.get(f"/api/agent/conversations/{reply['session_id']}")
    assert detail.status_code == 200 and detail.json()["messages"]
    assert roomy.get("/api/agent/suggest", params={"q": "3000000天前买的SaaS能退吗"}).status_code == 200


def test_faq_searches_are_limited_per_address(app_settings: Settings) -> None:
    with _client(app_settings, searches_per_minute_per_address=3) as c:
        codes = [c.get("/api/faq", params={"q": f"发票 {k}"}).status_code for k in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        assert c.get("/api/faq").status_code == 200  # the list itself costs nothing and stays open
        page = c.get("/faq", params={"q": "镜像"})
        assert page.status_code == 200 and "搜索太频繁" in page.text


def test_an_address_over_its_budget_is_turned_away_before_its_request_is_read(app_settings: Settings) -> None:
    with _client(app_settings, messages_per_minute_per_address=2) as c:
        first = c.post("/api/chat", json={"message": "你好"}).json()
        assert c.post("/api/chat", json={"message": "你好", "session_id": first["session_id"]}).status_code == 200
        over = c.post("/api/chat", json={"message": "你好", "session_id": first["session_id"]})
        assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
        broken = c.post("/api/chat", content=b"{not json", headers={"content-type": "application/json"})
        assert broken.status_code == 429 and broken.json()["code"] == "rate_limited"  # refused unread
        assert c.get("/api/faq").status_code == 200  # reading the FAQ stays open
