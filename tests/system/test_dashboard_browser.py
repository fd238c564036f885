"""The support lead's dashboard in Debian's Chromium: a real server (uvicorn, in a thread, without the answer
engine — the dashboard needs none) on a database seeded with a few thousand generated conversations; an admin
signs in, every chart renders with the API's numbers, the filters change them, ECharts comes from the project's
own origin, and screenshots at 1280 and 1024 px go to tests/artifacts/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from bot.api import create_app
from bot.dashboard import Dashboard, beijing_today
from bot.dashboard_seed import seed
from bot.settings import Settings
from tests.helpers import free_port
from tests.system.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "dashboard-admin-password"
DRAWN = [name for name in Dashboard.CHARTS if not name.startswith("top_")]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("dashboard")
    settings = Settings(index_dir=tmp / "index", database_path=tmp / "faqbot.sqlite3",
                        admin_password=SecretStr(ADMIN_PASSWORD), login_limits_per_address="1000/minute")  # fmt: skip
    app = create_app(settings)
    seed(app.state.storage.db, 3000, end=beijing_today(), days=45, seed=11)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def rendered(page: Any, loads: int) -> None:
    """Wait until the page finished its ``loads``-th load and every chart has drawn its data on a canvas."""
    page.wait_for_function(
        """([names, loads]) => {
          const d = window.__dashboard;
          if (!d || d.loads < loads || !d.data) return false;
          return names.every(n => d.charts[n] && d.charts[n].getOption().series.length > 0
                                  && document.querySelector('#chart-' + n + ' canvas'));
        }""",
        arg=[DRAWN, loads],
        timeout=30_000,
    )


def api(page: Any) -> dict[str, Any]:
    """The API's answer for the page's current filters (with the page's session)."""
    return page.evaluate(  # type: ignore[no-any-return]
        "async () => (await fetch('/api/admin/dashboard' + location.search)).json()"
    )


def kpi(page: Any, name: str) -> str:
    return str(page.locator(f"[data-kpi={name}] strong").inner_text())


def test_the_dashboard_renders_filters_and_exports(browser: Any, base: str) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai", locale="zh-CN")
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/agent")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/agent")
    page.goto(f"{base}/agent/dashboard")
    rendered(page, 1)

    data = api(page)
    charts = data["charts"]
    assert data["filter"]["days"] == 30 and data["filter"]["to"] == beijing_today().isoformat()
    total = charts["volume"]["summary"]["conversations"]
    assert total > 1000
    assert kpi(page, "conversations") == str(total)
    handoffs = charts["handoffs"]["summary"]
    assert kpi(page, "handoffs") == f"{handoffs['taken']} / {handoffs['requested']}"
    assert kpi(page, "bot_share") == f"{charts['outcomes']['summary']['bot_share'] * 100:.1f}%"
    p50 = charts["latency"]["summary"]["p50_ms"]
    assert kpi(page, "latency").startswith(f"{p50:.1f} ms")
    # what the charts draw is the API's data
    drawn = page.evaluate("() => window.__dashboard.charts.volume.getOption().series.map(s => s.data)")
    assert sum(sum(series) for series in drawn) == total
    pie = page.evaluate("() => window.__dashboard.charts.outcomes.getOption().series[0].data.map(d => d.value)")
    assert pie == [row[1] for row in charts["outcomes"]["rows"]]
    first = page.locator("#chart-top_questions tbody tr").first.locator("td").nth(1).inner_text()
    assert first == charts["top_questions"]["rows"][0][0]
    assert "中位数" in page.locator("#note-waits").inner_text()
    csv_link = page.locator("#csv-latency").get_attribute("href")
    assert csv_link == f"/api/admin/dashboard/latency.csv?from={data['filter']['from']}&to={data['filter']['to']}"
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # the audience filter
    page.select_option("#audience", "buyer")
    rendered(page, 2)
    buyers = api(page)
    assert buyers["filter"]["audience"] == "buyer" and "audience=buyer" in page.url
    assert 0 < buyers["charts"]["volume"]["summary"]["conversations"] < total
    assert kpi(page, "conversations") == str(buyers["charts"]["volume"]["summary"]["conversations"])

    # the date range: the last week only
    week = data["charts"]["volume"]["rows"][-7][0]
    page.fill("#from", week)
    page.click("#filters button[type=submit]")
    rendered(page, 3)
    recent = api(page)
    assert recent["filter"] == {"from": week, "to": data["filter"]["to"], "audience": "buyer", "days": 7}
    shown = recent["charts"]["volume"]["summary"]["conversations"]
    assert shown < buyers["charts"]["volume"]["summary"]["conversations"]
    assert kpi(page, "conversations") == str(shown)
    days = page.evaluate("() => window.__dashboard.charts.volume.getOption().xAxis[0].data")
    assert len(days) == 7 and days[-1] == data["filter"]["to"][5:]

    # the layout at 1024 px: the cards still side by side, nothing wider than the window
    page.select_option("#audience", "")
    rendered(page, 4)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024
    boxes = [page.locator(f"#card-{n}").bounding_box() for n in ("outcomes", "handoffs")]  # one row
    assert boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-1024.png"), full_page=True)

    # everything came from this server: ECharts too, no CDN
    assert requests and all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
    assert any(url.startswith(f"{base}/vendor/echarts-") for url in requests)
    assert page.evaluate("() => typeof window.echarts.init") == "function"
    assert not errors, errors
    assert not page.locator("#problem").is_visible()
    ctx.close()


def test_the_page_says_so_when_the_chart_library_is_missing(browser: Any, tmp_path: Path) -> None:
    """Without web/node_modules the page still shows its numbers and tells the admin what to run."""
    import shutil

    from bot.settings import PROJECT_ROOT

    web = tmp_path / "web"
    shutil.copytree(PROJECT_ROOT / "web", web, ignore=shutil.ignore_patterns("node_modules"))
    settings = Settings(index_dir=tmp_path / "index", database_path=tmp_path / "faqbot.sqlite3", web_dir=web,
                        admin_password=SecretStr(ADMIN_PASSWORD))  # fmt: skip
    app = create_app(settings)
    seed(app.state.storage.db, 50, end=beijing_today(), days=10, seed=5)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/agent")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"http://127.0.0.1:{port}/agent")
        page.goto(f"http://127.0.0.1:{port}/agent/dashboard")
        page.wait_for_function("() => window.__dashboard && window.__dashboard.loads >= 1")
        assert "make web-deps" in page.locator("#problem").inner_text()
        assert page.locator("[data-kpi=conversations] strong").inner_text() == "50"
        page.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
