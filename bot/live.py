"""The live knowledge — knowledge/ with the stored changes replayed — its own index, and the regression guard a
change must pass before it is swapped in.

A version lives in ``FAQBOT_LIVE_DIR/<key>/`` (``knowledge/`` and ``index/``), the key a hash of knowledge/'s files
and the live changes, so every worker that reads the same database builds the same version, and a version built
once is reused at the next start. Its index starts from the project index's embedding cache: only the new
alternates are encoded (seconds, not the minutes of a first build).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.evaluation import EvalCase, outcome, ranked_questions, read_cases, replay
from bot.index import Progress
from bot.knowledge import KnowledgeBase
from bot.knowledge_edits import USERS, materialise
from bot.settings import Settings

SEEDED = ("embeddings.npz", "jieba-0.42.1-top100000.txt", "jieba-0.42.1-top100000.txt.sha256")
KEEP_VERSIONS = 5  # built versions kept on disk, by last use (a refused change makes one too)
# How good an outcome is, per expectation: a change may not move any golden question down this order.
GOODNESS = {"right": 3, "clarify_first": 2, "clarify_listed": 1, "clarify_missing": 0, "fallback": 0, "wrong": -1,
            "rejected": 2, "clarified": 1, "answered": 0}  # fmt: skip


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "source" not in p.relative_to(folder).parts):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def version_key(settings: Settings, changes: Sequence[dict[str, Any]]) -> str:
    """ "" for knowledge/ as it is; otherwise a hash of its files and the changes."""
    if not changes:
        return ""
    digest = hashlib.sha256(_fingerprint(settings.knowledge_dir).encode())
    digest.update(json.dumps([(c["payload"], c.get("at")) for c in changes], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes (workers of one machine share FAQBOT_LIVE_DIR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def live_settings(settings: Settings, changes: Sequence[dict[str, Any]], progress: Progress | None = None) -> Settings:
    """``settings`` pointed at the live version's knowledge and index, both made on first use by whichever worker
    gets there first while the others wait (KnowledgeError if a change does not apply). Without changes:
    ``settings`` itself."""
    from bot.wiring import build_index_now, stale_index

    key = version_key(settings, changes)
    if not key:
        return settings
    root = settings.live_dir / key
    knowledge, index = root / "knowledge", root / "index"
    live = settings.model_copy(update={"knowledge_dir": knowledge, "index_dir": index, "allow_rebuild": True})
    with _locked(settings.live_dir / f"{key}.lock"):
        if not (root / "ready").exists():
            materialise(settings.knowledge_dir, changes, knowledge)
            index.mkdir(parents=True, exist_ok=True)
            for name in SEEDED:  # the embedding cache and the trimmed jieba dictionary of the project index
                if (settings.index_dir / name).exists() and not (index / name).exists():
                    shutil.copy2(settings.index_dir / name, index / name)
            if stale_index(live) is not None:
                build_index_now(live, progress)
            (root / "ready").write_text(json.dumps([c.get("id") for c in changes]), encoding="utf-8")
        os.utime(root / "ready")  # in use: the last to be pruned
    _prune(settings.live_dir)
    return live


def _prune(live_dir: Path) -> None:
    """Keep the KEEP_VERSIONS versions used last; a version being made (no `ready` yet) is never touched."""
    ready = [p for p in live_dir.iterdir() if (p / "ready").exists()]
    ready.sort(key=lambda p: (p / "ready").stat().st_mtime, reverse=True)
    for old in ready[KEEP_VERSIONS:]:
        with _locked(live_dir / f"{old.name}.lock"):
            shutil.rmtree(old, ignore_errors=True)
        (live_dir / f"{old.name}.lock").unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ the regression guard


@dataclass(frozen=True)
class Comparison:
    """One golden question on the serving engine and on the changed one."""

    question: str
    expect: str | None
    before: str  # outcome, e.g. "right"
    after: str
    before_answer: str | None  # the question the bot answered with (or offered first)
    after_answer: str | None

    @property
    def worse(self) -> bool:
        return GOODNESS[self.after] < GOODNESS[self.before]


def change_texts(payload: dict[str, Any]) -> list[str]:
    """The phrasings a change is about (what its preview shows)."""
    kind = payload.get("kind")
    if kind in ("add_alternates", "out_of_scope"):
        return list(payload["texts"])
    if kind == "new_entry":
        return [payload["question"], *payload["alternates"]]
    return []


def golden_cases(paths: Iterable[Path], kb: KnowledgeBase, changes: Iterable[dict[str, Any]]) -> list[EvalCase]:
    """The guard's golden set: the sets in ``paths`` that exist, plus every phrasing accepted through the inbox
    (alternates written by ``users``) expecting its entry."""
    cases: list[EvalCase] = []
    for path in paths:
        if path.exists():
            cases += read_cases(path)
    for change in changes:
        payload = change["payload"]
        kind = payload.get("kind")
        if kind == "out_of_scope":
            cases += [EvalCase(q=text, expect=None) for text in payload["texts"]]
        elif kind in ("add_alternates", "new_entry") and payload.get("writer", USERS) == USERS:
            entry = kb.by_id.get(payload["entry_id"])
            if entry is not None:
                cases += [EvalCase(q=text, expect=entry.question) for text in change_texts(payload)]
    return cases


def _first(reply: Any) -> str | None:
    ranked = ranked_questions(reply)
    return ranked[0] if ranked else None


Answerer = Callable[..., Any]


def compare(cases: Sequence[EvalCase], old: Answerer, new: Answerer, renamed: dict[str, str]) -> list[Comparison]:
    """Each golden question's outcome with ``old`` and with ``new`` (``renamed``: old question → new, for entries
    whose question a change rewords)."""
    before = replay(old, cases)
    moved = [EvalCase(c.q, renamed.get(c.expect, c.expect) if c.expect else None, c.context, earlier=c.earlier,
                      also=[renamed.get(a, a) for a in c.also]) for c in cases]  # fmt: skip
    after = replay(new, moved)
    out = []
    for case, new_case, a, b in zip(cases, moved, before, after, strict=True):
        out.append(Comparison(case.q, case.expect, outcome(case, a), outcome(new_case, b), _first(a), _first(b)))
    return out


def renamed_questions(old: KnowledgeBase, new: KnowledgeBase) -> dict[str, str]:
    return {e.question: new.by_id[e.id].question for e in old.entries if e.id in new.by_id and
            new.by_id[e.id].question != e.question}  # fmt: skip
