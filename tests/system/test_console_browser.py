"""The agent console as a team uses it, in Debian's Chromium: an admin creates two agents, each signs in in a
browser context of their own (notifications granted, Beijing time), a buyer asks for a person from the widget on
another origin, and ownership, unread markers, notifications, context, canned responses, resolve and the layout
at 1280 and 1024 px are checked where a person would see them. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.system.conftest import ARTIFACTS
from tests.system.test_browser import Widget, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "server-admin-password"  # tests.helpers.serve sets it
# Every `new Notification(...)` the page makes is recorded before the real one is shown. With `ask_first`, the
# page sees the permission as not yet decided ("default") until it calls requestPermission (recorded), which the
# browser then answers with the context's real permission: headless Chromium never shows the prompt itself.
RECORD_NOTIFICATIONS = """
(askFirst => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notified = [];
  window.__asked = 0;
  let decided = !askFirst;
  function Recording(title, options) {
    window.__notified.push(title + "|" + ((options && options.body) || ""));
    return new Real(title, options);
  }
  Object.defineProperty(Recording, "permission", { get: () => decided ? Real.permission : "default" });
  Recording.requestPermission = () => { window.__asked += 1; decided = true; return Promise.resolve(Real.permission); };
  window.Notification = Recording;
  window.__beeps = 0;  // and every tone the page starts
  const Start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...a) { window.__beeps += 1; return Start.apply(this, a); };
})(%s);
"""


def console_context(chromium: Any, *, ask_first: bool = False) -> Any:
    """A browser context of its own (cookies, storage) in Beijing time, notifications granted."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Asia/Shanghai", locale="zh-CN",
                              permissions=["notifications"])  # fmt: skip
    ctx.add_init_script(RECORD_NOTIFICATIONS % ("true" if ask_first else "false"))
    return ctx


def sign_in(ctx: Any, base: str, username: str, password: str) -> Any:
    page = ctx.new_page()
    page.on("dialog", lambda d: d.accept())  # the take-over confirmation is accepted
    page.goto(f"{base}/agent")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.locator("#live", has_text="实时连接").wait_for()
    return page


def create_agent(admin: Any, username: str, name: str) -> str:
    admin.click("#team-open")
    form = admin.locator("#team-add")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill(name)
    form.locator("button[type=submit]").click()
    secret = admin.locator("#team-secret", has_text=username)
    secret.wait_for()
    password = re.search(r"：(\S+)$", secret.inner_text())
    assert password, secret.inner_text()
    admin.locator("#team-list tr", has_text=username).wait_for()
    admin.locator("#team-dialog .close-dialog").last.click()
    return password.group(1)


def test_a_team_works_a_conversation_together(browser: Any, server: dict[str, str]) -> None:  # noqa: F811
    base = server["base"]
    admin = sign_in(console_context(browser), base, "admin", ADMIN_PASSWORD)
    wang_pw, li_pw = create_agent(admin, "wang", "王小明"), create_agent(admin, "li", "李华")
    # a canned response, written by the admin
    admin.click("#canned-manage")
    admin.fill("#canned-form input[name=title]", "问候")
    admin.fill("#canned-form textarea[name=text]", "您好，我是人工客服，请问还有什么可以帮您？")
    admin.click("#canned-form button[type=submit]")
    admin.locator("#canned-edit-list li", has_text="问候").wait_for()
    admin.locator("#canned-dialog .close-dialog").click()

    wang = sign_in(console_context(browser), base, "wang", wang_pw)
    li = sign_in(console_context(browser, ask_first=True), base, "li", li_pw)
    assert wang.locator("#me").inner_text().startswith("王小明")
    # notifications: granted earlier for wang; li is asked only when they click, never on load
    assert wang.locator("#notify").inner_text() == "桌面通知已开启"
    assert li.locator("#notify").inner_text() == "开启桌面通知" and li.evaluate("window.__asked") == 0
    li.click("#notify")
    li.locator("#notify", has_text="桌面通知已开启").wait_for()
    assert li.evaluate("window.__asked") == 1
    wang.check("#sound")  # wang wants a sound; li does not

    # a buyer on the partner's page asks about their order, then for a person
    buyer = Widget(browser.new_page(viewport={"width": 1280, "height": 800}))
    buyer.page.goto(server["host"])  # type: ignore[attr-defined]
    buyer.open()
    buyer.ask("这个订单能退吗", kind="rule")
    buyer.ask("转人工")
    asked_at = datetime.now(ZoneInfo("Asia/Shanghai"))

    item = wang.locator("#queue .item.unread", has_text="转人工")
    item.wait_for()
    wang.wait_for_function("() => /^\\(\\d+\\) /.test(document.title)")  # the title badge counts unread
    wang.wait_for_function("() => (window.__notified || []).some(n => n.startsWith('新的转人工请求'))")
    wang.wait_for_function("() => window.__beeps > 0")
    li.wait_for_function("() => (window.__notified || []).some(n => n.startsWith('新的转人工请求'))")
    assert li.evaluate("window.__beeps") == 0
    assert "等待" in item.locator(".time").inner_text()
    item.click()
    wang.locator("#transcript li.bot").first.wait_for()
    wang.wait_for_function("() => !/^\\(\\d+\\) /.test(document.title)")  # read now
    assert wang.locator("#queue .item.active.unread").count() == 0
    # the context beside the transcript: audience, the page's order with what the order records add, the rule
    context = wang.locator("#context").inner_text()
    assert "买家" in context and "2026112800001" in context and "saas" in context.lower() and "refund" in context
    # the transcript as the buyer saw it (Markdown rendered, no script), times in Beijing time with the date
    assert wang.locator("#transcript li.bot .text.md p, #transcript li.bot .text.md blockquote").count() >= 1
    who = wang.locator("#transcript li.user .who").first.inner_text()
    assert asked_at.strftime("%m/%d") in who or asked_at.strftime("%m-%d") in who, who

    wang.click("#takeover")
    wang.locator("#owner", has_text="王小明").wait_for()
    wang.get_by_role("button", name="使用建议回复 1").click()
    drafted = wang.locator("#reply").input_value()
    assert "依据" not in drafted and f"{base}/faq/" in drafted  # plain words and the entry's page
    wang.click("#send")
    reply = buyer.q(".log > li.agent")
    reply.wait_for()  # type: ignore[attr-defined]
    assert "王小明" in reply.inner_text()  # type: ignore[attr-defined]

    # li sees who owns it and cannot write until they take it over, which leaves a note
    li.locator("#queue .item", has_text="王小明").first.click()
    li.locator("#owner", has_text="王小明").wait_for()
    assert li.locator("#reply").is_disabled() and "王小明" in li.locator("#reply-note").inner_text()
    li.click("#takeover")  # confirm() is accepted
    li.locator("#transcript li.note", has_text="李华 接手了这个会话").wait_for()
    assert li.locator("#reply").is_enabled()
    wang.locator("#reply-note", has_text="李华").wait_for()  # wang's console follows live
    # canned response through the "/" shortcut
    li.click("#reply")
    li.keyboard.type("/问候")
    li.locator("#canned-popup li", has_text="问候").wait_for()
    li.keyboard.press("Enter")
    assert li.locator("#reply").input_value() == "您好，我是人工客服，请问还有什么可以帮您？"
    li.click("#send")
    buyer.q(".log > li.agent >> nth=1").wait_for()  # type: ignore[attr-defined]
    # mine / unassigned / all
    li.click(".views [data-view=mine]")
    li.locator("#queue .item", has_text="李华").wait_for()
    wang.click(".views [data-view=mine]")
    wang.locator("#queue .empty").wait_for()
    wang.click(".views [data-view=all]")

    # layout: the whole console at a 1280 px laptop and a 1024 px tablet, with room for the transcript
    for width, height in ((1280, 800), (1024, 768)):
        li.set_viewport_size({"width": width, "height": height})
        box = li.locator("#transcript").bounding_box()
        assert box["height"] >= 300 and box["width"] >= 380, (width, box)
        for part in ("#queue", "#context", "#reply", "#send", "#resolve"):
            b = li.locator(part).bounding_box()
            assert b is not None and b["x"] >= 0 and b["x"] + b["width"] <= width + 1, (width, part, b)
        li.screenshot(path=str(ARTIFACTS / f"console-{width}.png"))

    # resolved: out of the queue, found again by search, and reopened when the buyer writes
    li.click("#resolve")
    li.locator("#owner", has_text="已解决").wait_for()
    li.click(".views [data-view=all]")
    li.wait_for_function("() => !document.querySelector('#queue .item.active')")
    li.fill("#history-q", "这个订单能退吗")
    li.press("#history-q", "Enter")
    li.locator("#history-title", has_text="已解决的会话").wait_for()
    assert li.locator("#queue .item").count() >= 1
    li.click("#history-back")
    buyer.ask("我还有个问题：发票怎么开")
    li.locator("#queue .item", has_text="用户又来消息").wait_for()


def test_admin_assigns_and_an_agent_signs_out_other_devices(browser: Any, server: dict[str, str]) -> None:  # noqa: F811
    base = server["base"]
    admin = sign_in(console_context(browser), base, "admin", ADMIN_PASSWORD)
    password = create_agent(admin, "zhang", "张伟")
    laptop = sign_in(console_context(browser), base, "zhang", password)
    phone = sign_in(console_context(browser), base, "zhang", password)
    # a buyer asks for a person (over the chat API); the admin gives the conversation to 张伟
    asked = admin.request.post(f"{base}/api/chat", data={"message": "转人工，订单 ZX-4410 的发票开错了"})
    assert asked.ok
    admin.locator("#queue .item", has_text="ZX-4410").first.click()
    admin.locator("#assign").select_option("zhang")
    admin.locator("#owner", has_text="张伟").wait_for()
    admin.locator("#transcript li.note", has_text="张伟").wait_for()
    laptop.click(".views [data-view=mine]")
    laptop.locator("#queue .item", has_text="ZX-4410").wait_for()
    # the sound preference is the agent's own and stays
    laptop.check("#sound")
    laptop.reload()
    assert laptop.is_checked("#sound")
    # 登录设备: two sessions, this one marked; signing the others out ends the phone's
    laptop.click("#sessions-open")
    laptop.locator("#sessions-list li").nth(1).wait_for()
    assert laptop.locator("#sessions-list li").count() == 2 and laptop.locator("#sessions-list li.current").count() == 1
    laptop.click("#sign-out-others")
    laptop.wait_for_function("() => document.querySelectorAll('#sessions-list li').length === 1")
    phone.reload()
    phone.locator("#password").wait_for()  # back at the login form
    laptop.click("#sign-out-all")
    laptop.locator("#password").wait_for()
