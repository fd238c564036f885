"""The support lead's dashboard: every number computed in SQL (SQLAlchemy Core, the same statements on SQLite and
PostgreSQL) over the tables of :mod:`bot.store`.

Definitions
-----------
* **Which day a conversation counts on.** Timestamps are stored in UTC (``2026-11-30T08:15:30.123+00:00``); the
  project speaks Beijing time, so a conversation counts on the Beijing day it *started* (``conversations.created_at``
  + 8 h): one that started at 2026-11-29T17:00Z counts on 2026-11-30. Every chart covers the conversations that
  started in the range (and in the audience), and everything that happened in them — messages, feedback,
  hand-overs, ratings — counts with it, on its day, so the charts add up. The range's bounds are UTC strings
  (Beijing day D starts at ``D-1T16:00:00``), compared as strings (the stored format is fixed-width; the
  created_at index serves them). Daily series group in SQL by ``substr``: the UTC date, marked ``+`` when the UTC
  hour is 16 or later (that half belongs to the next Beijing day); the two halves of a Beijing day are added up
  when the rows are read (at most two groups a day — never a loop over conversations).
* **Outcome of a conversation**, one of three, decided in this order:

  - *person* — a person took it (an ``agent`` hand-over: taking it over, writing to it — which takes it — or
    an admin's assignment) or an account marked it resolved (``resolved_by`` an account, not ``auto:…``);
  - *bot* — else, the user's thumbs-up resolved it (``resolved_by = "auto:thumbs_up"``);
  - *abandoned* — else, the user asked for a person (a ``requested`` hand-over) and nobody took it, or the bot's last
    reply did not answer (``fallback``, ``clarify``, ``handoff``; or there is no bot reply at all);
  - *bot* — everything else: nobody asked for a person and the bot's last reply answered (``faq``, ``rule``,
    ``smalltalk``). ``auto:silence`` changes nothing here: it only closes what the above already decided.

* **Fallback and clarify rates**: the share of the bot's replies (role ``bot``) of kind ``fallback`` / ``clarify``.
* **Hand-overs**: conversations with a ``requested`` hand-over; *taken*: a person took it (an ``agent`` hand-over
  row — taking over, writing to it or an admin's assignment — at or after the first request). **Wait**: from the
  first request to the first such take, in seconds; untaken requests have no wait (they show as requested − taken).
* **Thumbs**: the ``feedback`` rows (one per rated reply). **CSAT**: the ``csat`` ratings (1–5, one per
  conversation); *satisfied* is the share of 4 and 5.
* **Top questions**: the user's text of each turn the bot answered or tried to (its reply ``faq``, ``rule``,
  ``clarify`` or ``fallback``; hand-over requests, small talk and offline messages are not questions), grouped by
  exact text. **Top misses**: the same for turns whose reply was a ``fallback``. The question of a reply is the
  message stored just before it in the same conversation (a turn is stored as one insert: user, then bot).
* **Percentiles** (latency p50/p99, median wait, over the whole filter) are *nearest-rank*, computed in SQL with
  window functions: the smallest value whose rank ``rn`` (``row_number()`` in value order) satisfies
  ``100·rn ≥ p·n`` — an actual stored value, the lower middle for a median of an even count. Their charts are
  histograms (buckets counted in SQL, in the same statement) with the percentiles written beside them.

Durations need the one dialect-specific piece: :class:`epoch_ms` renders ``strftime('%s')`` on SQLite and
``EXTRACT(EPOCH …)`` on PostgreSQL, both exact integer milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, String, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.sql.selectable import Select

from bot.errors import InvalidRequest
from bot.store import Database, conversations, csat, feedback, handoffs, messages

BEIJING = ZoneInfo("Asia/Shanghai")
UTC_OFFSET_HOURS = 8  # Beijing has no daylight saving time: a Beijing day is [D-1 16:00Z, D 16:00Z)
MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP = 10
AUDIENCES = ("buyer", "provider", "none")  # "none": the page did not say
ANSWERED = ("faq", "rule", "smalltalk")
QUESTION_KINDS = ("faq", "rule", "clarify", "fallback")
LATENCY_BUCKETS_MS = (10, 20, 50, 100, 200, 500)  # histogram edges: <10, 10–20, …, ≥500
WAIT_BUCKETS_S = (60, 120, 300, 600, 1800)  # <1 min, 1–2, 2–5, 5–10, 10–30, ≥30 min
OUTCOMES = ("bot", "person", "abandoned")
Audience = Literal["buyer", "provider", "none"]


# ---------------------------------------------------------------------------------------------- durations


class epoch_ms(FunctionElement[int]):  # a SQL function's name
    """Milliseconds since 1970 of a stored timestamp (``2026-11-30T08:15:30.123+00:00``), as an exact integer."""

    type = BigInteger()
    name = "epoch_ms"
    inherit_cache = True


@compiles(epoch_ms, "sqlite")
def _epoch_sqlite(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    stamp = compiler.process(element.clauses, **kw)  # whole seconds (the offset applied), then the milliseconds
    return f"(CAST(strftime('%s', {stamp}) AS INTEGER) * 1000 + CAST(substr({stamp}, 21, 3) AS INTEGER))"


@compiles(epoch_ms, "postgresql")
def _epoch_postgresql(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMPTZ)) * 1000 AS BIGINT)"


# ---------------------------------------------------------------------------------------------- the filter


def utc_start(day: date) -> str:
    """The first instant of the Beijing day ``day``, as the prefix of a stored UTC timestamp."""
    return f"{(day - timedelta(days=1)).isoformat()}T{24 - UTC_OFFSET_HOURS:02d}:00:00"


def beijing_today(now: datetime | None = None) -> date:
    return (now or datetime.now(BEIJING)).astimezone(BEIJING).date()


@dataclass(frozen=True)
class DashboardFilter:
    """Conversations that started from ``start`` to ``end`` (Beijing days, both included), of ``audience`` (None:
    every audience)."""

    start: date
    end: date
    audience: Audience | None = None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=k) for k in range((self.end - self.start).days + 1)]

    def public(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "audience": self.audience,
                "days": len(self.days)}  # fmt: skip

    def query_string(self) -> str:
        return f"from={self.start}&to={self.end}" + (f"&audience={self.audience}" if self.audience else "")


def parse_filter(
    start: str | None, end: str | None, audience: str | None, words: dict[str, str], today: date | None = None
) -> DashboardFilter:
    """The filter from query parameters (``YYYY-MM-DD``; empty: the last 30 days up to today; audience empty: all),
    or :class:`InvalidRequest` in the dashboard's words (``words``: messages.yaml's ``dashboard.errors``)."""
    today = today or beijing_today()

    def day(value: str | None, name: str, default: date) -> date:
        if not value:
            return default
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(words["bad_date"].format(name=name, value=value[:40]), code="bad_date") from None

    last = day(end, "to", today)
    first = day(start, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise InvalidRequest(words["from_after_to"].format(start=first, end=last), code="bad_range")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequest(words["range_too_long"].format(days=MAX_DAYS), code="bad_range")
    if audience and audience not in AUDIENCES:
        raise InvalidRequest(words["bad_audience"].format(value=audience[:40], allowed=", ".join(AUDIENCES)),
                             code="bad_audience")  # fmt: skip
    return DashboardFilter(first, last, audience or None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- charts


@dataclass
class Chart:
    """One chart's data: a table (``columns``, ``rows`` — what its CSV holds) and headline numbers."""

    columns: list[str]
    rows: list[list[Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows, "summary": self.summary}


def _share(part: int | float, whole: int | float) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(milliseconds: Any) -> float | None:
    return None if milliseconds is None else round(int(milliseconds) / 1000, 1)


def _half_day(stamp: Any) -> ColumnElement[str]:
    """``stamp``'s UTC date, with ``+`` when it falls in the half of that date that is the next Beijing day."""
    utc_date = func.substr(stamp, 1, 10, type_=String)
    late = func.substr(stamp, 12, 2, type_=String) >= f"{24 - UTC_OFFSET_HOURS:02d}"
    return case((late, utc_date + "+"), else_=utc_date)


def beijing_day(half_day: str) -> str:
    """The Beijing day of a :func:`_half_day` group."""
    utc_date = date.fromisoformat(half_day[:10])
    return (utc_date + timedelta(days=1) if half_day.endswith("+") else utc_date).isoformat()


def _started(f: DashboardFilter) -> Any:
    """The filter's conversations: ``cid``, ``half`` (see :func:`_half_day`), ``resolved_by``."""
    c = conversations.c
    stmt = select(c.id.label("cid"), _half_day(c.created_at).label("half"), c.resolved_by).where(
        c.created_at >= utc_start(f.start), c.created_at < utc_start(f.end + timedelta(days=1))
    )
    if f.audience == "none":
        stmt = stmt.where(c.audience.is_(None))
    elif f.audience is not None:
        stmt = stmt.where(c.audience == f.audience)
    return stmt.subquery("started")


def _daily(conn: Any, stmt: Select[Any], width: int) -> dict[str, list[int]]:
    """Rows (half-day, ``width`` counts…) added up per Beijing day."""
    out: dict[str, list[int]] = {}
    for row in conn.execute(stmt):
        sums = out.setdefault(beijing_day(row[0]), [0] * width)
        for k in range(width):
            sums[k] += int(row[k + 1] or 0)
    return out


def _distribution(conn: Any, values: Select[Any], ps: tuple[int, ...], edges: tuple[int | float, ...]) -> Any:
    """One pass over ``values``' column ``v``: the count, the nearest-rank percentiles ``ps`` (for each ``p`` the
    smallest ``v`` whose rank ``rn`` satisfies ``100·rn ≥ p·n``) and the histogram over ``edges`` (``v < edges[0]``,
    …, ``v ≥ edges[-1]``)."""
    sub = values.subquery()
    grouped = select(sub.c.v, func.count().label("k")).group_by(sub.c.v).subquery()  # each value once: fewer to rank
    ranked = select(
        grouped.c.v,
        grouped.c.k,
        func.sum(grouped.c.k).over(order_by=grouped.c.v).label("rn"),  # the rank of the value's last copy
        func.sum(grouped.c.k).over().label("n"),
    ).subquery()
    v, k = ranked.c.v, ranked.c.k
    picks = [func.min(case((ranked.c.rn * 100 >= p * ranked.c.n, v))) for p in ps]
    bounds = [None, *edges, None]
    buckets = [
        func.coalesce(
            func.sum(
                case((and_(*([v >= lo] if lo is not None else []), *([v < hi] if hi is not None else [])), k), else_=0)
            ),
            0,
        )
        for lo, hi in pairwise(bounds)
    ]
    row = conn.execute(select(func.coalesce(func.sum(k), 0), *picks, *buckets)).one()
    return int(row[0]), list(row[1 : 1 + len(ps)]), [int(k) for k in row[1 + len(ps) :]]


def _bucket_labels(edges: tuple[int | float, ...]) -> list[str]:
    """``<10``, ``10-20``, …, ``>=500``: the CSV's and the chart's bucket names (the page words them)."""
    return [f"<{edges[0]}", *(f"{a}-{b}" for a, b in pairwise(edges)), f">={edges[-1]}"]


def _with_outcome(started: Any) -> tuple[Any, ColumnElement[str]]:
    """``started`` joined to what decides each conversation's outcome (see the module's docstring), and the outcome:
    its hand-overs (2: a person took it; 1: only asked for one) and its last bot reply — aggregates joined once,
    rather than a probe per conversation (PostgreSQL hashes them; SQLite indexes them)."""
    m, h = messages.c, handoffs.c
    people = (
        select(h.conversation_id.label("cid"), func.max(case((h.state == "agent", 2), else_=1)).label("people"))
        .where(h.state.in_(("agent", "requested")))
        .group_by(h.conversation_id)
        .subquery("people")
    )
    last_kind = (  # one index probe per conversation (the covering index, newest bot reply first)
        select(m.kind)
        .where(m.conversation_id == started.c.cid, m.role == "bot")
        .order_by(m.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    joined = started.outerjoin(people, people.c.cid == started.c.cid)
    by_account = started.c.resolved_by.is_not(None) & ~started.c.resolved_by.startswith("auto:")
    outcome = case(
        ((people.c.people == 2) | by_account, "person"),
        (started.c.resolved_by == "auto:thumbs_up", "bot"),
        (people.c.people == 1, "abandoned"),
        (last_kind.in_(ANSWERED), "bot"),
        else_="abandoned",
    )
    return joined, outcome


class Dashboard:
    """The charts over one :class:`~bot.store.Database` (each call: one read connection, a few statements)."""

    CHARTS: tuple[str, ...] = (
        "volume", "quality", "outcomes", "handoffs", "waits", "feedback", "csat", "latency", "top_questions",
        "top_misses",
    )  # fmt: skip

    def __init__(self, db: Database) -> None:
        self.db = db

    def chart(self, name: str, f: DashboardFilter) -> Chart:
        if name not in self.CHARTS:
            raise KeyError(name)
        builder: Callable[[Any, DashboardFilter], Chart] = getattr(self, "_" + name)
        with self.db.read() as conn:
            return builder(conn, f)

    def charts(self, f: DashboardFilter) -> dict[str, Chart]:
        """Every chart (the outcome counts behind ``volume`` and ``outcomes``, and the questions behind
        ``top_questions`` and ``top_misses``, are queried once)."""
        with self.db.read() as conn:
            counts = self._by_outcome(conn, f)
            done = {"volume": _volume_of(counts, f), "outcomes": _outcomes_of(counts), **self._questions(conn, f)}
            return {name: done.get(name) or getattr(self, "_" + name)(conn, f) for name in self.CHARTS}

    # ------------------------------------------------------------------ conversations and outcomes

    def _by_outcome(self, conn: Any, f: DashboardFilter) -> dict[str, list[int]]:
        """Per Beijing day: conversations ending as each of OUTCOMES."""
        started = _started(f)
        joined, outcome = _with_outcome(started)
        each = select(started.c.half, outcome.label("outcome")).select_from(joined).subquery("each")
        stmt = select(each.c.half, each.c.outcome, func.count()).group_by(each.c.half, each.c.outcome)  # decided once
        out: dict[str, list[int]] = {}
        for half, kind, n in conn.execute(stmt):
            out.setdefault(beijing_day(half), [0] * len(OUTCOMES))[OUTCOMES.index(kind)] += int(n)
        return out

    def _volume(self, conn: Any, f: DashboardFilter) -> Chart:
        return _volume_of(self._by_outcome(conn, f), f)

    def _outcomes(self, conn: Any, f: DashboardFilter) -> Chart:
        return _outcomes_of(self._by_outcome(conn, f))

    # ------------------------------------------------------------------ the bot's replies

    def _quality(self, conn: Any, f: DashboardFilter) -> Chart:
        started = _started(f)
        m = messages.c
        stmt = (
            select(
                started.c.half,
                func.count(),
                func.count().filter(m.kind == "fallback"),
                func.count().filter(m.kind == "clarify"),
            )
            .select_from(started.join(messages, m.conversation_id == started.c.cid))
            .where(m.role == "bot")
            .group_by(started.c.half)
        )
        got = _daily(conn, stmt, 3)
        rows: list[list[Any]] = []
        for day in _day_keys(f):
            n, fb, cl = got.get(day, [0, 0, 0])
            rows.append([day, n, fb, cl, _share(fb, n), _share(cl, n)])
        n, fb, cl = (sum(r[k] for r in rows) for k in (1, 2, 3))
        return Chart(
            ["day", "bot_replies", "fallbacks", "clarifies", "fallback_rate", "clarify_rate"],
            rows,
            {"bot_replies": n, "fallbacks": fb, "clarifies": cl, "fallback_rate": _share(fb, n),
             "clarify_rate": _share(cl, n)},
        )  # fmt: skip

    def _latency(self, conn: Any, f: DashboardFilter) -> Chart:
        started = _started(f)
        m = messages.c
        latencies = (
            select(m.latency_ms.label("v"))
            .select_from(started.join(messages, m.conversation_id == started.c.cid))
            .where(m.role == "bot", m.latency_ms.is_not(None))
        )
        n, (p50, p99), counts = _distribution(conn, latencies, (50, 99), LATENCY_BUCKETS_MS)
        labels = _bucket_labels(LATENCY_BUCKETS_MS)
        rows: list[list[Any]] = [[label, k] for label, k in zip(labels, counts, strict=True)]
        return Chart(["latency_ms", "replies"], rows, {"replies": n, "p50_ms": p50, "p99_ms": p99})

    # ------------------------------------------------------------------ people

    def _asks(self, f: DashboardFilter) -> Any:
        """The filter's conversations with a hand-over request: ``half``, ``asked`` (the first request), ``took``
        (the first take at or after it, or NULL)."""
        started = _started(f)
        h = handoffs.c
        first_ask = (
            select(h.conversation_id.label("cid"), func.min(h.created_at).label("asked"))
            .where(h.state == "requested")
            .group_by(h.conversation_id)
            .subquery("first_ask")
        )
        taken = handoffs.alias("taken")
        first_take = (
            select(func.min(taken.c.created_at))
            .where(
                taken.c.conversation_id == first_ask.c.cid,
                taken.c.state == "agent",
                taken.c.created_at >= first_ask.c.asked,
            )
            .scalar_subquery()
        )
        return (
            select(started.c.half, first_ask.c.asked, first_take.label("took"))
            .select_from(started.join(first_ask, first_ask.c.cid == started.c.cid))
            .subquery("asks")
        )

    def _handoffs(self, conn: Any, f: DashboardFilter) -> Chart:
        asks = self._asks(f)
        got = _daily(conn, select(asks.c.half, func.count(), func.count(asks.c.took)).group_by(asks.c.half), 2)
        rows: list[list[Any]] = [[day, *got.get(day, [0, 0])] for day in _day_keys(f)]
        requested, took = sum(r[1] for r in rows), sum(r[2] for r in rows)
        return Chart(["day", "requested", "taken"], rows,
                     {"requested": requested, "taken": took, "taken_share": _share(took, requested)})  # fmt: skip

    def _waits(self, conn: Any, f: DashboardFilter) -> Chart:
        asks = self._asks(f)
        wait = (epoch_ms(asks.c.took) - epoch_ms(asks.c.asked)).label("v")
        waits = select(wait).where(asks.c.took.is_not(None))
        n, (p50, p90), counts = _distribution(conn, waits, (50, 90), tuple(edge * 1000 for edge in WAIT_BUCKETS_S))
        rows: list[list[Any]] = [[label, k] for label, k in zip(_bucket_labels(WAIT_BUCKETS_S), counts, strict=True)]
        return Chart(["wait_s", "conversations"], rows,
                     {"taken": n, "median_wait_s": _seconds(p50), "p90_wait_s": _seconds(p90)})  # fmt: skip

    def _feedback(self, conn: Any, f: DashboardFilter) -> Chart:
        started = _started(f)
        fb = feedback.c
        stmt = (
            select(started.c.half, func.count().filter(fb.helpful == 1), func.count().filter(fb.helpful == 0))
            .select_from(started.join(feedback, fb.conversation_id == started.c.cid))
            .group_by(started.c.half)
        )
        got = _daily(conn, stmt, 2)
        rows: list[list[Any]] = [[day, *got.get(day, [0, 0])] for day in _day_keys(f)]
        up, down = sum(r[1] for r in rows), sum(r[2] for r in rows)
        return Chart(["day", "thumbs_up", "thumbs_down"], rows,
                     {"thumbs_up": up, "thumbs_down": down, "up_share": _share(up, up + down)})  # fmt: skip

    def _csat(self, conn: Any, f: DashboardFilter) -> Chart:
        started = _started(f)
        joined = started.join(csat, csat.c.conversation_id == started.c.cid)
        stmt = select(csat.c.score, func.count()).select_from(joined).group_by(csat.c.score)
        got = {int(r[0]): int(r[1]) for r in conn.execute(stmt)}
        average = conn.execute(select(func.avg(csat.c.score)).select_from(joined)).scalar()
        rows: list[list[Any]] = [[score, got.get(score, 0)] for score in range(1, 6)]
        n = sum(got.values())
        satisfied = got.get(4, 0) + got.get(5, 0)
        return Chart(["score", "ratings"], rows,
                     {"ratings": n, "average": None if average is None else round(float(average), 2),
                      "satisfied_share": _share(satisfied, n)})  # fmt: skip

    # ------------------------------------------------------------------ questions

    def _questions(self, conn: Any, f: DashboardFilter, misses_only: bool = False) -> dict[str, Chart]:
        """``top_questions`` and ``top_misses`` from one statement: the range's questions grouped once by text (with
        how many were misses), each top ten picked by a rank over the groups, the totals by a sum over them."""
        started = _started(f)
        bot, user = messages.alias("b"), messages.alias("u")
        kinds = ("fallback",) if misses_only else QUESTION_KINDS
        grouped = (
            select(
                user.c.text.label("question"),
                func.count().label("n"),
                func.count().filter(bot.c.kind == "fallback").label("missed"),
            )
            .select_from(
                started.join(bot, bot.c.conversation_id == started.c.cid).join(
                    user, and_(user.c.id == bot.c.id - 1, user.c.conversation_id == bot.c.conversation_id)
                )
            )
            .where(bot.c.role == "bot", bot.c.kind.in_(kinds), user.c.role == "user")
            .group_by(user.c.text)
            .subquery("grouped")
        )
        g = grouped.c
        ranked = select(
            g.question,
            g.n,
            g.missed,
            func.row_number().over(order_by=(g.n.desc(), g.question)).label("q_rank"),
            func.row_number().over(order_by=(g.missed.desc(), g.question)).label("m_rank"),
            func.sum(g.n).over().label("q_total"),
            func.sum(g.missed).over().label("m_total"),
        ).subquery("ranked")
        r = ranked.c
        rows = conn.execute(select(ranked).where((r.q_rank <= TOP) | ((r.m_rank <= TOP) & (r.missed > 0)))).all()
        q_total = int(rows[0].q_total) if rows else 0
        m_total = int(rows[0].m_total) if rows else 0

        def top(count: str, rank: str, total: int) -> Chart:
            picked = sorted((row for row in rows if getattr(row, rank) <= TOP and getattr(row, count) > 0),
                            key=lambda row: getattr(row, rank))  # fmt: skip
            out: list[list[Any]] = [[str(x.question), int(getattr(x, count)), _share(int(getattr(x, count)), total)]
                                    for x in picked]  # fmt: skip
            return Chart(["question", "count", "share"], out, {"questions": total})

        return {"top_questions": top("n", "q_rank", q_total), "top_misses": top("missed", "m_rank", m_total)}

    def _top_questions(self, conn: Any, f: DashboardFilter) -> Chart:
        return self._questions(conn, f)["top_questions"]

    def _top_misses(self, conn: Any, f: DashboardFilter) -> Chart:
        return self._questions(conn, f, misses_only=True)["top_misses"]


def _volume_of(counts: dict[str, list[int]], f: DashboardFilter) -> Chart:
    rows: list[list[Any]] = []
    for day in _day_keys(f):
        got = counts.get(day, [0] * len(OUTCOMES))
        rows.append([day, sum(got), *got])
    return Chart(["day", "conversations", *OUTCOMES], rows, {"conversations": sum(r[1] for r in rows)})


def _outcomes_of(counts: dict[str, list[int]]) -> Chart:
    totals = [sum(got[k] for got in counts.values()) for k in range(len(OUTCOMES))]
    whole = sum(totals)
    rows: list[list[Any]] = [[o, n, _share(n, whole)] for o, n in zip(OUTCOMES, totals, strict=True)]
    return Chart(["outcome", "conversations", "share"], rows,
                 {"conversations": whole, **{f"{o}_share": _share(n, whole) for o, n in zip(OUTCOMES, totals,
                                                                                            strict=True)}})  # fmt: skip


def _day_keys(f: DashboardFilter) -> Iterator[str]:
    return (d.isoformat() for d in f.days)
