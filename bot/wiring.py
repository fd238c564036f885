"""The one wiring point: everything the bot is made of, built from :class:`~bot.settings.Settings` and handed to
whoever uses it. Nothing else opens a database, loads an index or picks an encoder.

* :func:`open_storage` — the one database (one SQLAlchemy engine) and the stores on it: conversations, orders.
* :func:`build_engine` — knowledge, normaliser, encoder, index (rebuilt when stale and allowed), the hybrid
  retriever, the rules (with the order store), the known gaps and every sentence the bot says
  (``knowledge/messages.yaml``), joined into an :class:`AnswerEngine`.
* :func:`build_degraded_engine` — the same without index and encoder: keyword retrieval, rules still decide.
* :func:`engine_or_degraded` — what the server starts with.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.engine import AnswerEngine
from bot.errors import EncoderError, IndexUnusable, SetupError
from bot.index import Progress
from bot.knowledge import KnowledgeBase
from bot.normalize import Normalizer
from bot.orders import OrderStore
from bot.retriever import Retriever
from bot.settings import Settings
from bot.store import ConversationStore, Database

log = logging.getLogger(__name__)


@dataclass
class Storage:
    """The project's database and the stores that share it."""

    db: Database
    conversations: ConversationStore
    orders: OrderStore

    def close(self) -> None:
        self.db.close()


def open_storage(settings: Settings) -> Storage:
    """The database at FAQBOT_DATABASE_URL (or the SQLite file at FAQBOT_DATABASE_PATH), migrated."""
    db = Database(settings.database_path, settings.database_url)
    return Storage(db, ConversationStore(db), OrderStore(db))


def build_engine(
    settings: Settings, orders: OrderStore | None = None, progress: Progress | None = None, warm: bool = False
) -> AnswerEngine:
    """The full engine. ``orders``: the order store the refund rule looks orders up in (seeded with the demo
    orders when empty); None: no order lookups. ``warm``: load the encoder and answer once before returning."""
    from bot.encoders import make_encoder
    from bot.index import ensure_index
    from bot.knowledge import load_knowledge
    from bot.retriever import HybridRetriever

    kb = load_knowledge(settings.knowledge_dir)
    normalizer = Normalizer.for_knowledge(kb, settings.index_dir)
    encoder = make_encoder(settings)
    index = ensure_index(
        kb, encoder, normalizer, settings.index_dir, settings.index_type, settings.allow_rebuild, progress
    )
    retriever = HybridRetriever(kb, encoder, normalizer, index, settings.query_cache_size)
    engine = _assemble(settings, kb, normalizer, retriever, orders)
    if warm:  # the encoder loads here: on the thread that will call it (its thread pool belongs to that thread)
        engine.warm_up()
    return engine


def stale_index(settings: Settings) -> str | None:
    """Why the index must be built before it can answer (missing, stale, unreadable manifest), or None."""
    from bot.encoders import make_encoder
    from bot.index import why_rebuild
    from bot.knowledge import load_knowledge

    kb = load_knowledge(settings.knowledge_dir)
    normalizer = Normalizer.for_knowledge(kb, settings.index_dir)
    return why_rebuild(kb, make_encoder(settings), normalizer, settings.index_dir, settings.index_type)


def build_index_now(settings: Settings, progress: Progress | None = None) -> None:
    """Build the index from knowledge/ (``faqbot serve`` does this, with a progress bar, before it listens)."""
    from bot.encoders import make_encoder
    from bot.index import build_index
    from bot.knowledge import load_knowledge

    kb = load_knowledge(settings.knowledge_dir)
    normalizer = Normalizer.for_knowledge(kb, settings.index_dir)
    build_index(kb, make_encoder(settings), normalizer, settings.index_dir, settings.index_type, progress)


def build_degraded_engine(
    settings: Settings, orders: OrderStore | None, problem: str, warm: bool = False
) -> AnswerEngine:
    """Without the index or the encoder: BM25 built in a second from knowledge/, the rules as they are."""
    from bot.knowledge import load_knowledge
    from bot.retriever import LexicalRetriever

    kb = load_knowledge(settings.knowledge_dir)
    # the index directory may be what is broken: the jieba dictionary goes to a directory of its own
    normalizer = Normalizer.for_knowledge(kb, Path(tempfile.mkdtemp(prefix="faqbot-lexical-")))
    engine = _assemble(settings, kb, normalizer, LexicalRetriever(kb, normalizer, problem), orders)
    if warm:
        engine.warm_up()
    return engine


def _assemble(
    settings: Settings, kb: KnowledgeBase, normalizer: Normalizer, retriever: Retriever, orders: OrderStore | None
) -> AnswerEngine:
    from bot.dialogue import Dialogue
    from bot.followups import FollowupModel
    from bot.gaps import load_gaps
    from bot.messages import load_messages
    from bot.passages import Passages

    if orders is not None and settings.demo_orders is not None:
        orders.seed(settings.demo_orders)
    messages = load_messages(settings.knowledge_dir)
    dialogue = Dialogue.from_knowledge(settings.knowledge_dir, kb, normalizer, messages.dialogue, orders)
    gaps = load_gaps(settings.knowledge_dir, set(kb.by_id))
    passages = Passages.from_file(settings.knowledge_dir / "fact_asks.yaml", normalizer)
    followups = FollowupModel.load(settings.knowledge_dir / "followups.json")
    return AnswerEngine(settings, kb, normalizer, retriever, messages, dialogue, gaps, passages, followups)


def engine_or_degraded(settings: Settings, orders: OrderStore | None) -> tuple[AnswerEngine | None, SetupError | None]:
    """What the server answers with: the full engine; without the index or the encoder, the degraded one (rules
    and keyword search); with broken knowledge or rules data, none — warmed up, on the calling thread. The error
    says why (None when all is well)."""
    try:
        return build_engine(settings, orders, warm=True), None
    except SetupError as exc:
        log.error("the answer engine could not start: %s: %s", type(exc).__name__, exc)
        if not isinstance(exc, IndexUnusable | EncoderError):
            return None, exc
        try:
            return build_degraded_engine(settings, orders, f"{type(exc).__name__}: {exc}", warm=True), exc
        except SetupError as again:
            log.error("lexical-only mode could not start either: %s", again)
            return None, exc


def live_engine_or_degraded(settings: Settings, storage: Storage) -> tuple[AnswerEngine | None, SetupError | None]:
    """:func:`engine_or_degraded` on the live knowledge: knowledge/ with the changes accepted in the console
    (bot/live.py). If those no longer apply to knowledge/ (it changed underneath them), knowledge/ as it is, and
    the log says which change."""
    from bot.errors import KnowledgeError
    from bot.live import live_settings

    try:
        settings = live_settings(settings, storage.conversations.knowledge_changes(live=True))
    except KnowledgeError as exc:
        log.error("the accepted knowledge changes do not apply; serving knowledge/ as it is: %s", exc)
    return engine_or_degraded(settings, storage.orders)
