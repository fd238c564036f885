"""Security and abuse limits of the web server: every protected route refuses strangers, limits answer with
the common error shape or a WebSocket close reason, and hostile text stays text."""

from __future__ import annotations

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
from tests.test_api import PASSWORD, chat, login

ADMIN = "admin-test-password"
# Routes anyone may call. A new route must be added here or live under a protected prefix: the walk fails otherwise.
PUBLIC = {
    "/", "/provider", "/widget.js", "/faq", "/faq/{entry_id}", "/api/faq", "/api/faq/{entry_id}", "/api/chat",
    "/api/feedback", "/healthz", "/readyz", "/ws/chat", "/agent", "/agent/login", "/agent/logout",
    "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static",
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
        token = login(admin, ADMIN)
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
    store = ConversationStore(Path(app_settings.database_path))
    texts = [m.text for m in store.messages(reply["session_id"])]
    assert texts[0] == hostile  # stored exactly, parameterised SQL
    assert store.conversation(reply["session_id"]) is not None
