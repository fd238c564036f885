"""Working-day arithmetic on the Chinese calendar (chinese-calendar), and the timeline rules built on it."""

from __future__ import annotations

from datetime import date

import pytest

from bot.engine import AnswerEngine
from bot.workdays import WorkCalendar, covered_years


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # 国庆 2026: 10-01..10-07 off, Saturday 10-10 worked (调休)
        (date(2026, 9, 30), 10, date(2026, 10, 20)),
        (date(2026, 9, 25), 5, date(2026, 10, 9)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        # 春节 2026: Saturday 02-14 worked, 02-15..02-23 off
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),
        # an ordinary week: Friday + 1 = Monday
        (date(2026, 11, 27), 1, date(2026, 11, 30)),
        (date(2026, 11, 30), 0, date(2026, 11, 30)),
    ],
)
def test_add_workdays_across_holidays(start: date, n: int, expected: date) -> None:
    cal = WorkCalendar()
    assert cal.add_workdays(start, n) == expected
    assert not cal.approximated


def test_adjusted_working_days_and_holidays() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, worked for 国庆
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, worked
    assert not cal.is_workday(date(2026, 10, 5))  # Monday in the holiday
    assert not cal.is_workday(date(2026, 1, 1))


def test_a_year_past_the_calendar_falls_back_to_weekdays_and_says_so() -> None:
    _, last = covered_years()
    assert last >= 2026
    cal = WorkCalendar()
    beyond = last + 1
    start = date(beyond, 9, 30)
    # weekdays only: no 国庆 known for that year
    end = cal.add_workdays(start, 5)
    assert end.year == beyond and end.weekday() < 5 and cal.is_workday(end)
    assert cal.approximated == {beyond} and cal.covered[1] == last  # the timeline rule says so (see below)


@pytest.mark.parametrize(
    ("message", "today", "rule_id", "earliest", "latest", "calendar"),
    [
        (
            "我9月30日申请的开票，什么时候能开出来",
            "2026-10-09",
            "invoice_issue",
            "2026-09-30",
            "2026-10-20",
            "official",
        ),
        ("商品审核9月25日提交的，多久出结果", "2026-10-01", "product_review", "2026-09-25", "2026-10-09", "official"),
        (
            "我9月28日买的小程序什么时候能上线",
            "2026-10-01",
            "miniprogram_go_live",
            "2026-10-13",
            "2026-10-23",
            "official",
        ),
        ("我11月3日申请的提现什么时候到账", "2026-11-30", "withdrawal_arrival", "2026-11-24", "2026-12-01", "official"),
        # crosses into a year chinese-calendar does not cover yet: weekdays only, said in the reply
        (
            "12月25日申请的提现什么时候到账",
            "2026-12-28",
            "withdrawal_arrival",
            "2027-01-15",
            "2027-01-22",
            "approximate",
        ),
        (
            "我11月2日提交了退出申请，保证金什么时候退回来",
            "2026-11-30",
            "deposit_refund",
            "2027-01-04",
            "2027-01-04",
            "approximate",
        ),
        ("订单11月1日交付完成，什么时候分账", "2026-11-30", "settlement", "2026-12-02", "2026-12-02", "official"),
    ],
)
def test_timeline_rules_give_concrete_dates(
    engine: AnswerEngine, message: str, today: str, rule_id: str, earliest: str, latest: str, calendar: str
) -> None:
    reply = engine.answer(message, {"today": today})
    assert reply.kind == "rule" and reply.rule is not None, reply
    assert reply.rule.id == rule_id
    assert reply.rule.dates is not None and reply.rule.dates.model_dump() == {"earliest": earliest, "latest": latest}
    assert reply.rule.calendar == calendar
    assert latest in reply.text
    assert ("尚未收录" in reply.text) == (calendar == "approximate")
    cite = reply.rule.cites[0]
    assert engine.kb.by_id[cite.id].question == cite.question


def test_a_deadline_in_the_past_is_called_overdue(engine: AnswerEngine) -> None:
    reply = engine.answer("我9月30日申请的开票，什么时候能开出来", {"today": "2026-11-30"})
    assert reply.rule is not None and reply.rule.decision == "overdue" and "已超过" in reply.text


def test_a_general_timeline_question_gets_the_faq_and_an_offer(engine: AnswerEngine) -> None:
    reply = engine.answer("提现多久到账")
    assert reply.kind == "faq" and reply.faq is not None and reply.faq.id == "withdrawal-arrival-time"
    assert "申请提现的日期" in reply.text
