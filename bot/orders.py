"""Orders the rules engine can look up by id: a SQLite file in WAL mode, seeded with demo orders.

An order can also arrive from the embedding page in ``context.order``; see :class:`OrderInfo`.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.workdays import SHANGHAI

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    product_type TEXT NOT NULL,
    product_name TEXT,
    purchased_on TEXT NOT NULL,
    service_confirmed INTEGER,
    amount TEXT
)
"""


class OrderError(Exception):
    """The order store or the demo file cannot be used; the message says why."""


class OrderInfo(BaseModel):
    """What is known about one order. From the page (``context.order``) any field may be missing."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(None, max_length=64)
    product_type: str | None = Field(None, max_length=64, description="saas | api | image | manual_service")
    product_name: str | None = Field(None, max_length=200)
    purchased_on: date | None = None
    service_confirmed: bool | None = None
    amount: str | None = None

    @field_validator("purchased_on", mode="before")
    @classmethod
    def _day_of_timestamp(cls, value: Any) -> Any:
        """Accept a timestamp ("2026-11-28T10:00:00+08:00") as its day in Asia/Shanghai."""
        if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                moment = moment.astimezone(SHANGHAI)
            return moment.date()
        return value


class OrderStore:
    """A small table of orders in a SQLite file (WAL mode, safe to share between threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise OrderError(f"cannot open the order database {path}: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def get(self, order_id: str) -> OrderInfo | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, product_type, product_name, purchased_on, service_confirmed, amount FROM orders "
                "WHERE id = ?",
                (order_id,),
            ).fetchone()
        if row is None:
            return None
        confirmed = None if row[4] is None else bool(row[4])
        return OrderInfo(
            id=row[0],
            product_type=row[1],
            product_name=row[2],
            purchased_on=date.fromisoformat(row[3]),
            service_confirmed=confirmed,
            amount=row[5],
        )

    def upsert(self, order: OrderInfo) -> None:
        if not order.id or not order.product_type or order.purchased_on is None:
            raise OrderError("an order needs id, product_type and purchased_on")
        confirmed = None if order.service_confirmed is None else int(order.service_confirmed)
        with self._lock:
            self._db.execute(
                "INSERT INTO orders (id, product_type, product_name, purchased_on, service_confirmed, amount) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET product_type=excluded.product_type, "
                "product_name=excluded.product_name, purchased_on=excluded.purchased_on, "
                "service_confirmed=excluded.service_confirmed, amount=excluded.amount",
                (
                    order.id,
                    order.product_type,
                    order.product_name,
                    order.purchased_on.isoformat(),
                    confirmed,
                    order.amount,
                ),
            )

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])

    def seed(self, demo_file: Path) -> int:
        """Insert the demo orders if the table is empty; returns how many were added."""
        if self.count():
            return 0
        orders = read_demo_orders(demo_file)
        for order in orders:
            self.upsert(order)
        return len(orders)


def read_demo_orders(path: Path) -> list[OrderInfo]:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise OrderError(f"{path}: cannot read demo orders: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("orders"), list):
        raise OrderError(f"{path}: expected a mapping with an 'orders' list")
    out = []
    for n, item in enumerate(raw["orders"], 1):
        try:
            order = OrderInfo.model_validate(item)
        except ValidationError as exc:
            raise OrderError(f"{path}: order #{n}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc
        if not order.id or not order.product_type or order.purchased_on is None:
            raise OrderError(f"{path}: order #{n}: id, product_type and purchased_on are required")
        out.append(order)
    return out
