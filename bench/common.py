"""Shared by the web benchmarks: a `faqbot serve` subprocess on a free port, and percentiles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs), p)) if xs else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, **env_overrides: str) -> tuple[subprocess.Popen[bytes], str]:
    """`faqbot serve` on a fresh database; returns once /readyz answers 200."""
    port = free_port()
    env = {**os.environ, "FAQBOT_PORT": str(port), "FAQBOT_DATABASE_PATH": str(db), "FAQBOT_ALLOW_REBUILD": "false"}
    env.setdefault("FAQBOT_AGENT_PASSWORD", "bench-password-123")
    env.setdefault("FAQBOT_ADMIN_PASSWORD", "bench-admin-password")
    env.update(env_overrides)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not become ready")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
