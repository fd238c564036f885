"""The knowledge page as a support lead uses it, in Debian's Chromium, against `faqbot serve` in a subprocess: a
buyer's question the bot cannot answer shows up in the review inbox, is added as an alternate, the regression guard
passes and the index swaps while a load script chats over HTTP and a WebSocket, and the widget now answers it; a
change that breaks a golden question is refused with the list; the FAQ editor changes an answer (preview sanitised
as in the widget) and the widget shows it. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from bot.engine import AnswerEngine
from bot.evaluation import read_cases
from bot.settings import PROJECT_ROOT
from tests.helpers import free_port, serve, static_site
from tests.system.conftest import ARTIFACTS
from tests.system.test_browser import Widget

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "server-admin-password"  # tests.helpers.serve sets it
STRANGE = "蓝鲸七号怎么弄"  # a team's code word for "where are my orders": nobody can know it
GOLDEN = 40
PAUSE = 0.3  # between one client's turns
HOSTILE = '<img src=x onerror="window.__owned=1">[链接](javascript:alert(1))'


@pytest.fixture(scope="module")
def site(
    engine: AnswerEngine, real_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """`faqbot serve` with its own live folder and a short golden set, and a product page embedding the widget."""
    work = tmp_path_factory.mktemp("knowledge-browser")
    golden = work / "golden.jsonl"
    cases = [c for c in read_cases(PROJECT_ROOT / "tests" / "data" / "dev_queries.jsonl") if c.expect][:GOLDEN]
    golden.write_text("".join(json.dumps({"q": c.q, "expect": c.expect}, ensure_ascii=False) + "\n" for c in cases),
                      encoding="utf-8")  # fmt: skip
    port = free_port()
    # the load script chats from this machine's one address, faster than a person may
    proc = serve(real_index_dir, work / "faqbot.sqlite3", port, FAQBOT_LIVE_DIR=str(work / "live"),
                 FAQBOT_GUARD_SETS=json.dumps([str(golden)]), FAQBOT_MESSAGES_PER_MINUTE="100000",
                 FAQBOT_MESSAGES_PER_MINUTE_PER_ADDRESS="100000",
                 FAQBOT_CONVERSATIONS_PER_MINUTE_PER_ADDRESS="100000")  # fmt: skip
    pages = work / "site"
    pages.mkdir()
    (pages / "index.html").write_text(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>商品页</title></head>
<body><h1>商品页</h1>
<script src="http://127.0.0.1:{port}/widget.js" data-audience="buyer" async></script></body></html>""",
        encoding="utf-8",
    )
    try:
        with static_site(pages) as host:
            yield {"base": f"http://127.0.0.1:{port}", "host": host, "golden": str(golden)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Load:
    """A load script: one thread posting turns, one chatting over a single long-lived WebSocket, each a few turns a
    second, until stopped."""

    QUESTIONS = ("发票多久能开出来", "镜像能下载到本地吗", "怎么查看我的订单", "服务商怎么提现")

    def __init__(self, base: str) -> None:
        self.base = base
        self.http: list[int] = []
        self.ws: list[str] = []
        self.errors: list[str] = []
        self.running = True
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._post, self._socket)]
        for t in self.threads:
            t.start()

    def _post(self) -> None:
        n = 0
        while self.running:
            body = json.dumps({"message": self.QUESTIONS[n % 4]}).encode()
            req = urllib.request.Request(self.base + "/api/chat", body, {"content-type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    self.http.append(r.status)
            except Exception as exc:  # every failure is a failed turn, counted
                self.errors.append(f"POST: {exc!r}")
            n += 1
            time.sleep(PAUSE)

    def _socket(self) -> None:
        try:
            with connect(self.base.replace("http", "ws") + "/ws/chat") as ws:
                assert json.loads(ws.recv(timeout=30))["type"] == "session"
                n = 0
                while self.running:
                    ws.send(json.dumps({"type": "message", "text": self.QUESTIONS[n % 4], "context": {}}))
                    while (frame := json.loads(ws.recv(timeout=60)))["type"] == "typing":
                        pass
                    self.ws.append(frame["type"])
                    n += 1
                    time.sleep(PAUSE)
        except Exception as exc:  # a dropped socket is a failure, counted
            self.errors.append(f"WebSocket: {exc!r}")

    def stop(self) -> None:
        self.running = False
        for t in self.threads:
            t.join(timeout=90)


def knowledge_page(browser: Any, base: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai", locale="zh-CN")
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{base}/agent")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.locator("#knowledge-open").click()
    page.wait_for_url(f"{base}/agent/knowledge")
    return page


def widget(browser: Any, site: dict[str, str]) -> Widget:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(site["host"])
    w = Widget(page)
    w.open()
    return w


def job_finished(page: Any) -> str:
    page.wait_for_function("() => ['done', 'refused', 'failed'].includes(document.getElementById('job').dataset.state)",
                           timeout=600_000)  # fmt: skip
    return str(page.locator("#job").get_attribute("data-state"))


def test_a_fallback_becomes_an_alternate_and_the_widget_answers_it_with_no_failed_turn(
    browser: Any, site: dict[str, str]
) -> None:
    w = widget(browser, site)
    w.ask(STRANGE, kind="fallback")
    w.page.screenshot(path=str(ARTIFACTS / "knowledge-widget-before.png"))

    page = knowledge_page(browser, site["base"])
    group = page.locator(".group", has=page.locator(".q", has_text=STRANGE))
    group.wait_for(timeout=120_000)  # the inbox groups questions with the encoder
    group.locator("select.other-entry").select_option("view-orders")
    group.locator("input.reason").fill("蓝鲸七号是团队对订单页的叫法")
    load = Load(site["base"])
    try:
        group.locator("button", has_text="加为备选问法").click()
        assert job_finished(page) == "done", page.locator("#job").inner_text()
    finally:
        load.stop()
    assert not load.errors, load.errors
    assert len(load.http) >= 5 and set(load.http) == {200}, load.http
    assert len(load.ws) >= 5 and set(load.ws) == {"reply"}, load.ws
    preview = page.locator("#job-preview-list li", has_text=STRANGE)
    assert "未能回答 → 答对" in preview.inner_text()
    page.screenshot(path=str(ARTIFACTS / "knowledge-inbox-accepted.png"), full_page=True)
    # the inbox no longer lists it; the history records who, why
    page.locator(".group .q", has_text=STRANGE).wait_for(state="detached")
    page.locator("#tab-history").click()
    first = page.locator("#history li").first
    first.wait_for()
    assert "添加备选问法" in first.inner_text() and "蓝鲸七号是团队对订单页的叫法" in first.inner_text()

    after = widget(browser, site)
    answer = after.ask(STRANGE, kind="faq")
    assert "下单后如何查看我的订单？" in answer.locator(".source").inner_text()
    after.page.screenshot(path=str(ARTIFACTS / "knowledge-widget-answers.png"))


def test_a_change_that_breaks_golden_questions_is_refused_with_the_list(
    browser: Any, site: dict[str, str], engine: AnswerEngine
) -> None:
    golden = [json.loads(line) for line in Path(site["golden"]).read_text(encoding="utf-8").splitlines()]
    victims = [c for c in golden if c["expect"] == "什么是镜像？"]
    assert len(victims) >= 2
    widget(browser, site).ask("白鲸八号是啥意思", kind="fallback")

    page = knowledge_page(browser, site["base"])
    group = page.locator(".group", has=page.locator(".q", has_text="白鲸八号是啥意思"))
    group.wait_for(timeout=120_000)
    group.locator("button", has_text="新建 FAQ 条目").click()
    form = page.locator("#new-entry-form")
    form.locator("[name=entry_id]").fill("image-meaning")
    form.locator("[name=category]").select_option("镜像")
    form.locator("[name=question]").fill("镜像是什么意思？")
    form.locator("[name=audience]").select_option("both")
    form.locator("[name=answer]").fill("镜像就是**装好系统和软件的模板**。")
    page.locator("#ne-preview strong", has_text="装好系统和软件的模板").wait_for()
    # a duplicate of an existing entry: its phrasings pasted in
    form.locator("[name=alternates]").fill("\n".join(["白鲸八号是啥意思", *(v["q"] for v in victims)]))
    form.locator("button[type=submit]").click()
    assert job_finished(page) == "refused", page.locator("#job").inner_text()
    listed = page.locator("#job-regression-list li").all_inner_texts()
    assert listed and all("什么是镜像？" in item for item in listed), listed
    assert any(v["q"] in item for v in victims for item in listed), listed
    assert page.locator("#override").is_visible()  # an admin may override, with a reason
    page.screenshot(path=str(ARTIFACTS / "knowledge-refused.png"), full_page=True)
    # nothing changed: the new entry is not live and the widget still answers the golden question as before
    assert "image-meaning" not in page.evaluate("() => fetch('/api/admin/knowledge/entries').then(r => r.text())")
    answer = widget(browser, site).ask(victims[0]["q"], kind="faq")
    assert "什么是镜像？" in answer.locator(".source").inner_text()


def test_the_faq_editor_changes_an_answer_and_the_widget_shows_it(browser: Any, site: dict[str, str]) -> None:
    page = knowledge_page(browser, site["base"])
    page.locator("#tab-entries").click()
    page.fill("#entries-filter", "镜像如何下载")
    page.locator(".entry-list button[data-id='image-download']").click()
    page.locator("#editor-title", has_text="镜像如何下载？").wait_for()
    before = page.locator("#editor-updated").inner_text()
    answer = page.locator("#ed-answer")
    hostile = "\n\n**新增说明：** 下载前请先停止实例。" + HOSTILE
    answer.fill(answer.input_value() + hostile)
    preview = page.locator("#ed-preview")
    preview.locator("strong", has_text="新增说明：").wait_for()
    assert preview.locator("img").count() == 0 and preview.locator("a[href^='javascript']").count() == 0
    assert page.evaluate("() => window.__owned") is None
    page.locator("#ed-save").click()
    assert job_finished(page) == "done", page.locator("#job").inner_text()
    page.locator(".entry-list button[data-id='image-download']").click()
    page.locator("#editor-updated").wait_for()
    page.wait_for_function("b => document.getElementById('editor-updated').textContent !== b", arg=before)
    page.screenshot(path=str(ARTIFACTS / "knowledge-editor.png"), full_page=True)

    w = widget(browser, site)
    shown = w.ask("镜像如何下载？", kind="faq")
    shown.locator(".bubble strong", has_text="新增说明：").wait_for()
    assert "下载前请先停止实例" in shown.inner_text()
    assert shown.locator("img").count() == 0
    assert w.page.evaluate("() => window.__owned") is None
