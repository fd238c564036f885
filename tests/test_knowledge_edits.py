"""Knowledge changes as data (bot/knowledge_edits.py, the store's history) and the FAQ source import
(bot/source_doc.py), through the real files and the `faqbot knowledge` commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.errors import KnowledgeError
from bot.knowledge import load_knowledge
from bot.knowledge_edits import AddAlternates, EditEntry, KnowledgeFiles, NewEntry, OutOfScope, materialise, parse_edit
from bot.live import Comparison, golden_cases
from bot.settings import PROJECT_ROOT
from bot.source_doc import diff_source, read_source
from bot.store import ConversationStore
from tests.helpers import SOURCE

KNOWLEDGE = PROJECT_ROOT / "knowledge"
NEW_ANSWER = "镜像商品均为免费售卖，不支持退款。"
SAAS_QUOTE = "自购买之日起至第5天，为复议期（如购买日为7.1日，则7.1 - 7.5日为复议期）"
AT = "2026-12-01T08:30:00+00:00"  # 16:30 in Beijing


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    """A copy of knowledge/ to change."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def _git_diff(a: Path, b: Path) -> list[str]:
    """The changed lines (+/-) of `git diff --no-index`, without the file headers."""
    out = subprocess.run(["git", "diff", "--no-index", "--unified=0", str(a), str(b)], capture_output=True,
                         text=True).stdout  # fmt: skip
    return [ln for ln in out.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_an_alternate_from_users_is_one_added_line_in_git(knowledge: Path) -> None:
    files = KnowledgeFiles(knowledge)
    files.apply(AddAlternates(entry_id="view-orders", texts=["  订单 在哪 看啊 ", "订单查询"]), AT)
    assert files.save() == [knowledge / "faq" / "aftersales.yaml"]
    diff = _git_diff(KNOWLEDGE / "faq" / "aftersales.yaml", knowledge / "faq" / "aftersales.yaml")
    # "订单查询" is an alternate already; the other is cleaned of extra spaces; a users list is opened for it
    assert diff == ["+    users:", "+    - 订单 在哪 看啊"]
    entry = load_knowledge(knowledge).by_id["view-orders"]
    assert entry.alternates[-1] == "订单 在哪 看啊" and entry.writers[-1] == "users"
    assert entry.updated == load_knowledge(KNOWLEDGE).by_id["view-orders"].updated  # the answer did not change


def test_an_edited_answer_gets_its_own_update_time_and_keeps_the_file_layout(knowledge: Path) -> None:
    files = KnowledgeFiles(knowledge)
    files.apply(EditEntry(entry_id="view-orders", answer="登录 **费用中心**，进入订单管理页面。", audience="both"), AT)
    files.save()
    diff = _git_diff(KNOWLEDGE / "faq" / "aftersales.yaml", knowledge / "faq" / "aftersales.yaml")
    assert diff == [
        "-  audience: buyer",
        "+  audience: both",
        "-    登录费用中心控制台，进入 [订单管理](#) 页面，即可查看所购商品。",
        "+    登录 **费用中心**，进入订单管理页面。",
        "+  updated: '2026-12-01 16:30:00'",
    ]
    kb = load_knowledge(knowledge)
    entry = kb.by_id["view-orders"]
    assert entry.answer == "登录 **费用中心**，进入订单管理页面。" and entry.audience == "both"
    assert entry.updated_date == "2026-12-01"
    assert kb.by_id["refund-rules"].updated == load_knowledge(KNOWLEDGE).by_id["refund-rules"].updated


def test_a_new_entry_and_out_of_scope_examples_load_as_knowledge(tmp_path: Path) -> None:
    changes = [
        {"id": 1, "at": AT, "payload": NewEntry(entry_id="invoice-title-change", category="发票", audience="buyer",
                                                question="发票抬头写错了能改吗？", answer="可以申请重开。",
                                                alternates=["抬头错了", "发票抬头改", "抬头写错"]).model_dump()},
        {"id": 2, "at": AT, "payload": OutOfScope(texts=["云服务器怎么重启", "今天北京天气怎么样"]).model_dump()},
    ]  # fmt: skip
    kb = materialise(KNOWLEDGE, changes, tmp_path / "live")
    entry = kb.by_id["invoice-title-change"]
    assert entry.category == "发票" and entry.updated == "2026-12-01 16:30:00" and len(kb.entries) == 88
    before = load_knowledge(KNOWLEDGE)
    assert kb.out_of_scope[-1] == "今天北京天气怎么样" and len(kb.out_of_scope) == len(before.out_of_scope) + 1
    assert kb.content_hash != before.content_hash  # the index is rebuilt for it
    assert not (tmp_path / "live" / "source").exists()  # the published document is not knowledge


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({"kind": "add_alternates", "entry_id": "no-such-entry", "texts": ["x"]}, "no FAQ entry"),
        ({"kind": "add_alternates", "entry_id": "view-orders", "texts": ["订单查询"]}, "already"),
        ({"kind": "edit_entry", "entry_id": "gone", "answer": "x"}, "no FAQ entry"),
        (
            {
                "kind": "new_entry",
                "entry_id": "view-orders",
                "category": "发票",
                "question": "新问题？",
                "answer": "a",
                "audience": "buyer",
                "alternates": ["a", "b", "c"],
            },
            "exists",
        ),
        (
            {
                "kind": "new_entry",
                "entry_id": "x-new",
                "category": "没有这个分类",
                "question": "新问题？",
                "answer": "a",
                "audience": "buyer",
                "alternates": ["a", "b", "c"],
            },
            "no category",
        ),
    ],
)
def test_a_change_that_does_not_fit_is_refused_with_the_reason(tmp_path: Path, payload: dict, why: str) -> None:
    edit = parse_edit(payload)
    with pytest.raises(KnowledgeError, match=why):
        materialise(KNOWLEDGE, [{"id": 7, "at": AT, "payload": edit.model_dump()}], tmp_path / "live")


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "drop_table", "entry_id": "x"},
        {"kind": "add_alternates", "entry_id": "view-orders", "texts": []},
        {"kind": "add_alternates", "entry_id": "view-orders", "texts": ["   "]},
        {"kind": "add_alternates", "entry_id": "view-orders", "texts": ["a"], "writer": "curated/../x"},
        {
            "kind": "new_entry",
            "entry_id": "Not A Slug",
            "category": "发票",
            "question": "问？",
            "answer": "a",
            "audience": "buyer",
            "alternates": ["a"],
        },
        {"kind": "edit_entry", "entry_id": "view-orders", "audience": "everyone"},
    ],
)
def test_malformed_changes_are_refused_before_they_are_stored(payload: dict) -> None:
    with pytest.raises(ValidationError):
        parse_edit(payload)


def test_history_undo_and_export_mark(tmp_path: Path) -> None:
    store = ConversationStore.open(tmp_path / "db.sqlite3")
    first = store.add_knowledge_change(AddAlternates(entry_id="view-orders", texts=["看订单"]).model_dump(), "wang",
                                       "用户这样问")  # fmt: skip
    second = store.add_knowledge_change(OutOfScope(texts=["天气"]).model_dump(), "li")
    assert [r["id"] for r in store.knowledge_changes(live=True)] == [first, second]
    row = store.knowledge_changes()[0]
    assert row["author"] == "wang" and row["reason"] == "用户这样问" and row["payload"]["texts"] == ["看订单"]
    assert store.undo_knowledge_change(first, "admin") and not store.undo_knowledge_change(first, "admin")
    store.mark_exported([second])
    assert store.knowledge_changes(live=True) == [] and not store.undo_knowledge_change(second, "admin")
    assert [r["undone_by"] for r in store.knowledge_changes()] == ["admin", None]


# ---------------------------------------------------------------------------------------------- the CLI


def _faqbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT)  # fmt: skip


@pytest.fixture
def cli_env(knowledge: Path, tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
    env.update(FAQBOT_KNOWLEDGE_DIR=str(knowledge), FAQBOT_DATABASE_PATH=str(tmp_path / "db.sqlite3"),
               COLUMNS="200")  # fmt: skip
    return env


def test_export_writes_the_live_changes_as_a_clean_yaml_diff(knowledge: Path, tmp_path: Path,
                                                            cli_env: dict[str, str]) -> None:  # fmt: skip
    store = ConversationStore.open(tmp_path / "db.sqlite3")
    store.add_knowledge_change(
        AddAlternates(entry_id="invoice-postage", texts=["发票寄过来要邮费吗"]).model_dump(), "wang"
    )
    undone = store.add_knowledge_change(OutOfScope(texts=["天气"]).model_dump(), "li")
    store.undo_knowledge_change(undone, "admin")
    check = _faqbot("knowledge", "export", "--check", env=cli_env)
    assert check.returncode == 0, check.stderr
    assert "+    - 发票寄过来要邮费吗" in check.stdout and "天气" not in check.stdout
    assert (
        _git_diff(KNOWLEDGE / "faq" / "invoice.yaml", knowledge / "faq" / "invoice.yaml") == []
    )  # --check wrote nothing
    done = _faqbot("knowledge", "export", env=cli_env)
    assert done.returncode == 0, done.stderr
    changed = [p.name for p in (knowledge / "faq").glob("*.yaml") if _git_diff(KNOWLEDGE / "faq" / p.name, p)]
    assert changed == ["invoice.yaml"]
    assert _git_diff(KNOWLEDGE / "out_of_scope.yaml", knowledge / "out_of_scope.yaml") == []  # the undone one
    diff = _git_diff(KNOWLEDGE / "faq" / "invoice.yaml", knowledge / "faq" / "invoice.yaml")
    assert diff[-1] == "+    - 发票寄过来要邮费吗" and all(ln.startswith("+") for ln in diff)
    history = _faqbot("knowledge", "history", env=cli_env)
    assert "已导出" in history.stdout and "已撤销" in history.stdout
    again = _faqbot("knowledge", "export", env=cli_env)
    assert "没有待导出的修改" in again.stdout  # exported changes are in the files now, not replayed twice


def _modified_source(tmp_path: Path) -> Path:
    """The published source with: the SaaS refund window 5 → 7 days, one question reworded, one removed, one
    added, and the invoice category's date moved."""
    text = SOURCE.read_text(encoding="utf-8")
    edits = [
        (SAAS_QUOTE, SAAS_QUOTE.replace("第5天", "第7天").replace("7.5日", "7.7日")),
        ("镜像如何下载？", "镜像可以下载到本地吗？"),
        ("如何与镜像服务商取得联系？\n\n在商品购买页面，有服务商在线客服、电话、邮箱等联系方式，可进行联系。\n\n", ""),
        ("镜像与 CVM 实例的关系？", f"镜像可以退款吗？\n\n{NEW_ANSWER}\n\n镜像与 CVM 实例的关系？"),
    ]  # fmt: skip
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    invoice = text.index("\n发票相关问题\n", text.index("小程序相关问题"))  # the body's header, not the contents
    date_at = text.index("最近更新时间：", invoice)
    old_date = text[date_at : text.index("\n", date_at)]
    text = text[:date_at] + "最近更新时间：2026-11-30 10:00:00" + text[date_at + len(old_date) :]
    path = tmp_path / "faq-source-new.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_reports_exactly_what_a_new_source_changes(tmp_path: Path) -> None:
    kb = load_knowledge(KNOWLEDGE)
    categories, entries = read_source(SOURCE)
    assert diff_source(kb, categories, entries, KNOWLEDGE / "rules.yaml").empty  # the source we curated from

    categories, entries = read_source(_modified_source(tmp_path))
    diff = diff_source(kb, categories, entries, KNOWLEDGE / "rules.yaml")
    assert [(e.category, e.question, e.answer) for e in diff.new] == [
        ("镜像", "镜像可以退款吗？", "镜像商品均为免费售卖，不支持退款。")
    ]
    assert diff.removed == [(kb.by_id["image-contact-provider"].id, "如何与镜像服务商取得联系？")]
    changed = {c.entry_id: c for c in diff.changed}
    assert set(changed) == {"refund-rules", "image-download"}
    assert (
        changed["image-download"].question == "镜像可以下载到本地吗？" and changed["image-download"].answer_diff == []
    )
    refund = changed["refund-rules"].answer_diff
    assert [ln[:1] for ln in refund] == ["-", "+"] and "第7天" in refund[-1]
    assert [(c, new) for c, _, new in diff.dates] == [("发票", "2026-11-30 10:00:00")]
    risks = {(r.where, r.quote) for r in diff.rules_at_risk}
    assert ("refund.delivery_types.saas", SAAS_QUOTE) in risks
    assert all(r.entry_id.startswith("refund-rules") or "refund-rules" in r.entry_id for r in diff.rules_at_risk)


def test_import_on_the_command_line_reports_then_records_on_apply(tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = _modified_source(tmp_path)
    shown = _faqbot("knowledge", "import", str(path), env=cli_env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "新增问答：[镜像] 镜像可以退款吗？" in out and "删除问答：image-contact-provider" in out
    assert "问题改写：image-download 镜像如何下载？ → 镜像可以下载到本地吗？" in out and "答案修改：refund-rules" in out
    assert "规则依据失效：rules.yaml refund.delivery_types.saas" in out and "--apply" in out
    same = _faqbot("knowledge", "import", str(SOURCE), env=cli_env)
    assert "一致" in same.stdout
    applied = _faqbot("knowledge", "import", str(path), "--apply", env=cli_env)
    assert applied.returncode == 0, applied.stderr
    assert "已记录 3 条修改" in applied.stdout and "1 条新问答需要先写至少 3 个问法" in applied.stdout
    store = ConversationStore.open(tmp_path / "db.sqlite3")
    recorded = {(r["kind"], r["entry_id"]) for r in store.knowledge_changes(live=True)}
    assert recorded == {("edit_entry", "refund-rules"), ("edit_entry", "image-download"),
                        ("remove_entry", "image-contact-provider")}  # fmt: skip
    bad = tmp_path / "not-the-faq.txt"
    bad.write_text("随便一段文字", encoding="utf-8")
    refused = _faqbot("knowledge", "import", str(bad), env=cli_env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and "文档目录" in refused.stderr


def test_the_golden_set_grows_with_what_the_inbox_accepted(tmp_path: Path) -> None:
    kb = load_knowledge(KNOWLEDGE)
    changes = [
        {"payload": AddAlternates(entry_id="view-orders", texts=["蓝鲸七号"]).model_dump()},
        {"payload": AddAlternates(entry_id="view-orders", texts=["作者写的"], writer="writer-x").model_dump()},
        {"payload": OutOfScope(texts=["今天天气"]).model_dump()},
    ]
    cases = golden_cases([tmp_path / "missing.jsonl"], kb, changes)  # a missing set is skipped
    assert [(c.q, c.expect) for c in cases] == [("蓝鲸七号", "下单后如何查看我的订单？"), ("今天天气", None)]


@pytest.mark.parametrize(
    ("before", "after", "worse"),
    [("right", "clarify_first", True), ("right", "right", False), ("fallback", "right", False),
     ("clarify_first", "wrong", True), ("rejected", "answered", True), ("answered", "rejected", False)],
)  # fmt: skip
def test_what_counts_as_worse(before: str, after: str, worse: bool) -> None:
    assert Comparison("q", None, before, after, None, None).worse is worse
