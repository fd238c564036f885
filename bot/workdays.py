"""The Chinese working-day calendar: statutory holidays and adjusted working days from ``chinese-calendar``.

For a year the package does not cover yet (the State Council publishes each year's schedule late in
the year before), days fall back to Monday–Friday and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


@lru_cache(maxsize=1)
def covered_years() -> tuple[int, int]:
    """First and last year the holiday data covers."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


@dataclass
class WorkCalendar:
    """Working-day arithmetic; remembers which years it had to approximate."""

    approximated: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._first, self._last = covered_years()

    def is_workday(self, day: date) -> bool:
        if self._first <= day.year <= self._last:
            return bool(chinese_calendar.is_workday(day))
        self.approximated.add(day.year)
        return day.weekday() < 5

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself never counts; n = 0 returns ``start``)."""
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    @property
    def covered(self) -> tuple[int, int]:
        """First and last year the holiday data covers (outside them, Monday–Friday stands in)."""
        return self._first, self._last
