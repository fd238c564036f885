"""Benchmark the support lead's dashboard on generated conversations, on SQLite and on PostgreSQL.

For each backend: a fresh database (SQLite: a temporary file; PostgreSQL: a fresh schema in the database at
FAQBOT_BENCH_POSTGRES_URL, else FAQBOT_TEST_POSTGRES_URL), seeded with --conversations generated conversations over
--days Beijing days (bot/dashboard_seed.py, bulk inserts), then:
* the seeding time,
* each chart's query (bot/dashboard.py) --rounds times over the whole seeded range: p50 and p99 (with few rounds
  p99 is the slowest run),
* the whole dashboard through the API (GET /api/admin/dashboard as a signed-in admin, in process through
  Starlette's TestClient, no answer engine): p50 and p99.

PostgreSQL is analysed after seeding (VACUUM ANALYZE — what autovacuum does a minute later); SQLite is left as the
app leaves it. Usage: python bench/bench_dashboard.py [--conversations 100000] [--rounds 5] [--backends
sqlite,postgresql]. Not a test: read the numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import pct  # noqa: E402
from bot.dashboard import Dashboard, DashboardFilter  # noqa: E402
from bot.dashboard_seed import seed  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import Database  # noqa: E402

ADMIN_PASSWORD = "bench-admin-password"
END = date(2026, 11, 30)


def timed(fn: object, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def api_times(settings: Settings, f: DashboardFilter, rounds: int) -> list[float]:
    from fastapi.testclient import TestClient

    from bot.api import create_app

    client = TestClient(create_app(settings))
    page = client.get("/agent")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/agent/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": token.group(1)})
    url = f"/api/admin/dashboard?{f.query_string()}"
    assert client.get(url).status_code == 200  # warm

    def one() -> None:
        client.get(url).raise_for_status()

    return timed(one, rounds)


def run(backend: str, url: str | None, tmp: Path, n: int, days: int, rounds: int) -> None:
    db = Database(tmp / f"{backend}.sqlite3", url)
    t0 = time.perf_counter()
    seed(db, n, end=END, days=days, seed=7, chunk=5000)
    seeded = time.perf_counter() - t0
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    f = DashboardFilter(END - timedelta(days=days - 1), END)
    dash = Dashboard(db)
    print(f"\n{backend}: seeded {n} conversations over {days} days in {seeded:.1f} s")
    print(f"  {'chart':<14} {'p50 ms':>9} {'p99 ms':>9}")
    dash.charts(f)  # warm the caches
    for name in Dashboard.CHARTS:
        times = timed(lambda name=name: dash.chart(name, f), rounds)
        print(f"  {name:<14} {pct(times, 50):9.1f} {pct(times, 99):9.1f}")
    whole = timed(lambda: dash.charts(f), rounds)
    print(f"  {'all (queries)':<14} {pct(whole, 50):9.1f} {pct(whole, 99):9.1f}")
    settings = Settings(database_path=tmp / f"{backend}.sqlite3", database_url=url, index_dir=tmp / "index",
                        admin_password=SecretStr(ADMIN_PASSWORD), agent_password=SecretStr(ADMIN_PASSWORD),
                        login_limits_per_address="1000/minute")  # fmt: skip
    http = api_times(settings, f, rounds)
    print(f"  {'GET /api/admin/dashboard':<14} p50 {pct(http, 50):.1f} ms, p99 {pct(http, 99):.1f} ms")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    pg_base = os.environ.get("FAQBOT_BENCH_POSTGRES_URL") or os.environ.get("FAQBOT_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                run("sqlite", None, Path(tmp), args.conversations, args.days, args.rounds)
                continue
            if not pg_base:
                print("\npostgresql: skipped — set FAQBOT_BENCH_POSTGRES_URL (or FAQBOT_TEST_POSTGRES_URL); "
                      "`make services` starts one")  # fmt: skip
                continue
            schema = "bench_" + uuid.uuid4().hex[:10]
            admin = create_engine(pg_base)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            sep = "&" if "?" in pg_base else "?"
            try:
                run("postgresql", f"{pg_base}{sep}options=-csearch_path%3D{schema}", Path(tmp), args.conversations,
                    args.days, args.rounds)  # fmt: skip
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


if __name__ == "__main__":
    main()
