"""The support lead's dashboard: every chart's numbers on a hand-built set of conversations (expected values worked
out by hand below) and on a generated set (checked against a plain-Python count of the same rows), on SQLite and
PostgreSQL; the date and audience filters (Beijing days); the API's JSON, CSV (formula-safe), 422s and roles.

PostgreSQL comes from FAQBOT_TEST_POSTGRES_URL (`make test` starts it); without it those tests fail, saying so.
"""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.api import create_app
from bot.dashboard import (
    ANSWERED,
    BEIJING,
    LATENCY_BUCKETS_MS,
    QUESTION_KINDS,
    WAIT_BUCKETS_S,
    Dashboard,
    DashboardFilter,
    utc_start,
)
from bot.dashboard_seed import Bundle, Script, beijing, generate, insert_bundles
from bot.settings import PROJECT_ROOT, Settings
from bot.store import Database
from tests.helpers import login

ADMIN_PASSWORD = "admin-dashboard-password"
AGENT_PASSWORD = "agent-dashboard-password"
PG = pytest.param("postgresql", marks=[pytest.mark.backends, pytest.mark.integration])
HYPERLINK = '=HYPERLINK("http://evil.example/x","点我")'


# ------------------------------------------------------------------ databases


@pytest.fixture(params=["sqlite", PG])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    database = Database(tmp_path / "dashboard.sqlite3", url)
    yield database
    database.close()


# ------------------------------------------------------------------ the hand-built set


def scenario() -> list[Bundle]:
    """Nine conversations; the numbers each chart must show are worked out in the tests below."""
    ids = count(1)

    def conv(cid: str, day: date, hms: str, audience: str | None) -> Script:
        h, m, s = (int(x) for x in hms.split(":"))
        return Script(cid, beijing(day, h * 3600 + m * 60 + s), audience, ids)

    d28, d29, d30 = date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)
    c1 = conv("c1", d29, "10:00:00", "buyer")  # bot: answered, thumbs-up
    c1.turn("发票多久到", "faq", 10.0, helpful=True)
    c1.turn("能退款吗", "rule", 20.0)
    c2 = conv("c2", d29, "11:00:00", "buyer")  # abandoned: the bot fell back and the user left
    c2.turn(HYPERLINK, "fallback", 30.0)
    c3 = conv("c3", d29, "12:00:00", "provider")  # person: taken after 120 s, resolved by wang, rated 5
    c3.turn("发票多久到", "faq", 40.0, helpful=False)
    c3.ask_person()
    c3.take("wang", wait=120)
    c3.resolve("wang")
    c3.rate(5)
    c4 = conv("c4", d29, "13:00:00", None)  # abandoned: asked for a person, nobody came
    c4.turn("退款", "clarify", 50.0)
    c4.ask_person()
    c5 = conv("c5", d30, "00:30:00", "buyer")  # 2026-11-29T16:30Z: counts on 11-30; bot (thumbs-up resolved it)
    c5.turn("-1 怎么退", "fallback", 60.0)
    c5.turn("发票多久到", "faq", 70.0, helpful=True)
    c6 = conv("c6", d29, "23:59:59", "provider")  # 15:59:59Z: still 11-29; person after 300 s, rated 3
    c6.turn("@SUM(A1)", "fallback", 80.0)
    c6.ask_person()
    c6.take("li", wait=300)
    c6.resolve("auto:silence", after=1800)
    c6.rate(3)
    c7 = conv("c7", d30, "09:00:00", "buyer")  # bot: small talk
    c7.turn("你好", "smalltalk", 5.0)
    c8 = conv("c8", d28, "09:00:00", "buyer")  # person: taken after 60 s, rated 4, not resolved
    c8.turn("发票多久到", "faq", 15.0)
    c8.ask_person()
    c8.take("wang", wait=60)
    c8.rate(4)
    c9 = conv("c9", date(2026, 12, 1), "09:00:00", "provider")  # after the range
    c9.turn("发票多久到", "faq", 1000.0)
    assert c5.c["resolved_by"] == "auto:thumbs_up"
    return [s.b for s in (c1, c2, c3, c4, c5, c6, c7, c8, c9)]


RANGE = DashboardFilter(date(2026, 11, 28), date(2026, 11, 30))


@pytest.fixture()
def seeded(db: Database) -> Dashboard:
    insert_bundles(db, scenario())
    return Dashboard(db)


def test_every_chart_on_the_hand_built_set(seeded: Dashboard) -> None:
    c = {name: chart.public() for name, chart in seeded.charts(RANGE).items()}
    assert c["volume"]["rows"] == [
        ["2026-11-28", 1, 0, 1, 0],
        ["2026-11-29", 5, 1, 2, 2],
        ["2026-11-30", 2, 2, 0, 0],
    ]
    assert c["volume"]["summary"] == {"conversations": 8}
    assert c["outcomes"]["rows"] == [["bot", 3, 0.375], ["person", 3, 0.375], ["abandoned", 2, 0.25]]
    assert c["quality"]["rows"] == [
        ["2026-11-28", 2, 0, 0, 0.0, 0.0],
        ["2026-11-29", 9, 2, 1, 0.2222, 0.1111],
        ["2026-11-30", 3, 1, 0, 0.3333, 0.0],
    ]
    assert c["quality"]["summary"] == {"bot_replies": 14, "fallbacks": 3, "clarifies": 1, "fallback_rate": 0.2143,
                                       "clarify_rate": 0.0714}  # fmt: skip
    assert c["handoffs"]["rows"] == [["2026-11-28", 1, 1], ["2026-11-29", 3, 2], ["2026-11-30", 0, 0]]
    assert c["handoffs"]["summary"] == {"requested": 4, "taken": 3, "taken_share": 0.75}
    # waits 60, 120, 300 s: nearest-rank median is the 2nd, p90 the 3rd
    assert c["waits"]["summary"] == {"taken": 3, "median_wait_s": 120.0, "p90_wait_s": 300.0}
    assert [r[1] for r in c["waits"]["rows"]] == [0, 1, 1, 1, 0, 0]
    assert c["waits"]["rows"][0][0] == "<60" and c["waits"]["rows"][-1][0] == ">=1800"
    assert c["feedback"]["rows"] == [["2026-11-28", 0, 0], ["2026-11-29", 1, 1], ["2026-11-30", 1, 0]]
    assert c["feedback"]["summary"] == {"thumbs_up": 2, "thumbs_down": 1, "up_share": 0.6667}
    assert c["csat"]["rows"] == [[1, 0], [2, 0], [3, 1], [4, 1], [5, 1]]
    assert c["csat"]["summary"] == {"ratings": 3, "average": 4.0, "satisfied_share": 0.6667}
    # 14 latencies: 2 2 2 2 5 10 15 20 30 40 50 60 70 80 → p50 the 7th (15), p99 the 14th (80)
    assert c["latency"]["summary"] == {"replies": 14, "p50_ms": 15.0, "p99_ms": 80.0}
    assert [r[1] for r in c["latency"]["rows"]] == [5, 2, 3, 4, 0, 0, 0]
    assert c["top_questions"]["rows"] == [
        ["发票多久到", 4, 0.4444],
        ["-1 怎么退", 1, 0.1111],
        [HYPERLINK, 1, 0.1111],
        ["@SUM(A1)", 1, 0.1111],
        ["能退款吗", 1, 0.1111],
        ["退款", 1, 0.1111],
    ]
    assert c["top_questions"]["summary"] == {"questions": 9}
    assert c["top_misses"]["rows"] == [["-1 怎么退", 1, 0.3333], [HYPERLINK, 1, 0.3333], ["@SUM(A1)", 1, 0.3333]]
    # one chart alone says the same as the whole dashboard
    assert seeded.chart("outcomes", RANGE).public() == c["outcomes"]


def test_a_conversation_counts_on_the_beijing_day_it_started(seeded: Dashboard) -> None:
    last_day = seeded.chart("volume", DashboardFilter(date(2026, 11, 30), date(2026, 11, 30)))
    assert last_day.rows == [["2026-11-30", 2, 2, 0, 0]]  # c5 (16:30Z the day before) and c7, not c6 (15:59:59Z)
    one_day = seeded.chart("volume", DashboardFilter(date(2026, 11, 29), date(2026, 11, 29)))
    assert one_day.summary == {"conversations": 5}
    nothing = seeded.charts(DashboardFilter(date(2026, 10, 1), date(2026, 10, 3)))
    assert nothing["volume"].summary == {"conversations": 0} and nothing["latency"].summary["p50_ms"] is None
    assert nothing["waits"].summary["median_wait_s"] is None and nothing["csat"].summary["average"] is None
    assert nothing["outcomes"].rows == [["bot", 0, None], ["person", 0, None], ["abandoned", 0, None]]


def test_the_audience_filter(seeded: Dashboard) -> None:
    buyer = seeded.charts(DashboardFilter(RANGE.start, RANGE.end, "buyer"))
    assert buyer["outcomes"].rows == [["bot", 3, 0.6], ["person", 1, 0.2], ["abandoned", 1, 0.2]]
    assert buyer["handoffs"].summary["requested"] == 1 and buyer["waits"].summary["median_wait_s"] == 60.0
    provider = seeded.charts(DashboardFilter(RANGE.start, RANGE.end, "provider"))
    assert provider["volume"].summary == {"conversations": 2}  # c3, c6 (c9 is after the range)
    assert provider["csat"].summary == {"ratings": 2, "average": 4.0, "satisfied_share": 0.5}
    unknown = seeded.charts(DashboardFilter(RANGE.start, RANGE.end, "none"))
    assert unknown["outcomes"].rows == [["bot", 0, 0.0], ["person", 0, 0.0], ["abandoned", 1, 1.0]]
    assert unknown["top_questions"].rows == [["退款", 1, 1.0]]


# ------------------------------------------------------------------ a generated set against plain Python


def nearest_rank(values: list[float], p: int) -> float | None:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1] if ordered else None


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def expected(bundles: list[Bundle], f: DashboardFilter) -> dict[str, Any]:
    """The charts' numbers counted in Python, one conversation at a time, from the same rows."""
    days: Counter[tuple[str, str]] = Counter()
    replies: Counter[str] = Counter()
    questions: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    latencies, waits, scores = [], [], []
    thumbs = Counter()
    requested = taken = 0
    for b in bundles:
        c = b.conversation
        day = at(c["created_at"]).astimezone(BEIJING).date()
        if not f.start <= day <= f.end or (f.audience and (c["audience"] or "none") != f.audience):
            continue
        bots = [m for m in b.messages if m["role"] == "bot"]
        by_account = c["resolved_by"] is not None and not c["resolved_by"].startswith("auto:")
        if any(h["state"] == "agent" for h in b.handoffs) or by_account:
            outcome = "person"
        elif c["resolved_by"] == "auto:thumbs_up":
            outcome = "bot"
        elif any(h["state"] == "requested" for h in b.handoffs):
            outcome = "abandoned"
        else:
            outcome = "bot" if bots and bots[-1]["kind"] in ANSWERED else "abandoned"
        days[(day.isoformat(), outcome)] += 1
        replies.update(m["kind"] for m in bots)
        latencies += [m["latency_ms"] for m in bots if m["latency_ms"] is not None]
        by_id = {m["id"]: m for m in b.messages}
        for m in bots:
            user = by_id.get(m["id"] - 1)
            if user is not None and user["role"] == "user" and m["kind"] in QUESTION_KINDS:
                questions[user["text"]] += 1
                if m["kind"] == "fallback":
                    misses[user["text"]] += 1
        asks = [h["created_at"] for h in b.handoffs if h["state"] == "requested"]
        if asks:
            requested += 1
            takes = [h["created_at"] for h in b.handoffs if h["state"] == "agent" and h["created_at"] >= min(asks)]
            if takes:
                taken += 1
                waits.append((at(min(takes)) - at(min(asks))).total_seconds())
        thumbs.update("up" if r["helpful"] else "down" for r in b.feedback)
        if b.csat is not None:
            scores.append(b.csat["score"])
    top = sorted(questions.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    top_misses = sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "volume": [
            [d.isoformat(), *(days[(d.isoformat(), o)] for o in ("bot", "person", "abandoned"))] for d in f.days
        ],
        "replies": sum(replies.values()),
        "fallbacks": replies["fallback"],
        "clarifies": replies["clarify"],
        "p50_ms": nearest_rank(latencies, 50),
        "p99_ms": nearest_rank(latencies, 99),
        "latency_histogram": [
            sum(lo <= v < hi for v in latencies)
            for lo, hi in zip((0, *LATENCY_BUCKETS_MS), (*LATENCY_BUCKETS_MS, math.inf), strict=True)
        ],
        "requested": requested,
        "taken": taken,
        "median_wait_s": nearest_rank(waits, 50),
        "wait_histogram": [
            sum(lo <= v < hi for v in waits)
            for lo, hi in zip((0, *WAIT_BUCKETS_S), (*WAIT_BUCKETS_S, math.inf), strict=True)
        ],
        "thumbs_up": thumbs["up"],
        "thumbs_down": thumbs["down"],
        "csat": [scores.count(s) for s in range(1, 6)],
        "top_questions": [[q, n] for q, n in top],
        "top_misses": [[q, n] for q, n in top_misses],
        "questions": sum(questions.values()),
    }


@pytest.mark.parametrize("audience", [None, "buyer", "none"])
def test_a_generated_set_matches_a_count_in_python(db: Database, audience: str | None) -> None:
    bundles = list(generate(400, end=date(2026, 11, 30), days=12, seed=3))
    insert_bundles(db, bundles, chunk=150)  # several chunks
    f = DashboardFilter(date(2026, 11, 21), date(2026, 11, 29), audience)  # leaves days out at both ends
    want = expected(bundles, f)
    got = Dashboard(db).charts(f)
    assert [[r[0], *r[2:]] for r in got["volume"].rows] == want["volume"]
    assert sum(r[1] for r in want["volume"]) > 20
    s = got["quality"].summary
    assert (s["bot_replies"], s["fallbacks"], s["clarifies"]) == (want["replies"], want["fallbacks"], want["clarifies"])
    assert got["latency"].summary == {"replies": want["replies"] - 0, "p50_ms": want["p50_ms"],
                                      "p99_ms": want["p99_ms"]}  # fmt: skip
    assert [r[1] for r in got["latency"].rows] == want["latency_histogram"]
    h = got["handoffs"].summary
    assert (h["requested"], h["taken"]) == (want["requested"], want["taken"]) and want["taken"] >= 3
    assert got["waits"].summary["median_wait_s"] == pytest.approx(want["median_wait_s"], abs=0.11)
    assert [r[1] for r in got["waits"].rows] == want["wait_histogram"]
    fb = got["feedback"].summary
    assert (fb["thumbs_up"], fb["thumbs_down"]) == (want["thumbs_up"], want["thumbs_down"])
    assert [r[1] for r in got["csat"].rows] == want["csat"]
    assert [r[:2] for r in got["top_questions"].rows] == want["top_questions"]
    assert got["top_questions"].summary["questions"] == want["questions"]
    assert [r[:2] for r in got["top_misses"].rows] == want["top_misses"]


def test_seeding_continues_after_existing_rows(db: Database) -> None:
    """A second seed goes after the first (message ids, PostgreSQL's sequences), and the app can still write."""
    from bot.dashboard_seed import seed
    from bot.store import ConversationStore

    seed(db, 20, end=date(2026, 11, 30), days=3, seed=1)
    seed(db, 20, end=date(2026, 11, 30), days=3, seed=2)
    store = ConversationStore(db)
    user_id, bot_id = store.record_turn("after-seed", "你好", "您好", kind="smalltalk", score=1.0, latency_ms=1.0,
                                        reply={}, state={})  # fmt: skip
    assert bot_id == user_id + 1 and store.add_feedback(bot_id, "after-seed", True, None) > 0
    totals = Dashboard(db).chart("volume", DashboardFilter(date(2026, 11, 28), date(2026, 11, 30))).summary
    assert totals == {"conversations": 40}


# ------------------------------------------------------------------ the API


@pytest.fixture()
def app(tmp_path: Path) -> FastAPI:
    """The web app on a fresh SQLite file, without its lifespan: the dashboard needs no answer engine."""
    settings = Settings(
        index_dir=tmp_path / "index", database_path=tmp_path / "faqbot.sqlite3",
        admin_password=SecretStr(ADMIN_PASSWORD), agent_password=SecretStr(AGENT_PASSWORD),
        login_limits_per_address="1000/minute",
    )  # fmt: skip
    application = create_app(settings)
    insert_bundles(application.state.storage.db, scenario())
    return application


@pytest.fixture()
def admin(app: FastAPI) -> TestClient:
    client = TestClient(app)
    login(client, ADMIN_PASSWORD, "admin")
    return client


def test_the_api_gives_every_chart_and_the_page_renders(app: FastAPI, admin: TestClient) -> None:
    r = admin.get("/api/admin/dashboard?from=2026-11-28&to=2026-11-30")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filter"] == {"from": "2026-11-28", "to": "2026-11-30", "audience": None, "days": 3}
    assert list(body["charts"]) == list(Dashboard.CHARTS)
    assert body["charts"]["outcomes"]["rows"] == [["bot", 3, 0.375], ["person", 3, 0.375], ["abandoned", 2, 0.25]]
    buyer = admin.get("/api/admin/dashboard?from=2026-11-28&to=2026-11-30&audience=buyer").json()
    assert buyer["charts"]["volume"]["summary"] == {"conversations": 5}
    page = admin.get("/agent/dashboard")
    assert page.status_code == 200 and "数据看板" in page.text
    version = (PROJECT_ROOT / "web" / "node_modules" / "echarts" / "package.json").read_text()
    assert '<script src="/vendor/echarts-' in page.text and "cdn" not in page.text.lower()
    src = page.text.split('<script src="')[1].split('"')[0]
    script = admin.get(src)
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in script.headers["cache-control"] and len(script.content) > 500_000
    assert f'"version": "{src.split("echarts-")[1].removesuffix(".min.js")}"' in version
    assert admin.get("/vendor/echarts-0.0.1.min.js").status_code == 404


def test_csv_is_formula_safe_and_named(admin: TestClient) -> None:
    r = admin.get("/api/admin/dashboard/top_questions.csv?from=2026-11-28&to=2026-11-30&audience=")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="faqbot-top_questions-2026-11-28-2026-11-30.csv"'
    rows = list(csv.reader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert rows[0] == ["question", "count", "share"]
    questions = [row[0] for row in rows[1:]]
    assert questions == ["发票多久到", "'-1 怎么退", "'" + HYPERLINK, "'@SUM(A1)", "能退款吗", "退款"]
    assert not any(q.startswith(("=", "+", "-", "@")) for q in questions)
    misses = admin.get("/api/admin/dashboard/top_misses.csv?from=2026-11-28&to=2026-11-30&audience=provider")
    assert misses.headers["content-disposition"].endswith('-provider.csv"')
    assert list(csv.reader(io.StringIO(misses.text.removeprefix("\ufeff"))))[1:] == [["'@SUM(A1)", "1", "1.0"]]
    volume = admin.get("/api/admin/dashboard/volume.csv?from=2026-11-28&to=2026-11-30").text
    assert volume.removeprefix("\ufeff").splitlines()[:2] == ["day,conversations,bot,person,abandoned",
                                                              "2026-11-28,1,0,1,0"]  # fmt: skip
    assert admin.get("/api/admin/dashboard/nothing.csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("from=2026-13-01&to=2026-12-01", "bad_date", "from=2026-13-01"),
        ("from=yesterday", "bad_date", "YYYY-MM-DD"),
        ("from=2026-11-30&to=2026-11-01", "bad_range", "晚于"),
        ("from=2024-01-01&to=2026-11-30", "bad_range", "366"),
        ("audience=robot", "bad_audience", "robot"),
        ("audience=" + "x" * 41, "invalid_request", ""),
    ],
)
def test_bad_filters_are_422_with_a_reason(admin: TestClient, query: str, code: str, words: str) -> None:
    for path in ("/api/admin/dashboard", "/api/admin/dashboard/volume.csv"):
        r = admin.get(f"{path}?{query}")
        assert r.status_code == 422, r.text
        assert r.json()["code"] == code and words in r.json()["message"]


def test_only_admins_see_the_dashboard(app: FastAPI, admin: TestClient) -> None:
    agent = TestClient(app)
    login(agent, AGENT_PASSWORD, "agent")
    for path in ("/api/admin/dashboard", "/api/admin/dashboard/volume.csv"):
        assert agent.get(path).status_code == 403
        assert TestClient(app).get(path).status_code == 401
    page = agent.get("/agent/dashboard")
    assert page.status_code == 403 and "管理员" in page.text and "<html" in page.text
    signed_out = TestClient(app).get("/agent/dashboard", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/agent"


def test_a_missing_chart_library_is_a_clear_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    web = tmp_path / "web"
    shutil.copytree(PROJECT_ROOT / "web", web, ignore=shutil.ignore_patterns("node_modules"))
    settings = Settings(index_dir=tmp_path / "index", database_path=tmp_path / "faqbot.sqlite3", web_dir=web,
                        admin_password=SecretStr(ADMIN_PASSWORD))  # fmt: skip
    client = TestClient(create_app(settings))
    login(client, ADMIN_PASSWORD, "admin")
    with caplog.at_level("ERROR"):
        page = client.get("/agent/dashboard")
    assert page.status_code == 200 and "/vendor/echarts" not in page.text  # the page says so itself (dashboard.js)
    assert "make web-deps" in caplog.text
    script = client.get("/vendor/echarts-6.1.0.min.js")
    assert script.status_code == 503 and "make web-deps" in script.text and "Traceback" not in script.text


def test_timestamps_are_the_stores_format() -> None:
    """The day bounds compare as strings: the seed writes what bot.store.now() writes."""
    from bot.dashboard_seed import stamp
    from bot.store import now

    assert len(stamp(datetime(2026, 11, 29, 16, 30, tzinfo=UTC))) == len(now())
    assert stamp(beijing(date(2026, 11, 30), 1800)) == "2026-11-29T16:30:00.000+00:00"
    assert beijing(date(2026, 11, 30), 0) == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert utc_start(date(2026, 11, 30)) == "2026-11-29T16:00:00" < stamp(beijing(date(2026, 11, 30), 0.001))


def test_every_word_the_page_script_uses_is_in_the_file() -> None:
    from bot.messages import load_messages

    words = load_messages(PROJECT_ROOT / "knowledge").dashboard
    script = (PROJECT_ROOT / "web" / "static" / "dashboard.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bT\.(\w+)", script)) | set(re.findall(r"\bsay\(\"(\w+)\"[,)]", script))
    used |= {f"series_{o}" for o in ("bot", "person", "abandoned")} | {f"chart_{name}" for name in Dashboard.CHARTS}
    used |= {f"bucket_{unit}{end}" for unit in ("ms", "min") for end in ("", "_lt", "_ge")}
    assert len(used) >= 40 and used <= set(words), used - set(words)
