"""The order store: a real SQLite file in WAL mode, seeded with the demo orders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.errors import OrderError
from bot.orders import OrderInfo, OrderStore, read_demo_orders
from bot.settings import PROJECT_ROOT

DEMO = PROJECT_ROOT / "knowledge" / "demo_orders.yaml"


def test_wal_mode_seed_and_lookup(tmp_path: Path) -> None:
    store = OrderStore.open(tmp_path / "db" / "faqbot.sqlite3")
    assert store.db.journal_mode() == "wal"
    added = store.seed(DEMO)
    assert added == len(read_demo_orders(DEMO)) >= 5
    assert store.seed(DEMO) == 0  # only into an empty table
    order = store.get("2026100900004")
    assert order is not None and order.product_type == "manual_service" and order.service_confirmed is True
    assert order.purchased_on == date(2026, 10, 9)
    assert store.get("no-such-order") is None


def test_orders_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "faqbot.sqlite3"
    store = OrderStore.open(path)
    store.upsert(OrderInfo(id="A1", product_type="saas", purchased_on=date(2026, 11, 1)))
    store.close()
    again = OrderStore.open(path)
    got = again.get("A1")
    assert got is not None and got.purchased_on == date(2026, 11, 1) and got.service_confirmed is None


def test_bad_demo_file_and_bad_orders_fail_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "orders.yaml"
    bad.write_text("orders:\n- id: X\n  product_type: saas\n  purchased_on: not-a-date\n", encoding="utf-8")
    with pytest.raises(OrderError, match=r"order #1.*purchased_on"):
        read_demo_orders(bad)
    bad.write_text("orders: 3\n", encoding="utf-8")
    with pytest.raises(OrderError, match="'orders' list"):
        read_demo_orders(bad)
    store = OrderStore.open(tmp_path / "x.sqlite3")
    with pytest.raises(OrderError, match="needs id"):
        store.upsert(OrderInfo(id="B"))
    store.upsert(OrderInfo(id="C", product_type="api", purchased_on=date(2026, 1, 1)))
    assert store.count() == 1  # the failed upsert stored nothing and lost nothing


def test_unusable_database_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OrderError, match="cannot open the order database"):
        OrderStore.open(blocker / "sub" / "faqbot.sqlite3")


def test_a_timestamp_from_the_page_counts_as_its_day_in_shanghai() -> None:
    assert OrderInfo(purchased_on="2026-11-28T20:00:00+00:00").purchased_on == date(2026, 11, 29)
    assert OrderInfo(purchased_on="2026-11-28 09:00:00").purchased_on == date(2026, 11, 28)
    with pytest.raises(ValueError, match="purchased_on"):
        OrderInfo(purchased_on="2026-11-28Tnonsense")
