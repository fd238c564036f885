"""What several test modules share (fixtures live in conftest.py): paths, a running server, the CLI's batch mode,
and the web client's chat and login."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bot.engine import AnswerEngine
from bot.reply import Reply, Session
from bot.settings import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "knowledge" / "source" / "faq-source.txt"  # the FAQ as published, kept verbatim
DATA = PROJECT_ROOT / "tests" / "data"
DEV_SET = DATA / "dev_queries.jsonl"
TODAY = {"today": "2026-11-30"}
PASSWORD = "agent-test-password"


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


def chat(client: TestClient, message: str, session_id: str | None = None, **ctx: Any) -> dict[str, Any]:
    r = client.post("/api/chat", json={"message": message, "session_id": session_id, "context": {**TODAY, **ctx}})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def login(client: TestClient, password: str = PASSWORD, username: str = "agent") -> str:
    """Log in through the real form; returns the console's CSRF token."""
    page = client.get("/agent")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    r = client.post(
        "/agent/login",
        data={"username": username, "password": password, "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    console = client.get("/agent")
    meta = re.search(r'name="csrf-token" content="([^"]+)"', console.text)
    assert meta
    return meta.group(1)


def talk(engine: AnswerEngine, session: Session, message: str, **ctx: Any) -> Reply:
    """One turn of a conversation, on the tests' fixed day."""
    return engine.answer(message, {**TODAY, **ctx}, session)


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """``folder`` served by Python's http.server on a port of its own (another origin than the bot); yields the
    site's base URL."""
    port = free_port()
    host = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", host)
        yield f"http://127.0.0.1:{port}/"
    finally:
        host.terminate()
        host.wait(timeout=20)
