"""Slot extraction: dates in the forms people write, amounts, counts, order ids, yes/no."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slots import (
    EARLIEST_DATE,
    LATEST_DATE,
    bare_number,
    contains,
    find_amount,
    find_amount_bound,
    find_count,
    find_dates,
    find_month_range,
    find_order_id,
    yes_no,
)

TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20买的", date(2026, 11, 20)),
        ("2026/11/20", date(2026, 11, 20)),
        ("2026年11月20日", date(2026, 11, 20)),
        ("2026.11.20", date(2026, 11, 20)),
        ("11月20日", date(2026, 11, 20)),
        ("11月20号下的单", date(2026, 11, 20)),
        ("11月20", date(2026, 11, 20)),
        ("11.20买的", date(2026, 11, 20)),
        ("11/20", date(2026, 11, 20)),
        ("十一月二十日", date(2026, 11, 20)),
        ("１１月２６日", date(2026, 11, 26)),  # full width (normalised by NFKC upstream; digits also work raw)
        ("昨天", date(2026, 11, 29)),
        ("昨儿刚买", date(2026, 11, 29)),
        ("前天", date(2026, 11, 28)),
        ("大前天", date(2026, 11, 27)),
        ("今天刚买", date(2026, 11, 30)),
        ("上周五", date(2026, 11, 27)),
        ("上星期一", date(2026, 11, 23)),
        ("这周一", date(2026, 11, 30)),
        ("周三买的", date(2026, 11, 25)),
        ("3天前", date(2026, 11, 27)),
        ("三天前", date(2026, 11, 27)),
        ("一周前", date(2026, 11, 23)),
        ("半个月前", date(2026, 11, 15)),
        ("买了4天了", date(2026, 11, 26)),
        ("已经第6天了", date(2026, 11, 25)),
        ("上个月28号", date(2026, 10, 28)),
        ("本月3号", date(2026, 11, 3)),
        ("20号", date(2026, 11, 20)),
        ("12月30号", date(2025, 12, 30)),  # no year and still ahead this year: last year's
        ("2028/2/29", date(2028, 2, 29)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    found = find_dates(text.replace("１", "1").replace("２", "2").replace("６", "6"), TODAY)
    assert found and found[0].value == expected, found


def test_invalid_and_absent_dates() -> None:
    (bad,) = find_dates("2月30日买的", TODAY)
    assert bad.value is None and bad.text == "2月30日"
    assert find_dates("价格11.20元", TODAY) == []
    assert find_dates("发票多久能到", TODAY) == []
    assert find_dates("29 February", TODAY) == []


def test_leap_day_without_a_year_is_the_last_29_february() -> None:
    assert find_dates("2月29日", date(2029, 3, 1))[0].value == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("30元", "30"), ("三十块", "30"), ("¥49.9", "49.9"), ("票面金额 60", "60"), ("两百元", "200"), ("50块钱", "50")],
)
def test_amounts(text: str, amount: str) -> None:
    assert find_amount(text) == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "amount", "relation"),
    [
        ("票面金额不到50块", "50", "<"),
        ("50元以下的发票", "50", "<="),
        ("发票40块都不到", "40", "<"),
        ("不超过50元", "50", "<="),
        ("五十多块", "50", ">"),
        ("100元以上", "100", ">="),
        ("至少60元", "60", ">="),
        ("发票 30 元", "30", "="),
        ("票面金额 60", "60", "="),
    ],
)
def test_amount_bounds(text: str, amount: str, relation: str) -> None:
    assert find_amount_bound(text) == (Decimal(amount), relation)


def test_bare_numbers_counts_and_order_ids() -> None:
    assert bare_number("30") == Decimal(30) and bare_number("三十") == Decimal(30) and bare_number("30元吧") is None
    assert find_count("已经有498个了") == 498 and find_count("建了三百个") == 300
    assert find_count("打一个镜像") is None and find_count("攒了好几百个") is None
    assert find_order_id("订单号 2026112012345678 能退吗") == "2026112012345678"
    assert find_order_id("订单号:abc-123456") == "abc-123456"
    assert find_order_id("2026年11月20日买的") is None


def test_yes_no_and_word_matching() -> None:
    yes, no = ["是", "对", "都满足"], ["不", "没有", "还没", "还有"]
    assert yes_no("是的", yes, no) is True and yes_no("还没有", yes, no) is False
    assert yes_no("还有一个", yes, no) is False and yes_no("hmm", yes, no) is None
    assert contains("超过三个月没给服务商提供项目资料", "没…资料")
    assert not contains("资料在这里，我们没问题，很多很多很多很多很多", "没…资料")
    assert contains("it is late", "late") and not contains("小程序是 template 吗", "late")


@given(st.text(max_size=80))
def test_extractors_never_raise_and_return_what_the_text_holds(text: str) -> None:
    for mention in find_dates(text, TODAY):
        assert mention.text and text[mention.start :].startswith(mention.text)
        assert mention.value is None or EARLIEST_DATE <= mention.value <= LATEST_DATE
    amount = find_amount(text)
    assert amount is None or (amount.is_finite() and amount >= 0)
    count = find_count(text)
    assert count is None or count >= 0
    order_id = find_order_id(text)
    assert order_id is None or order_id in text
    number = bare_number(text)
    assert number is None or (number.is_finite() and number >= 0)


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("3000000天前买的", date(2026, 11, 30)),
        ("99999999999999999999个月前", date(2026, 11, 30)),
        ("前天", date(2000, 1, 1)),
        ("1999年12月31日", date(2026, 11, 30)),
        ("第99999999999天", date(2026, 11, 30)),
    ],
)
def test_dates_outside_the_sane_range_are_invalid_not_an_overflow(text: str, today: date) -> None:
    found = find_dates(text, today)
    assert found and found[0].value is None


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("我10月买的SaaS", ("2026-10-01", "2026-10-31")),
        ("上个月买的镜像", ("2026-11-01", "2026-11-30")),
        ("2025年9月份买的", ("2025-09-01", "2025-09-30")),
        ("去年买的", ("2025-01-01", "2025-12-31")),
        ("这个月买的", ("2026-12-01", "2026-12-01")),  # runs until today
        ("十二月份买的", ("2026-12-01", "2026-12-01")),
        ("十一月份买的", ("2026-11-01", "2026-11-30")),
    ],
)
def test_a_month_without_a_day_is_a_range(text: str, span: tuple[str, str]) -> None:
    found = find_month_range(text, date(2026, 12, 1))
    assert found is not None and (found[0].isoformat(), found[1].isoformat()) == span


@pytest.mark.parametrize("text", ["11月3日买的", "3个月前买的", "买了3个月", "上个月5号买的", "提现多久到账"])
def test_a_day_or_a_duration_is_no_month_range(text: str) -> None:
    assert find_month_range(text, date(2026, 12, 1)) is None
