"""The knowledge files: faithful to the source FAQ, and validated with messages that name file and entry."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.knowledge import (
    CURATED,
    MAX_ALTERNATES,
    MIN_ALTERNATES,
    SCREENSHOT_NOTE,
    SCREENSHOT_NOTE_LINE,
    KnowledgeError,
    load_knowledge,
    text_modulo_formatting,
    without_screenshot_notes,
)
from bot.settings import PROJECT_ROOT
from tests.helpers import SOURCE

KNOWLEDGE = PROJECT_ROOT / "knowledge"
SECTION_HEADERS = {
    "镜像相关问题",
    "购买支付相关问题",
    "售后和退款相关问题",
    "发票相关问题",
    "服务商入驻相关问题",
    "服务商后台使用问题",
    "服务商收益提现问题",
    "服务商退出相关问题",
    "小程序相关问题",
}


def _source_entries() -> dict[str, str]:
    """Question → raw answer text, read straight from the source document (knowledge/source/)."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    start = [i for i, ln in enumerate(lines) if ln.strip() == "常见问题"][1]
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        s = line.strip()
        if s in SECTION_HEADERS or s.startswith("最近更新时间") or s in ("买家相关", "服务商相关"):
            continue
        if re.search(r"[？?]$", s):
            current = out.setdefault(s, [])
            continue
        if current is not None:
            current.append(line)
    return {q: "\n".join(a) for q, a in out.items()}


def test_every_source_question_is_present_verbatim() -> None:
    kb = load_knowledge(KNOWLEDGE)
    source = _source_entries()
    assert len(source) == 87
    assert len(kb.entries) == 87
    assert {e.question for e in kb.entries} == set(source)


def test_every_answer_matches_the_source_modulo_formatting() -> None:
    kb = load_knowledge(KNOWLEDGE)
    source = _source_entries()
    for entry in kb.entries:
        answer = without_screenshot_notes(entry.answer)  # our screenshot-note lines are not source text
        assert text_modulo_formatting(answer) == text_modulo_formatting(source[entry.question]), entry.id


def test_screenshot_notes_are_whole_lines_that_open_a_quote() -> None:
    """The note is stripped only as a whole line; anywhere else it would count as (wrong) answer text."""
    kb = load_knowledge(KNOWLEDGE)
    notes: dict[str, int] = {}
    for entry in kb.entries:
        lines = entry.answer.splitlines()
        for i, line in enumerate(lines):
            if SCREENSHOT_NOTE in line:
                assert line == SCREENSHOT_NOTE_LINE, (entry.id, line)
                assert lines[i + 1] == ">" and lines[i + 2].startswith("> "), (entry.id, "note must open a quote")
                notes[entry.id] = notes.get(entry.id, 0) + 1
    # the console screenshots the source FAQ transcribed: the exit card, the self-check page, the exit form
    assert notes == {"provider-exit": 3}


def _source_contents() -> list[str]:
    """The categories as the source document's table of contents lists them ("镜像相关问题", "服务商后台使用问题")."""
    lines = [x.strip() for x in SOURCE.read_text(encoding="utf-8").splitlines() if x.strip()]
    start = lines.index("文档目录") + 2  # then "常见问题", then the list, then "常见问题" again
    listed = lines[start : lines.index("常见问题", start)]
    return [re.sub(r"(相关)?问题$", "", x) for x in listed]


def test_nine_categories_with_dates_and_audiences() -> None:
    kb = load_knowledge(KNOWLEDGE)
    assert kb.categories == _source_contents() and len(kb.categories) == 9  # in the source's order
    assert all(re.match(r"^\d{4}-\d{2}-\d{2}$", e.updated_date) for e in kb.entries)
    by_id = kb.by_id
    assert by_id["provider-individual"].audience == "provider"
    assert by_id["invoice-postage"].audience == "buyer"
    assert by_id["provider-invoice-deliver"].audience == "provider"
    assert all(MIN_ALTERNATES <= len(e.alternates) <= MAX_ALTERNATES for e in kb.entries)


def test_markdown_tables_and_exit_sections_kept() -> None:
    kb = load_knowledge(KNOWLEDGE)
    limits = kb.by_id["image-limits"].answer
    assert "| 名称 | 使用限制 |" in limits and "|---|---|" in limits
    exit_answer = kb.by_id["provider-exit"].answer
    for section in (
        "### 一、退出条件检查",
        "### 二、申请退出操作",
        "### 三、保证金退款说明",
        "### 四、退出结果与支持",
    ):
        assert section in exit_answer


def test_alternates_do_not_repeat_source_questions() -> None:
    kb = load_knowledge(KNOWLEDGE)
    questions = {e.question for e in kb.entries}
    alternates = [a for e in kb.entries for a in e.alternates]
    assert not questions & set(alternates)
    assert len(alternates) == len(set(alternates))


def test_the_image_sharing_conflict_is_recorded_with_both_figures() -> None:
    kb = load_knowledge(KNOWLEDGE)
    notes = kb.conflicts_for("shared-image-what-is")
    assert notes and "50" in notes[0].note and "500" in notes[0].note
    assert "image-limits" in notes[0].entries


# ---------------------------------------------------------------- validation errors


@pytest.fixture()
def knowledge_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, dest)
    return dest


def _edit(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_duplicate_id_names_file_and_entry(knowledge_copy: Path) -> None:
    _edit(knowledge_copy / "faq" / "invoice.yaml", lambda d: d["entries"][1].update(id=d["entries"][0]["id"]))
    with pytest.raises(KnowledgeError, match=r"invoice\.yaml.*invoice-apply.*duplicate id"):
        load_knowledge(knowledge_copy)


def test_empty_answer_names_file_and_entry(knowledge_copy: Path) -> None:
    _edit(knowledge_copy / "faq" / "image.yaml", lambda d: d["entries"][4].update(answer="  "))
    with pytest.raises(KnowledgeError, match=r"image\.yaml: entry #5 \(image-download\): field 'answer'"):
        load_knowledge(knowledge_copy)


def test_missing_field_and_bad_audience(knowledge_copy: Path) -> None:
    _edit(knowledge_copy / "faq" / "purchase.yaml", lambda d: d["entries"][0].pop("question"))
    with pytest.raises(KnowledgeError, match=r"purchase\.yaml.*app-not-available.*'question'"):
        load_knowledge(knowledge_copy)
    _edit(
        knowledge_copy / "faq" / "purchase.yaml",
        lambda d: d["entries"][0].update(question="x？", audience="everyone"),
    )
    with pytest.raises(KnowledgeError, match=r"purchase\.yaml.*audience must be one of"):
        load_knowledge(knowledge_copy)


def test_alternate_count_is_enforced(knowledge_copy: Path) -> None:
    _edit(
        knowledge_copy / "faq" / "miniprogram.yaml",
        lambda d: d["entries"][2].update(alternates=["一", "二"], alternates_by_writer={}),
    )
    with pytest.raises(KnowledgeError, match=r"miniprogram\.yaml.*miniprogram-purchase.*3-200 alternates, has 2"):
        load_knowledge(knowledge_copy)


def test_broken_yaml_names_the_file(knowledge_copy: Path) -> None:
    (knowledge_copy / "faq" / "image.yaml").write_text("entries: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"image\.yaml: not valid YAML"):
        load_knowledge(knowledge_copy)


def test_conflict_with_unknown_entry_is_refused(knowledge_copy: Path) -> None:
    _edit(knowledge_copy / "conflicts.yaml", lambda d: d["conflicts"][0].update(entries=["no-such-entry"]))
    with pytest.raises(KnowledgeError, match=r"conflicts\.yaml.*no-such-entry"):
        load_knowledge(knowledge_copy)


def test_content_hash_changes_with_the_data(knowledge_copy: Path) -> None:
    before = load_knowledge(knowledge_copy).content_hash
    _edit(
        knowledge_copy / "faq" / "image.yaml",
        lambda d: d["entries"][0]["alternates"].__setitem__(0, "镜像到底是啥"),
    )
    assert load_knowledge(knowledge_copy).content_hash != before


def test_every_alternate_knows_its_writer() -> None:
    """The curated list, then each writer's list (alternates_by_writer); negatives name theirs (writer:)."""
    kb = load_knowledge(PROJECT_ROOT / "knowledge")
    for e in kb.entries:
        assert len(e.writers) == len(e.alternates)
        assert e.writers[0] == CURATED
    writers = {w for e in kb.entries for w in e.writers}
    assert len(writers) >= 4 and CURATED in writers
    assert len(kb.out_of_scope_writers) == len(kb.out_of_scope)
    assert len(set(kb.out_of_scope_writers)) >= 3


def test_alternates_by_writer_are_read_after_the_curated_list(knowledge_copy: Path) -> None:
    _edit(
        knowledge_copy / "faq" / "miniprogram.yaml",
        lambda d: d["entries"][2].update(alternates=["一", "二"], alternates_by_writer={"someone": ["三", "四"]}),
    )
    entry = next(e for e in load_knowledge(knowledge_copy).entries if e.id == "miniprogram-purchase")
    assert entry.alternates == ("一", "二", "三", "四")
    assert entry.writers == (CURATED, CURATED, "someone", "someone")


@pytest.mark.parametrize(
    ("by_writer", "error"),
    [
        (["三", "四"], "must map a writer's name"),
        ({"someone": "三"}, "someone: must be a list of non-empty strings"),
        ({CURATED: ["三"]}, "is not a writer's name"),
    ],
)
def test_a_broken_alternates_by_writer_is_refused(knowledge_copy: Path, by_writer: object, error: str) -> None:
    _edit(knowledge_copy / "faq" / "miniprogram.yaml", lambda d: d["entries"][2].update(alternates_by_writer=by_writer))
    with pytest.raises(KnowledgeError, match=rf"miniprogram\.yaml.*{error}"):
        load_knowledge(knowledge_copy)
