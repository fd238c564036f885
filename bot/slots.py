"""Slot extraction from Chinese chat text: dates, amounts, counts, order ids, yes/no.

Input is normalised text (NFKC, simplified characters, lower case: ``Normalizer.text``). Relative
dates ("昨天", "上周五", "3天前", "买了4天", "第6天") are resolved against an injected ``today``;
dates without a year are the most recent such day not after ``today`` (users ask about the past).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_CN_DIGITS = "零〇一二两三四五六七八九十百千万"
_NUM = rf"(?:\d+|[{_CN_DIGITS}]+)"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAYS.update({str(i): i - 1 for i in range(1, 8)})
_WEEK = r"(?:周|星期|礼拜|个星期|个礼拜)"
# Dates outside this range are not about a marketplace order (and near the ends of the calendar, date arithmetic
# overflows): a slot outside it is "not a valid date", a context date outside it is refused.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
_EN_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def cn_number(text: str) -> int | None:
    """'12' → 12, '十二' → 12, '两' → 2, '三十' → 30; None if it is not a number."""
    if text.isdigit():
        return int(text)
    import cn2an  # lazy: ~70 ms import, only needed for Chinese numerals

    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return int(value) if float(value).is_integer() else None


@dataclass(frozen=True)
class DateMention:
    """A date found in text; ``value`` is None when the text names a day that does not exist (2月30日)."""

    value: date | None
    text: str
    start: int


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _recent(today: date, month: int, day: int) -> date | None:
    """Month/day without a year: this year's, or last year's if this year's is still ahead."""
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year <= today:
        return this_year
    if month == 2 and day == 29:  # the most recent 29 February
        year = today.year - 1
        while not calendar.isleap(year):
            year -= 1
        return date(year, 2, 29)
    last_year = _safe_date(today.year - 1, month, day)
    return last_year if this_year is not None or last_year is not None else None


def _month_back(today: date, months: int, day: int) -> date | None:
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return _safe_date(y, m + 1, day)


_DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"), "ymd"),
    (re.compile(rf"(?<![\d{_CN_DIGITS}])({_NUM})\s*月\s*({_NUM})\s*[日号]?"), "md"),
    (re.compile(r"(?<![\d.\-/])(\d{1,2})\s*[./]\s*(\d{1,2})(?![\d.%]|\s*(?:元|块|万|折|个|倍|版|g|m|k))"), "md"),
    (re.compile(rf"(上上|上|本|这)\s*个?\s*月\s*({_NUM})\s*[日号]"), "month_rel"),
    (
        re.compile(
            r"(?<![a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*(\d{1,2})(?:st|nd|rd|th)?(?!\d)"
        ),
        "en_md",
    ),
    (re.compile(r"双(十一|十二|11|12)"), "shopping_day"),
    (re.compile(r"大前天|前天|昨天|昨日|昨儿|昨晚|今天|今日|今儿|今早|刚刚|刚才"), "named"),
    (re.compile(rf"({_NUM}|半)\s*(天|日|周|个?星期|个?礼拜|个?月|年)\s*(?:之|以)?前"), "ago"),
    # "买了两个月了", "买了快半年了": time since the purchase (not "买了3个月的套餐", a plan's length)
    (
        re.compile(
            rf"(?:买|购买|下单|下的单|付款|支付)了?\s*(?:快|差不多|大概|将近|有)?\s*({_NUM}|半)\s*"
            r"(周|个?星期|个?礼拜|个?月|年)多?\s*了"
        ),
        "ago",
    ),
    (re.compile(rf"(?:买|购买|下单|下的单|付款|支付|申请|提交|交付)了?\s*({_NUM})\s*天"), "days_since"),
    (re.compile(rf"第\s*({_NUM})\s*天"), "day_n"),
    (re.compile(r"(上上|上|本|这)\s*(?:个)?(?:周|星期|礼拜)\s*([一二三四五六日天末1-7])"), "week_rel"),
    (re.compile(r"(?<![上本这])(?:周|星期|礼拜)\s*([一二三四五六日天1-7])"), "weekday"),
    (re.compile(rf"(?<![\d月{_CN_DIGITS}])(\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})\s*号"), "day_only"),
]


def _resolve(kind: str, m: re.Match[str], today: date) -> date | None:
    g = m.groups()
    if kind == "ymd":
        return _safe_date(int(g[0]), int(g[1]), int(g[2]))
    if kind == "md":
        month, day = cn_number(g[0]), cn_number(g[1])
        if month is None or day is None or not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return _recent(today, month, day)
    if kind == "shopping_day":
        month = 11 if g[0] in ("十一", "11") else 12
        return _recent(today, month, month)
    if kind == "en_md":
        month = _EN_MONTHS.index(g[0]) + 1
        return _recent(today, month, int(g[1])) if 1 <= int(g[1]) <= 31 else None
    if kind == "month_rel":
        day = cn_number(g[1])
        back = {"上上": 2, "上": 1}.get(g[0], 0)
        return _month_back(today, back, day) if day else None
    if kind == "named":
        offset = {"大前天": 3, "前天": 2, "昨天": 1, "昨日": 1, "昨儿": 1, "昨晚": 1}.get(m.group(0), 0)
        return today - timedelta(days=offset)
    if kind == "ago":
        n = 0.5 if g[0] == "半" else cn_number(g[0])
        if n is None:
            return None
        unit = g[1]
        if unit in ("天", "日"):
            return today - timedelta(days=int(n))
        if unit == "年":
            return _month_back(today, int(12 * n), min(today.day, 28))
        if "月" in unit:
            if n == 0.5:
                return today - timedelta(days=15)
            return _month_back(today, int(n), today.day) or today - timedelta(days=int(30 * n))
        return today - timedelta(days=int(7 * n))
    if kind == "days_since":
        n = cn_number(g[0])
        return today - timedelta(days=n) if n is not None else None
    if kind == "day_n":
        n = cn_number(g[0])
        return today - timedelta(days=n - 1) if n else None
    if kind == "week_rel":
        back = {"上上": 2, "上": 1}.get(g[0], 0)
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=back)
        return monday + timedelta(days=_WEEKDAYS[g[1]])
    if kind == "weekday":
        delta = (today.weekday() - _WEEKDAYS[g[0]]) % 7
        return today - timedelta(days=delta)
    if kind == "day_only":
        day = cn_number(g[0])
        if not day or day > 31:
            return None
        return _safe_date(today.year, today.month, day) if day <= today.day else _month_back(today, 1, day)
    raise ValueError(kind)


def _bounded(kind: str, m: re.Match[str], today: date) -> date | None:
    """The resolved date, or None when it does not exist or lies outside EARLIEST_DATE…LATEST_DATE
    ("3000000天前" would be before year 1)."""
    try:
        value = _resolve(kind, m, today)
    except (OverflowError, ValueError):
        return None
    return value if value is not None and EARLIEST_DATE <= value <= LATEST_DATE else None


def find_dates(text: str, today: date) -> list[DateMention]:
    """Dates in the order they appear; overlapping matches keep the earliest, longest one."""
    found: list[tuple[int, int, DateMention]] = []
    for pattern, kind in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            found.append((m.start(), m.end(), DateMention(_bounded(kind, m, today), m.group(0), m.start())))
    return [d for _, _, d in sorted(found, key=lambda t: t[0])]


_NO_DAY = r"(?!\s*(?:\d|[零〇一二两三四五六七八九十]+\s*[日号]))"  # "10月" but not "10月3日" (a date)
_MONTH_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?<!\d)(\d{{4}})\s*年\s*(\d{{1,2}}|[一二三四五六七八九十]{{1,3}})\s*月(?:份)?{_NO_DAY}"), "ym"),
    (
        re.compile(rf"(?<![\d年{_CN_DIGITS}个])(\d{{1,2}}|[一二三四五六七八九十]{{1,3}})\s*月(?:份)?{_NO_DAY}(?!前)"),
        "m",
    ),
    (re.compile(rf"(上上|上|本|这)\s*个?\s*月(?:份)?{_NO_DAY}"), "rel"),
    (re.compile(r"去年"), "last_year"),
]


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def find_month_range(text: str, today: date) -> tuple[date, date] | None:
    """The first month (or year) named without a day: "10月买的", "上个月", "2026年9月份", "去年" → its first and
    last day (a month without a year is the most recent one not after ``today``). None if there is none."""
    found: list[tuple[int, tuple[date, date]]] = []
    for pattern, kind in _MONTH_PATTERNS:
        for m in pattern.finditer(text):
            span: tuple[date, date] | None = None
            if kind == "last_year":
                span = date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
            elif kind == "rel":
                back = {"上上": 2, "上": 1}.get(m.group(1), 0)
                y, mo = divmod(today.year * 12 + today.month - 1 - back, 12)
                span = _month_span(y, mo + 1)
            else:
                month = cn_number(m.group(2) if kind == "ym" else m.group(1))
                if month is None or not 1 <= month <= 12:
                    continue
                year = int(m.group(1)) if kind == "ym" else today.year - (month > today.month)
                if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
                    continue
                span = _month_span(year, month)
            if span[0] <= today:  # a purchase lies in the past: "这个月" runs until today
                found.append((m.start(), (span[0], min(span[1], today))))
    return min(found, key=lambda f: f[0])[1] if found else None


_AMOUNT = [
    re.compile(r"[¥￥]\s*(\d+(?:\.\d+)?)"),
    re.compile(r"(\d+(?:\.\d+)?)\s*多?\s*(?:元|块|rmb|人民币|yuan)"),  # "30多块": find_amount_bound reads the 多
    re.compile(rf"([{_CN_DIGITS}点]+?)多?\s*(?:元|块)"),
    re.compile(r"(?:金额|面额|票面|开了|开的)\s*(?:是|为|有|只有|才)?\s*(\d+(?:\.\d+)?)"),
]


def _amount_match(text: str) -> tuple[Decimal, int, int, int] | None:
    """The first money amount, with where its number starts and ends and where its match (unit included) ends."""
    for pattern in _AMOUNT:
        m = pattern.search(text)
        if m is None:
            continue
        raw = m.group(1)
        if raw[0].isdigit():
            try:
                return Decimal(raw), m.start(1), m.end(1), m.end()
            except InvalidOperation:
                continue
        import cn2an

        try:
            return Decimal(str(cn2an.cn2an(raw, "smart"))), m.start(1), m.end(1), m.end()
        except (ValueError, KeyError, IndexError, TypeError, InvalidOperation):
            continue
    return None


def find_amount(text: str) -> Decimal | None:
    """The first money amount: '30元', '三十块', '¥49.9', '票面金额 60'."""
    found = _amount_match(text)
    return found[0] if found else None


# A bound instead of an amount: "不到30块" is below 30, "30元以上" at least 30. Longer words first ("不超过" before
# "超过"). "<" below, "<=" at most, ">" above, ">=" at least.
_BOUND_BEFORE = (
    ("不超过", "<="), ("没超过", "<="), ("未超过", "<="), ("最多", "<="), ("顶多", "<="),
    ("不低于", ">="), ("不少于", ">="), ("不小于", ">="), ("至少", ">="), ("起码", ">="),
    ("没有到", "<"), ("没到", "<"), ("不到", "<"), ("不足", "<"), ("不满", "<"), ("未满", "<"), ("低于", "<"),
    ("少于", "<"), ("小于", "<"), ("超过", ">"), ("高于", ">"), ("大于", ">"), ("多于", ">"), ("超出", ">"),
)  # fmt: skip
_AFTER_RELATION = {"以下": "<=", "以内": "<=", "之内": "<=", "之下": "<=", "以上": ">=", "之上": ">=",
                   "都不到": "<", "不到": "<", "不足": "<", "出头": ">"}  # fmt: skip
_BOUND_AFTER = re.compile(r"\s*(?:钱)?\s*(" + "|".join(sorted(_AFTER_RELATION, key=len, reverse=True)) + ")")


def find_amount_bound(text: str) -> tuple[Decimal, str] | None:
    """The first money amount and how the message relates the real amount to it: "=" (it is that amount), "<",
    "<=", ">" or ">=" ("不到30块", "30元以下", "三十多块")."""
    found = _amount_match(text)
    if found is None:
        return None
    amount, start, number_end, end = found
    before = re.sub(r"[\s¥￥]|人民币|金额|面额|票面|是|为|只有|才|的", "", text[max(0, start - 8) : start])
    for word, relation in _BOUND_BEFORE:
        if before.endswith(word):
            return amount, relation
    if text[number_end : number_end + 1] in ("多", "几"):
        return amount, ">"
    after = _BOUND_AFTER.match(text, end)
    if after is not None:
        return amount, _AFTER_RELATION[after.group(1)]
    return amount, "="


def bare_number(text: str) -> Decimal | None:
    """A reply that is just a number ('30', '三十', '30.5')."""
    s = text.strip().rstrip("。.!！")
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return Decimal(s)
    if s and re.fullmatch(rf"[{_CN_DIGITS}]+", s):
        n = cn_number(s)
        return Decimal(n) if n is not None else None
    return None


# "已经有498个", "建了三百个": a count the user has, not "打一个镜像"
_COUNT = re.compile(
    r"(?:有|了|建|创建|做|用|共|攒|存)\s*(\d+|[一二两三四五六七八九十][零〇一二两三四五六七八九十百千万]*)\s*(?:个|张|份)"
)


def find_count(text: str) -> int | None:
    m = _COUNT.search(text)
    return cn_number(m.group(1)) if m else None


_ORDER_ID = [
    re.compile(
        r"(?:订单号|订单编号|订单id|订单|单号|order\s*(?:id|no)?)\s*(?:是|为)?\s*[:：#]?\s*([a-z0-9][a-z0-9\-]{5,31})"
    ),
    re.compile(r"(?<![\d\-/.])(\d{10,24})(?!\d)"),
]


def find_order_id(text: str) -> str | None:
    for pattern in _ORDER_ID:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return None


GAP = "…"
_GAP_CHARS = 10


_LATIN = re.compile(r"[a-z0-9' ]+")


@lru_cache(maxsize=4096)
def _gap_pattern(word: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in word.split(GAP)]
    pattern = f".{{0,{_GAP_CHARS}}}?".join(parts)
    if _LATIN.fullmatch(word.replace(GAP, "")):  # English words match whole words only ("late" ≠ "template")
        pattern = rf"(?<![a-z]){pattern}(?![a-z])"
    return re.compile(pattern)


def _needs_pattern(word: str) -> bool:
    return GAP in word or (word[:1].isascii() and word[:1].isalpha() and len(word) > 1)


def contains(text: str, word: str) -> bool:
    """``word`` occurs in ``text``; "A…B" means A, then B within a few characters ("没…资料")."""
    if _needs_pattern(word):
        return _gap_pattern(word).search(text) is not None
    return word in text


def find_word(text: str, word: str) -> int:
    """Where ``word`` (possibly "A…B") starts in ``text``, or -1."""
    if _needs_pattern(word):
        m = _gap_pattern(word).search(text)
        return m.start() if m else -1
    return text.find(word)


def find_any(text: str, words: Iterable[str]) -> str | None:
    """The first of ``words`` (in list order) that occurs in ``text``."""
    return next((w for w in words if contains(text, w)), None)


def yes_no(text: str, yes: Iterable[str], no: Iterable[str]) -> bool | None:
    """A short answer to a yes/no question: True, False, or None if it is neither."""
    s = re.sub(r"[\s。.!！,，~～]+", "", text)
    if not s:
        return None
    for w in sorted(no, key=len, reverse=True):
        if s.startswith(w) or s == w:
            return False
    for w in sorted(yes, key=len, reverse=True):
        if s.startswith(w) or s == w:
            return True
    return None
