"""The widget's unread badge, phone layout, customisation and Chinese error messages, end to end in Chromium.

As in test_browser.py: `faqbot serve` in a subprocess and the widget on pages of another origin. This server lets
a conversation send only a few messages a minute, so a test can reach the limit. Screenshots land in
tests/artifacts/. The first tests read the source files only (no browser).
"""

from __future__ import annotations

import html
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine import AnswerEngine
from bot.messages import load_messages
from bot.settings import PROJECT_ROOT
from tests.helpers import free_port, serve, static_site
from tests.system.conftest import ARTIFACTS
from tests.system.test_browser import PASSWORD, XSS, Widget

MESSAGES_PER_MINUTE = 3  # per conversation, on this test's server
WIDGET = load_messages(PROJECT_ROOT / "knowledge").widget
GREEN = "#0a7a3b"
PROVIDER_TOPICS = ("入驻", "提现", "服务商", "上架", "退出")
CJK = re.compile(r"[\u4e00-\u9fff]")
SHADOW = "document.querySelector('#faqbot-widget').shadowRoot"


# ------------------------------------------------------------------------------------------ without a browser


def test_every_error_code_the_chat_socket_sends_has_a_chinese_sentence() -> None:
    source = (PROJECT_ROOT / "bot" / "api" / "chat.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'(?:_error\(|"error": \()"(\w+)"', source))
    assert {"rate_limited", "too_long", "too_large", "bad_text"} <= codes, codes
    for code in codes:
        assert CJK.search(WIDGET.get(f"error_{code}", "")), f"widget copy has no error_{code}"
    assert CJK.search(WIDGET["error_other"])  # for a code the widget does not know


def test_every_data_attribute_the_widget_reads_is_documented() -> None:
    code = (PROJECT_ROOT / "web" / "static" / "widget.js").read_text(encoding="utf-8")
    readme = (PROJECT_ROOT / "web" / "README.md").read_text(encoding="utf-8")
    names = {
        re.sub(r"[A-Z]", lambda m: "-" + m.group().lower(), n) for n in re.findall(r"script\.dataset\.(\w+)", code)
    }
    assert {"audience", "order-id", "position", "color", "title", "greeting", "launcher-text"} <= names, names
    for name in names:
        assert f"| `data-{name}` |" in readme, name


def test_the_buyer_greeting_does_not_advertise_provider_topics() -> None:
    assert not [t for t in PROVIDER_TOPICS if t in WIDGET["greeting_buyer"]]
    assert "入驻" in WIDGET["greeting_provider"]  # (the provider's greeting does)
    assert not [t for t in PROVIDER_TOPICS if t in WIDGET["demo_greeting"]]  # the buyer demo's custom greeting


# ------------------------------------------------------------------------------------------ in the browser

CUSTOM = {"position": "left", "color": GREEN, "title": "绿色小店客服", "greeting": "您好，这里是绿色小店！"}
CUSTOM["launcher-text"] = "问问我们"
HOSTILE_WORDS = {"position": "left;}", "title": XSS + "标题很长" * 10, "greeting": XSS}
HOSTILE_WORDS["launcher-text"] = "<b>粗体</b>" + "字" * 30
HOSTILE_COLORS = ["red;}</style><img src=x onerror=alert(1)>", "url(javascript:alert(1))", f"{GREEN};background:red"]


def _page(port: int, attributes: dict[str, str]) -> str:
    attrs = "".join(f' data-{k}="{html.escape(v, quote=True)}"' for k, v in attributes.items())
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>合作伙伴商品页</title>
<style>body{{font-family:serif;background:#fafafa}} button{{background:red!important}}</style></head>
<body><h1>合作伙伴的商品页（另一个源）</h1><p>页面上的文字。</p>
<script src="http://127.0.0.1:{port}/widget.js" data-audience="buyer"{attrs} async></script></body></html>"""


@pytest.fixture(scope="module")
def server(
    engine: AnswerEngine, real_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """`faqbot serve` (few messages a minute per conversation) and a site on another port with widget pages."""
    work = tmp_path_factory.mktemp("widget-browser")
    port = free_port()
    proc = serve(real_index_dir, work / "faqbot.sqlite3", port, FAQBOT_AGENT_PASSWORD=PASSWORD,
                 FAQBOT_MESSAGES_PER_MINUTE=str(MESSAGES_PER_MINUTE))  # fmt: skip
    site = work / "site"
    site.mkdir()
    pages = {
        "index.html": {"today": "2026-11-30"},
        "custom.html": CUSTOM,
        "hostile-words.html": HOSTILE_WORDS,
        **{f"hostile-color-{k}.html": {"color": c} for k, c in enumerate(HOSTILE_COLORS)},
    }
    for name, attributes in pages.items():
        (site / name).write_text(_page(port, attributes), encoding="utf-8")
    try:
        with static_site(site) as host:
            yield {"base": f"http://127.0.0.1:{port}", "host": host}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Agent:
    """An agent logged in to the console, writing through its API (the console's own calls)."""

    def __init__(self, browser: Any, server: dict[str, str]) -> None:
        self.base = server["base"]
        self.page = browser.new_page()
        self.page.goto(f"{self.base}/agent")
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.token = self.page.locator('meta[name="csrf-token"]').get_attribute("content")
        assert self.token

    def _post(self, path: str, body: dict[str, str]) -> None:
        r = self.page.request.post(self.base + path, data=body, headers={"x-csrf-token": self.token})
        assert r.ok, r.text()

    def take_over(self, conversation_id: str) -> None:
        self._post(f"/api/agent/conversations/{conversation_id}/handoff", {"state": "agent"})

    def write(self, conversation_id: str, text: str) -> None:
        self._post(f"/api/agent/conversations/{conversation_id}/messages", {"text": text})


def _stored(page: Any, suffix: str = "") -> str | None:
    """The widget's localStorage entry for this server (the session id, or `:waiting`, `:seen`)."""
    return page.evaluate(  # type: ignore[no-any-return]
        "s => { const k = Object.keys(localStorage).find(k => k.startsWith('faqbot-session:') && k.endsWith(s)); "
        "return k ? localStorage.getItem(k) : null; }",
        ":buyer" + suffix,
    )


def _badge(w: Widget) -> Any:
    return w.q(".launcher .badge")


def _wait_badge(w: Widget, text: str) -> None:
    w.page.wait_for_function(f"t => {SHADOW}.querySelector('.badge:not([hidden])')?.textContent === t", arg=text)  # type: ignore[attr-defined]


def _colour(w: Widget, css: str, prop: str = "backgroundColor") -> str:
    return str(w.q(css).evaluate(f"n => getComputedStyle(n).{prop}"))  # type: ignore[attr-defined]


def _placeholder_room(w: Widget) -> tuple[float, float]:
    """How wide the placeholder is in the message box's font, and how wide the box's text area is."""
    measured = w.q("textarea").evaluate(  # type: ignore[attr-defined]
        """t => { const s = getComputedStyle(t), c = document.createElement('canvas').getContext('2d');
        c.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
        return [c.measureText(t.placeholder).width,
                t.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)]; }"""
    )
    return float(measured[0]), float(measured[1])


@pytest.mark.browser
def test_agent_messages_while_closed_show_on_the_badge_and_a_reload_connects_at_once(
    browser: Any, server: dict[str, str]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(server["host"])
    w = Widget(page)
    w.q(".launcher").wait_for()  # type: ignore[attr-defined]
    page.wait_for_timeout(300)
    assert sockets == []  # nobody waits for a person yet: no socket until the panel opens
    w.open()
    w.q(".human").click()  # type: ignore[attr-defined]
    w.q('.log > li.bot[data-kind="handoff"]').wait_for()  # type: ignore[attr-defined]
    page.wait_for_function("() => Object.keys(localStorage).some(k => k.endsWith(':waiting'))")
    assert _stored(page, ":waiting") == "1"
    w.q(".close").click()  # type: ignore[attr-defined]
    assert _badge(w).is_hidden()

    conversation = _stored(page)
    assert conversation
    agent = Agent(browser, server)
    agent.take_over(conversation)  # (a hand-over state, not a message: no badge for it)
    agent.write(conversation, "您好，我是客服小腾，正在为您查看订单。")
    _wait_badge(w, "1")
    assert _badge(w).get_attribute("aria-label") == "1 条未读消息"
    heard = re.compile("在线客服.*1 条未读消息")  # what a screen reader says for the launcher
    assert page.get_by_role("button", name=heard).count() == 1
    assert w.q(".panel").is_hidden() and w.q(".unread-news").inner_text() == "1 条未读消息"  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "widget-unread.png"))

    sockets.clear()
    page.reload()
    _wait_badge(w, "1")  # still unread after the reload: the socket connected and brought the history
    assert len(sockets) == 1 and w.q(".launcher").get_attribute("aria-expanded") == "false"  # type: ignore[attr-defined]
    agent.write(conversation, "您的退款申请已经提交，请留意短信通知。")
    _wait_badge(w, "2")  # live, panel still closed
    assert w.q(".panel").is_hidden()  # type: ignore[attr-defined]

    w.q(".launcher").click()  # type: ignore[attr-defined]
    assert _badge(w).is_hidden()
    agent_texts = w.q(".log > li.agent .bubble").all_inner_texts()  # type: ignore[attr-defined]
    assert agent_texts == ["您好，我是客服小腾，正在为您查看订单。", "您的退款申请已经提交，请留意短信通知。"]
    w.q(".close").click()  # type: ignore[attr-defined]
    page.reload()  # everything seen: connected again, nothing unread
    page.wait_for_function(f"() => {SHADOW}.querySelectorAll('.log > li.agent').length === 2")
    page.wait_for_timeout(200)
    assert _badge(w).is_hidden()
    assert w.dialogs == []


@pytest.mark.browser
def test_on_a_phone_the_panel_is_the_whole_screen(browser: Any, server: dict[str, str]) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server["host"])
    w = Widget(page)
    w.q(".launcher").tap()  # type: ignore[attr-defined]
    w.ready()
    assert w.q(".panel").bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 667}  # type: ignore[attr-defined]
    close = w.q(".close").bounding_box()  # type: ignore[attr-defined]
    assert close["width"] >= 40 and close["height"] >= 40 and close["x"] + close["width"] <= 375 and close["y"] >= 0
    placeholder = w.q("textarea").get_attribute("placeholder")  # type: ignore[attr-defined]
    assert placeholder == WIDGET["placeholder_touch"] and "Enter" not in placeholder
    text_width, room = _placeholder_room(w)
    assert text_width <= room, (text_width, room)
    assert page.evaluate(f"() => {SHADOW}.activeElement?.tagName") != "TEXTAREA"  # no keyboard raised unasked
    w.q("textarea").fill("发票多久能开出来")  # type: ignore[attr-defined]
    w.q("form button").tap()  # type: ignore[attr-defined]
    page.wait_for_function(f"() => {SHADOW}.querySelectorAll('.log > li.bot').length > 1")
    page.screenshot(path=str(ARTIFACTS / "widget-375.png"))
    w.q(".close").tap()  # type: ignore[attr-defined]
    assert w.q(".panel").is_hidden() and w.q(".launcher").is_visible()  # type: ignore[attr-defined]
    context.close()


@pytest.mark.browser
def test_the_page_sets_position_colour_title_greeting_and_launcher_text(browser: Any, server: dict[str, str]) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(server["host"] + "custom.html")
    w = Widget(page)
    launcher = w.q(".launcher")
    assert launcher.bounding_box()["x"] < 100  # type: ignore[attr-defined]
    assert _colour(w, ".launcher") == "rgb(10, 122, 59)"
    assert w.q(".launcher .label").inner_text() == "问问我们"  # type: ignore[attr-defined]
    w.open()
    assert w.q(".panel").bounding_box()["x"] < 100  # type: ignore[attr-defined]
    assert w.q("header .title span").inner_text() == "绿色小店客服"  # type: ignore[attr-defined]
    assert w.q(".panel").get_attribute("aria-label") == "绿色小店客服"  # type: ignore[attr-defined]
    assert w.q(".log > li.bot .bubble").first.inner_text() == "您好，这里是绿色小店！"  # type: ignore[attr-defined]
    assert _colour(w, "header") == "rgb(10, 122, 59)" and _colour(w, "form button") == "rgb(10, 122, 59)"
    w.ask("镜像能下到本地吗", kind="faq")
    assert _colour(w, ".log > li.user .bubble") == "rgb(10, 122, 59)"
    assert _colour(w, ".log > li.user .bubble", "color") == "rgb(255, 255, 255)"
    text_width, room = _placeholder_room(w)  # the keyboard hint fits the desktop panel
    assert "Enter" in str(w.q("textarea").get_attribute("placeholder")) and text_width <= room, (text_width, room)  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "widget-custom.png"))
    origins = {re.match(r"^\w+://[^/]+", u).group() for u in requested}  # type: ignore[union-attr]
    assert origins <= {server["base"], server["host"].rstrip("/")}, origins  # nothing from anywhere else


@pytest.mark.browser
def test_hostile_words_are_text_and_capped(browser: Any, server: dict[str, str]) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server["host"] + "hostile-words.html")
    w = Widget(page)
    box = w.q(".launcher").bounding_box()  # type: ignore[attr-defined]
    assert box["x"] + box["width"] == 1280 - 20  # "left;}" is not "left": the right-hand corner
    label = w.q(".launcher .label").inner_text()  # type: ignore[attr-defined]
    assert label == HOSTILE_WORDS["launcher-text"][:20] and label.startswith("<b>粗体</b>字")
    w.open()
    title = w.q("header .title span").inner_text()  # type: ignore[attr-defined]
    assert title == (XSS + "标题很长" * 10)[:40] and len(title) == 40
    assert w.q(".log > li.bot .bubble").first.inner_text() == XSS  # type: ignore[attr-defined]
    assert page.locator("img").count() == 0 and page.locator("b").count() == 0  # (locators pierce the shadow)
    page.wait_for_timeout(200)
    assert w.dialogs == []


@pytest.mark.browser
@pytest.mark.parametrize("number", range(len(HOSTILE_COLORS)))
def test_a_colour_that_is_not_a_hex_colour_is_ignored(browser: Any, server: dict[str, str], number: int) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server["host"] + f"hostile-color-{number}.html")
    w = Widget(page)
    w.open()
    assert _colour(w, ".launcher") == "rgb(0, 110, 255)" and _colour(w, "header") == "rgb(0, 110, 255)"
    assert w.q(".launcher").get_attribute("style") is None  # type: ignore[attr-defined]  # nothing reached CSS
    assert page.locator("img").count() == 0
    page.wait_for_timeout(200)
    assert w.dialogs == []


@pytest.mark.browser
def test_the_demo_page_links_its_second_look(browser: Any, server: dict[str, str]) -> None:
    with urllib.request.urlopen(server["base"] + "/widget.js") as r:
        script = r.read().decode("utf-8")
    assert WIDGET["placeholder_touch"] in script and WIDGET["demo_link"] not in script  # the page's words stay out
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server["base"] + "/")
    w = Widget(page)
    assert w.q(".launcher").bounding_box()["x"] > 1000 and _colour(w, ".launcher") == "rgb(0, 110, 255)"  # type: ignore[attr-defined]
    page.get_by_role("link", name=WIDGET["demo_link"]).click()
    page.wait_for_url("**/?variant=custom")
    w.q(".launcher").wait_for()  # type: ignore[attr-defined]
    assert w.q(".launcher").bounding_box()["x"] < 100 and _colour(w, ".launcher") == "rgb(10, 122, 59)"  # type: ignore[attr-defined]
    assert w.q(".launcher .label").inner_text() == WIDGET["demo_launcher"]  # type: ignore[attr-defined]
    w.open()
    assert w.q("header .title span").inner_text() == WIDGET["demo_title"]  # type: ignore[attr-defined]
    assert w.q(".log > li.bot .bubble").first.inner_text() == WIDGET["demo_greeting"]  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "widget-demo-custom.png"))
    w.q(".close").click()  # type: ignore[attr-defined]  # (the open panel covers the page's left side)
    page.get_by_role("link", name=WIDGET["demo_back"]).click()
    page.wait_for_url(server["base"] + "/")


@pytest.mark.browser
def test_too_many_messages_are_refused_in_chinese(browser: Any, server: dict[str, str]) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server["host"])
    w = Widget(page)
    w.open()
    greeting = w.q(".log > li.bot .bubble").first.inner_text()  # type: ignore[attr-defined]
    assert greeting == WIDGET["greeting_buyer"]  # buyers are not offered provider topics (checked above)
    for k in range(MESSAGES_PER_MINUTE + 1):
        w.q("textarea").fill(f"发票多久能开出来 {k}")  # type: ignore[attr-defined]
        w.q("textarea").press("Enter")  # type: ignore[attr-defined]
    status = w.q(".status")
    page.wait_for_function(f"() => {SHADOW}.querySelector('.status').textContent.startsWith('消息未发送')")
    shown = status.inner_text()  # type: ignore[attr-defined]
    assert shown == WIDGET["not_sent"].format(message=WIDGET["error_rate_limited"])
    assert CJK.search(shown) and not re.search(r"[A-Za-z]", shown), shown
    refused = w.q(".log > li.user.unsent")
    assert (
        refused.count() == 1 and refused.inner_text() == f"发票多久能开出来 {MESSAGES_PER_MINUTE}\n{WIDGET['unsent']}"
    )  # type: ignore[attr-defined]
    refused.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "widget-rate-limited.png"))


@pytest.mark.browser
def test_an_error_code_is_shown_in_chinese_never_the_servers_words(browser: Any, server: dict[str, str]) -> None:
    """Frames the real server would send only to a misbehaving client, put in by a route in front of it."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    injected = {"茶壶": "teapot", "太长": "too_long"}

    def route(ws: Any) -> None:
        to_server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            text = json.loads(message).get("text") or ""
            if text in injected:
                ws.send(json.dumps({"type": "error", "code": injected[text], "message": "I'm a teapot, in English"}))
            else:
                to_server.send(message)

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r".*/ws/chat.*"), route)
    page.goto(server["host"])
    w = Widget(page)
    w.open()
    for text, code in injected.items():
        w.q("textarea").fill(text)  # type: ignore[attr-defined]
        w.q("textarea").press("Enter")  # type: ignore[attr-defined]
        expected = WIDGET["not_sent"].format(message=WIDGET.get(f"error_{code}", WIDGET["error_other"]))
        page.wait_for_function(f"t => {SHADOW}.querySelector('.status').textContent === t", arg=expected)
    assert "teapot" not in w.q(".panel").inner_text()  # type: ignore[attr-defined]
    w.ask("镜像能下到本地吗", kind="faq")  # an answer clears the error
    assert w.q(".status").inner_text() == ""  # type: ignore[attr-defined]


@pytest.mark.browser
def test_a_reconnect_shows_what_an_agent_wrote_while_the_connection_was_down(
    browser: Any, server: dict[str, str]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    routes: list[Any] = []
    down = {"now": False}

    def route(ws: Any) -> None:
        if down["now"]:
            ws.close()  # the network is down: the widget keeps retrying
            return
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(re.compile(r".*/ws/chat.*"), route)
    page.goto(server["host"])
    w = Widget(page)
    w.open()
    w.ask("发票多久能开出来", kind="faq")
    conversation = _stored(page)
    assert conversation
    down["now"] = True
    routes[-1].close()
    page.wait_for_function(f"t => {SHADOW}.querySelector('.status').textContent === t", arg=WIDGET["reconnecting"])
    Agent(browser, server).write(conversation, "您好，发票的问题我来帮您看一下。")
    down["now"] = False
    agent = w.q(".log > li.agent")
    agent.wait_for()  # type: ignore[attr-defined]
    assert agent.count() == 1 and "发票的问题我来帮您看一下" in agent.inner_text()  # type: ignore[attr-defined]
    assert w.count(".log > li.bot") == 2 and w.count(".log > li.user") == 1  # nothing shown twice
    assert w.q(".status").inner_text() != WIDGET["reconnecting"]  # type: ignore[attr-defined]
