"""The widget when a person is involved, in Debian's Chromium on a page of another origin: leaving a message
while nobody is online, waiting (position and estimate, surviving a reload), an agent's links, the satisfaction
question after a person resolved the conversation, and one rating per answer with a comment after 没用.
Screenshots go to tests/artifacts/. The tests run in file order: the first needs nobody signed in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.store import ConversationStore
from tests.system.conftest import ARTIFACTS
from tests.system.test_browser import Widget, new_widget, server  # noqa: F401  (the fixture)
from tests.system.test_console_browser import ADMIN_PASSWORD, console_context, sign_in

pytestmark = pytest.mark.browser


def test_nobody_online_offers_an_offline_message_with_a_checked_contact(browser: Any, server: dict[str, str]  # noqa: F811
                                                                        ) -> None:  # fmt: skip
    w = new_widget(browser, server)
    w.ask("发票一直没收到")
    w.q(".human").click()  # type: ignore[attr-defined]
    form = w.q("form.offline")
    form.wait_for()  # type: ignore[attr-defined]
    assert "没有人工客服在线" in w.q(".people").inner_text()  # type: ignore[attr-defined]
    w.q("form.offline textarea").fill("发票一直没收到，麻烦尽快联系我")  # type: ignore[attr-defined]
    w.q("form.offline input").fill("call me")  # type: ignore[attr-defined]
    w.q("form.offline button[type=submit]").click()  # type: ignore[attr-defined]
    w.q("form.offline .error").filter(has_text="手机号").wait_for()  # type: ignore[attr-defined]
    w.page.screenshot(path=str(ARTIFACTS / "widget-offline.png"))  # type: ignore[attr-defined]
    w.q("form.offline input").fill("138 0013 8000")  # type: ignore[attr-defined]
    w.q("form.offline button[type=submit]").click()  # type: ignore[attr-defined]
    w.q(".people").filter(has_text="13800138000").wait_for()  # type: ignore[attr-defined]
    assert w.count("form.offline") == 0
    # the console has it as an offline ticket with the contact
    admin = sign_in(console_context(browser), server["base"], "admin", ADMIN_PASSWORD)
    admin.locator("#queue .item", has_text="留言").first.click()
    admin.locator("#context", has_text="13800138000").wait_for()


def test_waiting_shows_the_queue_and_survives_a_reload(browser: Any, server: dict[str, str]) -> None:  # noqa: F811
    sign_in(console_context(browser), server["base"], "admin", ADMIN_PASSWORD)  # someone is online now
    w = new_widget(browser, server)
    w.ask("镜像下载失败怎么办")
    w.q(".human").click()  # type: ignore[attr-defined]
    people = w.q(".people")
    people.wait_for()  # type: ignore[attr-defined]
    w.page.wait_for_function(  # type: ignore[attr-defined]
        "() => /前面|下一位/.test(document.querySelector('#faqbot-widget').shadowRoot"
        ".querySelector('.people').textContent)"
    )
    assert w.count("form.offline") == 0
    w.page.screenshot(path=str(ARTIFACTS / "widget-waiting.png"))  # type: ignore[attr-defined]
    w.page.reload()  # type: ignore[attr-defined]
    w2 = Widget(w.page)
    w2.open()
    w2.q(".people").filter(has_text="人工客服").wait_for()  # type: ignore[attr-defined]


def test_agent_links_and_satisfaction_after_a_person_resolved(browser: Any, server: dict[str, str]) -> None:  # noqa: F811
    w = new_widget(browser, server)
    w.ask("我想问一下 API 的调用次数")
    w.q(".human").click()  # type: ignore[attr-defined]
    w.q(".people").wait_for()  # type: ignore[attr-defined]
    w.ask("补充一下：我的账号是 AP-7731")  # what the agent finds the conversation by
    agent = sign_in(console_context(browser), server["base"], "admin", ADMIN_PASSWORD)
    agent.locator("#queue .item", has_text="AP-7731").first.click()
    agent.locator("#transcript li.user").first.wait_for()
    agent.click("#takeover")
    agent.locator("#owner", has_text="管理员").wait_for()
    agent.fill("#reply", "请看这里：https://cloud.tencent.com/document/product/306 ，有问题再找我。<b>x</b>")
    agent.click("#send")
    link = w.q(".log > li.agent .bubble a")
    link.wait_for()  # type: ignore[attr-defined]
    assert link.get_attribute("href") == "https://cloud.tencent.com/document/product/306"  # type: ignore[attr-defined]
    assert "<b>x</b>" in w.q(".log > li.agent .bubble").inner_text()  # type: ignore[attr-defined]  (text stays text)
    assert w.count(".log > li.agent .bubble b") == 0
    agent.click("#resolve")
    csat = w.q(".csat")
    csat.wait_for()  # type: ignore[attr-defined]
    w.q(".csat button[data-score='4']").click()  # type: ignore[attr-defined]
    w.q(".csat textarea").fill("回复很快")  # type: ignore[attr-defined]
    w.page.screenshot(path=str(ARTIFACTS / "widget-csat.png"))  # type: ignore[attr-defined]
    w.q(".csat button[type=submit]").click()  # type: ignore[attr-defined]
    w.q(".csat").filter(has_text="感谢").wait_for()  # type: ignore[attr-defined]
    rows = ConversationStore.open(Path(server["db"]))
    conv_id = w.page.evaluate(  # type: ignore[attr-defined]
        "() => Object.keys(localStorage).filter(k => k.startsWith('faqbot-session') && k.endsWith(':buyer'))"
        ".map(k => localStorage[k])[0]"
    )
    assert rows.conversation_rating(conv_id)["score"] == 4  # type: ignore[index]
    w.page.reload()  # type: ignore[attr-defined]
    again = Widget(w.page)
    again.open()
    again.q(".csat").filter(has_text="4").wait_for()  # type: ignore[attr-defined]  (the rating given, restored)
    assert again.count(".csat button[type=submit]") == 0


def test_one_rating_per_answer_a_comment_after_unhelpful_and_restored(browser: Any, server: dict[str, str]  # noqa: F811
                                                                      ) -> None:  # fmt: skip
    w = new_widget(browser, server)
    answer = w.ask("提现多久到账", kind="faq")
    answer.get_by_role("button", name="这个回答有帮助").click()  # type: ignore[attr-defined]
    answer.locator(".rate button[aria-pressed=true]").wait_for()  # type: ignore[attr-defined]
    answer.get_by_role("button", name="这个回答没有帮助").click()  # type: ignore[attr-defined]  (changes it)
    box = answer.locator(".rate-comment textarea")  # type: ignore[attr-defined]
    box.fill("没说周末算不算")
    answer.locator(".rate-comment button").click()  # type: ignore[attr-defined]
    answer.locator(".rate-comment").wait_for(state="detached")  # type: ignore[attr-defined]  (stored, then gone)
    mid = int(answer.get_attribute("data-message-id"))  # type: ignore[attr-defined]
    rows = [r for r in ConversationStore.open(Path(server["db"])).feedback() if r["message_id"] == mid]
    assert [(r["helpful"], r["comment"]) for r in rows] == [(0, "没说周末算不算")]
    w.page.reload()  # type: ignore[attr-defined]
    again = Widget(w.page)
    again.open()
    restored = again.q(f'.log > li.bot[data-message-id="{mid}"] .rate button[aria-pressed=true]')
    restored.wait_for()  # type: ignore[attr-defined]
    assert restored.get_attribute("aria-label") == "这个回答没有帮助"  # type: ignore[attr-defined]
