"""End to end in a real browser: Playwright driving Debian's Chromium against `faqbot serve` on localhost.

The widget is embedded on a page served from another origin (another port) whose own CSS tries to restyle
buttons and list items. Screenshots land in tests/artifacts/ (git-ignored; CI keeps them as artifacts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine import AnswerEngine
from bot.store import ConversationStore
from tests.helpers import free_port, serve, static_site, wait_until_ready
from tests.system.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def server(
    engine: AnswerEngine, real_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """`faqbot serve` in a subprocess, and a third-party page on another port that embeds the widget."""
    work = tmp_path_factory.mktemp("browser")
    port = free_port()
    db = work / "faqbot.sqlite3"
    proc = serve(real_index_dir, db, port, FAQBOT_AGENT_PASSWORD=PASSWORD)
    site = work / "site"
    site.mkdir()
    (site / "index.html").write_text(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>合作伙伴商品页</title>
<style>body{{font-family:serif;background:#fafafa}} button{{background:red!important;font-size:40px!important}}
li{{color:red!important}} *{{letter-spacing:3px}}</style></head>
<body><h1>合作伙伴的商品页（另一个源）</h1><p>这个页面的 CSS 想把所有按钮染成红色。</p>
<script src="http://127.0.0.1:{port}/widget.js" data-audience="buyer" data-order-id="2026112800001"
 data-today="2026-11-30" async></script></body></html>""",
        encoding="utf-8",
    )
    (site / "provider.html").write_text(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>服务商中心</title></head>
<body><h1>服务商中心（另一个源）</h1>
<script src="http://127.0.0.1:{port}/widget.js" data-audience="provider" async></script></body></html>""",
        encoding="utf-8",
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", proc)
        with static_site(site) as host:
            yield {"base": f"http://127.0.0.1:{port}", "host": host, "db": str(db)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Widget:
    """The widget on a page, reached through its open shadow root."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]

    def q(self, css: str) -> object:
        return self.page.locator(f"#faqbot-widget >> css={css}")  # type: ignore[attr-defined]

    def open(self) -> None:
        self.q(".launcher").click()  # type: ignore[attr-defined]
        self.ready()

    def ready(self) -> None:
        """Panel open, socket connected, greeting shown (so the next bot message is an answer)."""
        self.q(".panel").wait_for(state="visible")  # type: ignore[attr-defined]
        self.q(".log > li.bot").first.wait_for()  # type: ignore[attr-defined]

    def count(self, css: str) -> int:
        return int(self.q(css).count())  # type: ignore[attr-defined]

    def ask(self, text: str, kind: str | None = None) -> object:
        before = self.count(".log > li.bot")
        self.q("#faqbot-input").fill(text)  # type: ignore[attr-defined]
        self.q("#faqbot-input").press("Enter")  # type: ignore[attr-defined]
        self.page.wait_for_function(  # type: ignore[attr-defined]
            "n => document.querySelector('#faqbot-widget').shadowRoot.querySelectorAll('.log > li.bot').length > n",
            arg=before,
        )
        last = self.q(".log > li.bot").last  # type: ignore[attr-defined]
        if kind:
            assert last.get_attribute("data-kind") == kind, last.inner_text()
        return last


def new_widget(browser: object, server: dict[str, str], width: int = 1280, height: int = 800) -> Widget:
    page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page.goto(server["host"])
    w = Widget(page)
    w.open()
    return w


def test_widget_on_another_origin_answers_with_a_source_line(browser: object, server: dict[str, str]) -> None:
    w = new_widget(browser, server)
    answer = w.ask("镜像能下到本地吗", kind="faq")
    assert "镜像如何下载？" in answer.locator(".source").inner_text()  # type: ignore[attr-defined]
    link = answer.locator(".source a").get_attribute("href")  # type: ignore[attr-defined]
    assert link == f"{server['base']}/faq/image-download"
    day = answer.locator(".source .day")  # type: ignore[attr-defined]
    assert "2024-" in day.inner_text() and day.evaluate("d => getComputedStyle(d).whiteSpace") == "nowrap"
    # the host page's CSS does not reach into the widget
    send_bg = w.q("form button").evaluate("b => getComputedStyle(b).backgroundColor")  # type: ignore[attr-defined]
    assert send_bg == "rgb(0, 110, 255)"
    rule = w.ask("这个订单能退吗", kind="rule")  # the order id comes from the page
    assert "2026-12-02" in rule.inner_text()  # type: ignore[attr-defined]
    w.page.screenshot(path=str(ARTIFACTS / "widget.png"))  # type: ignore[attr-defined]


def test_numbered_steps_keep_their_numbers_and_screenshot_text_is_marked(
    browser: object, server: dict[str, str]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(server["host"] + "provider.html")
    w = Widget(page)
    w.open()
    answer = w.ask("服务商怎么退出云市场？", kind="faq")
    lists = answer.locator(".bubble > ol").evaluate_all(  # type: ignore[attr-defined]
        "els => els.map(o => [o.start, o.children.length])"
    )
    assert lists == [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [1, 1], [2, 1], [3, 1], [4, 1]]
    notes = answer.locator(".bubble > blockquote > p:first-child").all_inner_texts()  # type: ignore[attr-defined]
    assert sum("并非您账户的实际状态" in n for n in notes) == 3  # (the last quote is the rule's offer)
    page.screenshot(path=str(ARTIFACTS / "widget-provider-steps.png"), full_page=True)


def test_suggestion_chip_sends_its_question(browser: object, server: dict[str, str]) -> None:
    w = new_widget(browser, server)
    clarify = w.ask("发票", kind="clarify")
    chip = clarify.locator(".chips button").first  # type: ignore[attr-defined]
    question = chip.inner_text()
    before = w.count(".log > li.bot")
    chip.click()
    w.page.wait_for_function(  # type: ignore[attr-defined]
        "n => document.querySelector('#faqbot-widget').shadowRoot.querySelectorAll('.log > li.bot').length > n",
        arg=before,
    )
    assert w.q(".log > li.user").last.inner_text() == question  # type: ignore[attr-defined]
    last = w.q(".log > li.bot").last  # type: ignore[attr-defined]
    assert last.get_attribute("data-kind") == "faq" and question in last.locator(".source").inner_text()


def test_thumbs_down_is_stored(browser: object, server: dict[str, str]) -> None:
    w = new_widget(browser, server)
    answer = w.ask("提现多久到账", kind="faq")
    answer.get_by_role("button", name="这个回答没有帮助").click()  # type: ignore[attr-defined]
    answer.get_by_text("感谢反馈").wait_for()  # type: ignore[attr-defined]
    rows = ConversationStore.open(Path(server["db"])).feedback()
    assert rows and rows[-1]["helpful"] == 0


def test_handoff_agent_reply_and_no_script_runs(browser: object, server: dict[str, str]) -> None:
    w = new_widget(browser, server)
    w.ask(XSS)
    user_bubble = w.q(".log > li.user").last  # type: ignore[attr-defined]
    assert user_bubble.inner_text() == XSS  # shown as text
    assert w.count("img") == 0
    w.ask("我11月20日买的SaaS模板能退吗", kind="rule")  # the question the agent's suggestions are for
    w.q(".human").click()  # type: ignore[attr-defined]
    w.q('.log > li.bot[data-kind="handoff"]').wait_for()  # type: ignore[attr-defined]

    console = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    console_dialogs: list[str] = []
    console.on("dialog", lambda d: (console_dialogs.append(d.message), d.dismiss()))
    console.goto(f"{server['base']}/agent")
    console.fill("#password", PASSWORD)
    console.click("button[type=submit]")
    item = console.locator("#queue .item", has_text="转人工").first
    item.click()
    console.locator("#suggestions .suggestion").first.wait_for()
    assert "规则结论" in console.locator("#suggestions .suggestion").first.inner_text()
    transcript = console.locator("#transcript").inner_text()
    assert XSS in transcript and console.locator("#transcript img").count() == 0
    console.get_by_role("button", name="使用建议回复 1").click()
    sent = console.locator("#reply").input_value()
    assert "复议期" in sent
    console.click("#send")
    agent_bubble = w.q(".log > li.agent")  # type: ignore[attr-defined]
    agent_bubble.wait_for()
    assert "人工客服" in agent_bubble.inner_text() and "复议期" in agent_bubble.inner_text()
    console.locator("#transcript li.agent").first.wait_for()
    console.screenshot(path=str(ARTIFACTS / "console.png"))
    w.page.screenshot(path=str(ARTIFACTS / "widget-agent-reply.png"))  # type: ignore[attr-defined]
    assert w.dialogs == [] and console_dialogs == []


def test_widget_fits_a_phone_and_works_by_keyboard(browser: object, server: dict[str, str]) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740})  # type: ignore[attr-defined]
    page.goto(server["host"])
    w = Widget(page)
    w.q(".launcher").focus()  # type: ignore[attr-defined]
    page.keyboard.press("Enter")
    w.ready()
    box = w.q(".panel").bounding_box()  # type: ignore[attr-defined]
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.keyboard.type("发票多久能开出来")  # focus is in the message box
    before = w.count(".log > li.bot")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelector('#faqbot-widget').shadowRoot.querySelectorAll('.log > li.bot').length > n",
        arg=before,
    )
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    page.keyboard.press("Escape")
    assert w.q(".launcher").get_attribute("aria-expanded") == "false"  # type: ignore[attr-defined]


def test_a_precise_answer_leads_with_the_fact_and_folds_the_whole_entry(
    browser: object, server: dict[str, str]
) -> None:
    w = new_widget(browser, server)
    answer = w.ask("票面金额多少以下的发票要到付", kind="faq")
    lead = answer.locator(".bubble > p").first  # type: ignore[attr-defined]
    assert "50元" in lead.inner_text() and "到付" in lead.inner_text()
    details = answer.locator(".bubble details.full")  # type: ignore[attr-defined]
    assert details.count() == 1 and details.get_attribute("open") is None
    assert not details.locator("ul, p").first.is_visible()  # the whole entry is folded away
    details.locator("summary").click()
    assert details.get_attribute("open") is not None and details.locator("ul, p").first.is_visible()
    w.page.screenshot(path=str(ARTIFACTS / "widget-precise-answer.png"))  # type: ignore[attr-defined]
