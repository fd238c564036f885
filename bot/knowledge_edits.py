"""Knowledge changes as data: what an editor changed in the FAQ, replayed onto the knowledge/ YAML files.

knowledge/ stays the repository's source of truth. A change accepted in the console or the CLI is stored with who
made it, when and why (``ConversationStore.add_knowledge_change``), and can be undone; the live knowledge is
knowledge/ with the stored changes that are neither undone nor exported replayed in order (``materialise``).
``faqbot knowledge export`` writes those changes into the files themselves. The files are read and written with
ruamel.yaml's round trip, which keeps comments, key order and quoting: git shows exactly the change.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, TypeAdapter, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from bot.errors import KnowledgeError
from bot.knowledge import CURATED, SLUG_RE, KnowledgeBase, load_knowledge

SOURCE_ZONE = ZoneInfo("Asia/Shanghai")  # the FAQ's 最近更新时间 is Beijing time
USERS = "users"  # the writer of alternates taken from what users asked (the inbox)
Text = Annotated[str, Field(min_length=1, max_length=2000)]


def _clean(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = " ".join(value.split())
        if text and text not in out:
            out.append(text)
    if not out:
        raise ValueError("needs at least one non-blank text")
    return out


class AddAlternates(BaseModel):
    """Phrasings users asked, as alternates of an entry (the index learns them)."""

    kind: Literal["add_alternates"] = "add_alternates"
    entry_id: str
    texts: list[Text] = Field(min_length=1, max_length=200)
    writer: str = Field(USERS, pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")

    _texts = field_validator("texts")(_clean)


class EditEntry(BaseModel):
    """An entry's answer (Markdown), audience or curated alternates; what is not given stays."""

    kind: Literal["edit_entry"] = "edit_entry"
    entry_id: str
    answer: str | None = Field(None, min_length=1, max_length=20_000)
    audience: Literal["buyer", "provider", "both"] | None = None
    alternates: list[Text] | None = Field(None, max_length=200)
    question: str | None = Field(None, min_length=2, max_length=200)


class NewEntry(BaseModel):
    kind: Literal["new_entry"] = "new_entry"
    entry_id: str = Field(pattern=SLUG_RE.pattern)
    category: str
    question: str = Field(min_length=2, max_length=200)
    answer: str = Field(min_length=1, max_length=20_000)
    audience: Literal["buyer", "provider", "both"]
    alternates: list[Text] = Field(min_length=1, max_length=200)

    _alternates = field_validator("alternates")(_clean)


class RemoveEntry(BaseModel):
    kind: Literal["remove_entry"] = "remove_entry"
    entry_id: str


class OutOfScope(BaseModel):
    """Questions the FAQ does not answer: negative examples for the answer/fallback decision."""

    kind: Literal["out_of_scope"] = "out_of_scope"
    texts: list[Text] = Field(min_length=1, max_length=200)

    _texts = field_validator("texts")(_clean)


Edit = Annotated[AddAlternates | EditEntry | NewEntry | RemoveEntry | OutOfScope, Field(discriminator="kind")]
EDIT: TypeAdapter[Edit] = TypeAdapter(Edit)


def parse_edit(payload: dict[str, Any]) -> Edit:
    return EDIT.validate_python(payload)


def source_time(at: str | None = None) -> str:
    """``at`` (ISO, any zone; now if None) as the FAQ writes 最近更新时间: Beijing time, "YYYY-MM-DD HH:MM:SS"."""
    moment = datetime.fromisoformat(at) if at else datetime.now(SOURCE_ZONE)
    return moment.astimezone(SOURCE_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096  # never fold a long line: a diff should show the change, not a reflow
    y.indent(mapping=2, sequence=2, offset=0)
    return y


def _block(text: str) -> LiteralScalarString:
    return LiteralScalarString(text.strip("\n") + "\n")


class KnowledgeFiles:
    """The FAQ files and out_of_scope.yaml of one knowledge folder, as round-trip documents to change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.yaml = _yaml()
        self.docs: dict[Path, Any] = {}
        self.changed: set[Path] = set()
        for path in [*sorted((root / "faq").glob("*.yaml")), root / "out_of_scope.yaml"]:
            if path.exists():
                try:
                    self.docs[path] = self.yaml.load(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, YAMLError) as exc:
                    raise KnowledgeError(f"{path}: {exc}") from exc

    def _faq(self) -> Iterable[tuple[Path, Any]]:
        return ((p, d) for p, d in self.docs.items() if p.parent.name == "faq")

    def _find(self, entry_id: str) -> tuple[Path, CommentedSeq, int]:
        for path, doc in self._faq():
            for i, raw in enumerate(doc.get("entries") or []):
                if raw.get("id") == entry_id:
                    return path, doc["entries"], i
        raise KnowledgeError(f"no FAQ entry {entry_id!r}")

    def _alternates(self, raw: CommentedMap) -> list[str]:
        out = [str(a) for a in raw.get("alternates") or []]
        for more in (raw.get("alternates_by_writer") or {}).values():
            out += [str(a) for a in more]
        return out

    def apply(self, edit: Edit, at: str | None = None) -> None:
        """Apply one change; KnowledgeError if it does not fit (an unknown entry, a duplicate id, …)."""
        stamp = source_time(at)
        if isinstance(edit, OutOfScope):
            path = self.root / "out_of_scope.yaml"
            doc = self.docs.setdefault(path, CommentedMap(examples=CommentedSeq()))
            known = {str(x.get("text")) for x in doc.get("examples") or []}
            for text in edit.texts:
                if text not in known:
                    doc["examples"].append(CommentedMap(text=text, kind="inbox", writer=USERS))
            self.changed.add(path)
            return
        if isinstance(edit, NewEntry):
            self._new(edit, stamp)
            return
        path, entries, i = self._find(edit.entry_id)
        raw = entries[i]
        self.changed.add(path)
        if isinstance(edit, RemoveEntry):
            del entries[i]
        elif isinstance(edit, AddAlternates):
            known = set(self._alternates(raw)) | {str(raw.get("question"))}
            fresh = [t for t in edit.texts if t not in known]
            if not fresh:
                raise KnowledgeError(f"{edit.entry_id}: every text is already one of its alternates")
            if edit.writer == CURATED:
                raw.setdefault("alternates", CommentedSeq()).extend(fresh)
            else:
                if "alternates_by_writer" not in raw:
                    raw.insert(list(raw).index("alternates") + 1, "alternates_by_writer", CommentedMap())
                raw["alternates_by_writer"].setdefault(edit.writer, CommentedSeq()).extend(fresh)
        else:
            if edit.answer is not None:
                raw["answer"] = _block(edit.answer)
            if edit.audience is not None:
                raw["audience"] = edit.audience
            if edit.question is not None:
                raw["question"] = edit.question
            if edit.alternates is not None:
                raw["alternates"] = CommentedSeq(_clean(edit.alternates))
            self._stamp(raw, stamp)

    def _stamp(self, raw: CommentedMap, stamp: str) -> None:
        """The entry's own 最近更新时间 (the category's date stays the source's)."""
        quoted = SingleQuotedScalarString(stamp)  # as the category's: a string, never a YAML timestamp
        if "updated" in raw:
            raw["updated"] = quoted
        else:
            raw.insert(list(raw).index("answer") + 1, "updated", quoted)

    def _new(self, edit: NewEntry, stamp: str) -> None:
        if any(raw.get("id") == edit.entry_id for _, doc in self._faq() for raw in doc.get("entries") or []):
            raise KnowledgeError(f"an entry {edit.entry_id!r} exists already")
        for path, doc in self._faq():
            if doc.get("category") == edit.category:
                entry = CommentedMap()
                entry["id"] = edit.entry_id
                entry["audience"] = edit.audience
                entry["question"] = edit.question
                entry["answer"] = _block(edit.answer)
                entry["updated"] = SingleQuotedScalarString(stamp)
                entry["alternates"] = CommentedSeq(edit.alternates)
                doc["entries"].append(entry)
                self.changed.add(path)
                return
        raise KnowledgeError(f"no category {edit.category!r}")

    def dump(self, path: Path) -> str:
        out = io.StringIO()
        self.yaml.dump(self.docs[path], out)
        return out.getvalue()

    def write_copy(self, target: Path) -> KnowledgeBase:
        """This folder copied to ``target`` (the published source document left out) with the changed files as
        they are now, then loaded and validated as a whole."""
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.root, target, ignore=shutil.ignore_patterns("source"))
        self.save(target)
        return load_knowledge(target)

    def save(self, root: Path | None = None) -> list[Path]:
        """Write the changed files (under ``root``, default their own folder); returns the paths written."""
        written = []
        for path in sorted(self.changed):
            target = (root or self.root) / path.relative_to(self.root)
            target.write_text(self.dump(path), encoding="utf-8")
            written.append(target)
        return written


def _at(change: dict[str, Any]) -> str | None:
    value = change.get("at")
    return str(value) if value else None


def replay(files: KnowledgeFiles, changes: Iterable[dict[str, Any]]) -> None:
    """Apply stored changes (rows of ``knowledge_changes``: payload, at, id) in order."""
    for change in changes:
        try:
            files.apply(parse_edit(change["payload"]), _at(change))
        except KnowledgeError as exc:
            raise KnowledgeError(f"change #{change.get('id', '?')}: {exc}") from exc


def materialise(source: Path, changes: Iterable[dict[str, Any]], target: Path) -> KnowledgeBase:
    """``source`` copied to ``target`` with ``changes`` replayed, then loaded and validated as a whole."""
    files = KnowledgeFiles(source)
    replay(files, changes)
    return files.write_copy(target)


def checked(source: Path, changes: Iterable[dict[str, Any]]) -> KnowledgeFiles:
    """``source``'s files with ``changes`` replayed, in memory, once the result has loaded as a whole (in a
    scratch copy); KnowledgeError if it does not."""
    files = KnowledgeFiles(source)
    replay(files, changes)
    with tempfile.TemporaryDirectory(prefix="faqbot-knowledge-") as scratch:
        files.write_copy(Path(scratch) / "knowledge")
    return files
