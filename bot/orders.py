"""Orders the rules engine can look up by id: a SQLite file in WAL mode, seeded with demo orders.

An order can also arrive from the embedding page in ``context.order``; see :class:`OrderInfo`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select

from bot.errors import OrderError, StoreError, first_error
from bot.knowledge import parse_yaml
from bot.slots import EARLIEST_DATE, LATEST_DATE
from bot.store import Database, orders
from bot.workdays import SHANGHAI


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
            try:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is not None:
                    moment = moment.astimezone(SHANGHAI)
            except OverflowError as exc:  # 0001-01-01T00:00:00+14:00 is before the first representable day
                raise ValueError("purchased_on is out of range") from exc
            return moment.date()
        return value

    @field_validator("purchased_on")
    @classmethod
    def _sane_day(cls, value: date | None) -> date | None:
        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValueError(f"purchased_on must lie between {EARLIEST_DATE} and {LATEST_DATE}")
        return value


class OrderStore:
    """The orders table of the project's :class:`~bot.store.Database` (its one definition lives in
    :mod:`bot.store`; the database's migrations create it). Safe to share between threads."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path, url: str | None = None) -> OrderStore:
        """Orders on a database of their own (tests, one-off tools; the server shares one, see bot/wiring.py)."""
        try:
            return cls(Database(path, url))
        except StoreError as exc:
            raise OrderError(f"cannot open the order database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def get(self, order_id: str) -> OrderInfo | None:
        with self.db.read() as conn:
            row = conn.execute(select(orders).where(orders.c.id == order_id)).first()
        if row is None:
            return None
        m = row._mapping
        return OrderInfo(
            id=m["id"],
            product_type=m["product_type"],
            product_name=m["product_name"],
            purchased_on=date.fromisoformat(m["purchased_on"]),
            service_confirmed=None if m["service_confirmed"] is None else bool(m["service_confirmed"]),
            amount=m["amount"],
        )

    def upsert(self, order: OrderInfo) -> None:
        if not order.id or not order.product_type or order.purchased_on is None:
            raise OrderError("an order needs id, product_type and purchased_on")
        values = {
            "product_type": order.product_type,
            "product_name": order.product_name,
            "purchased_on": order.purchased_on.isoformat(),
            "service_confirmed": None if order.service_confirmed is None else int(order.service_confirmed),
            "amount": order.amount,
        }
        stmt = self.db.insert(orders).values(id=order.id, **values)
        with self.db.tx() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(orders)).scalar() or 0)

    def seed(self, demo_file: Path) -> int:
        """Insert the demo orders if the table is empty; returns how many were added."""
        if self.count():
            return 0
        demo = read_demo_orders(demo_file)
        for order in demo:
            self.upsert(order)
        return len(demo)


def read_demo_orders(path: Path) -> list[OrderInfo]:
    try:
        raw: Any = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise OrderError(f"{path}: cannot read demo orders: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("orders"), list):
        raise OrderError(f"{path}: expected a mapping with an 'orders' list")
    out = []
    for n, item in enumerate(raw["orders"], 1):
        try:
            order = OrderInfo.model_validate(item)
        except ValidationError as exc:
            raise OrderError(f"{path}: order #{n}: {first_error(exc.errors())}") from exc
        if not order.id or not order.product_type or order.purchased_on is None:
            raise OrderError(f"{path}: order #{n}: id, product_type and purchased_on are required")
        out.append(order)
    return out
