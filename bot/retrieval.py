"""Hybrid retrieval: dense vectors in FAISS, BM25 over jieba tokens, and a learned fusion.

For a message, every FAQ entry gets three kinds of evidence:

* **dense** — the best cosine between the message and the entry's question and
  alternates (``query:`` on both sides, a symmetric task for e5), and the cosine
  against the question embedded as a ``passage:`` (see ``answer_passages``);
* **lexical** — the BM25 score of the entry's question + alternates + answer over
  jieba words and character bigrams (``bot.normalize``);
* **intent classifier** — a multinomial logistic regression over the message
  embedding, trained on the questions, the alternates and out-of-scope examples
  (one extra class), so it learns which directions of the space belong to which entry.

A second logistic regression (the *fusion*) maps these features, per (message, entry)
pair, to the probability that the entry answers the message. It is trained on
cross-validated features (held-out alternates and out-of-scope examples), so its
output is a calibrated confidence in [0, 1] rather than a raw similarity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import faiss
import numpy as np

from bot.knowledge import FaqEntry

KIND_QUESTION, KIND_ALTERNATE, KIND_PASSAGE = 0, 1, 2
FEATURE_NAMES = (
    "clf_p",
    "clf_logp",
    "clf_oos",
    "clf_margin",
    "qq",
    "qq_margin",
    "qp",
    "qp_margin",
    "bm_rel",
    "bm_log",
    "bm_max_log",
    "bm_margin",
    "qq_best",
    "oos_sim",
    "oos_gap",
    "top_clf",
    "top_qq",
    "top_bm",
)

_MD_NOISE = re.compile(r"\[([^\]]*)\]\([^)]*\)|<br>|[|*#>`]|^\s*-\s*|^\s*\d+\.\s+", re.MULTILINE)


def plain_text(markdown: str) -> str:
    """Markdown answer → plain text (links keep their label, table pipes dropped)."""
    text = _MD_NOISE.sub(lambda m: m.group(1) or " ", markdown)
    return re.sub(r"[ \t]+", " ", text).strip()


def answer_passages(entry: FaqEntry) -> list[str]:
    """Texts embedded with the e5 ``passage:`` prefix for an entry: its question.

    Answer text was measured here and left out of the dense side (it stays in BM25):
    on both held-out sets, answer passages — one per answer line (253 vectors), the
    question plus the first 160 or 80 characters of the answer — gave no better top-1
    and 2–4 points lower out-of-scope recall than the question alone, and the long
    texts cost about 6 s of build time. Question-vs-passage similarity still adds a
    view the symmetric question-vs-question one does not have.
    """
    return [entry.question]


def lexical_document(entry: FaqEntry, alternates: list[str] | tuple[str, ...]) -> str:
    # The question counts twice: it is the most precise statement of the topic.
    return "\n".join([entry.question, entry.question, *alternates, plain_text(entry.answer)])


@dataclass
class FusionModel:
    """Standardisation + logistic regression over FEATURE_NAMES."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, feats: np.ndarray) -> np.ndarray:
        z = ((feats - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


@dataclass
class RefusalModel:
    """Binary logistic regression over the query embedding: does the message try to instruct the bot (prompt
    injection, role play, staff powers) rather than ask? Learnt from the injection examples in out_of_scope.yaml
    against every question, alternate and other out-of-scope example."""

    coef: np.ndarray  # (dim,)
    intercept: float

    def predict(self, vec: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(float(vec @ self.coef) + self.intercept))))


@dataclass
class IntentClassifier:
    """Multinomial logistic regression over the query embedding; last class = out of scope."""

    coef: np.ndarray  # (dim, n_entries + 1)
    intercept: np.ndarray  # (n_entries + 1,)

    def predict(self, vec: np.ndarray) -> np.ndarray:
        logits = vec @ self.coef + self.intercept
        logits = logits - logits.max()
        p = np.exp(logits)
        return np.asarray(p / p.sum())


def _margin(x: np.ndarray) -> np.ndarray:
    """x minus the best of the *other* entries (positive only for the unique best)."""
    if len(x) < 2:
        return np.zeros_like(x)
    order = np.argsort(-x)
    best, second = x[order[0]], x[order[1]]
    out = x - best
    out[order[0]] = best - second
    return out


def _top_flag(x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    if len(x) and x.max() > 0:
        out[int(np.argmax(x))] = 1.0
    return out


def pair_features(clf_p: np.ndarray, qq: np.ndarray, qp: np.ndarray, bm: np.ndarray, oos_sim: float) -> np.ndarray:
    """Feature matrix (n_entries × len(FEATURE_NAMES)) for one message.

    ``clf_p`` has one more element than the others: the out-of-scope class.
    ``oos_sim`` is the best cosine to a known out-of-scope example.
    """
    p_entries, p_oos = clf_p[:-1], float(clf_p[-1])
    bm_max = float(bm.max()) if len(bm) else 0.0
    n = len(qq)
    cols = [
        p_entries,
        np.log(p_entries + 1e-4),
        np.full(n, p_oos),
        _margin(p_entries),
        qq,
        _margin(qq),
        qp,
        _margin(qp),
        bm / bm_max if bm_max > 0 else np.zeros(n),
        np.log1p(bm),
        np.full(n, np.log1p(bm_max)),
        _margin(bm) / bm_max if bm_max > 0 else np.zeros(n),
        np.full(n, float(qq.max()) if n else 0.0),
        np.full(n, oos_sim),
        qq - oos_sim,
        _top_flag(p_entries),
        _top_flag(qq),
        _top_flag(bm),
    ]
    return np.stack(cols, axis=1).astype(np.float64)


def best_per_entry(sims: np.ndarray, ids: np.ndarray, owner: np.ndarray, n_entries: int, floor: float) -> np.ndarray:
    """Per-entry maximum of similarities returned by FAISS (entries not returned get ``floor``)."""
    out = np.full(n_entries, floor, dtype=np.float64)
    valid = ids >= 0
    np.maximum.at(out, owner[ids[valid]], sims[valid])
    return out


def make_faiss_index(vectors: np.ndarray, index_type: str) -> faiss.Index:
    dim = vectors.shape[1]
    index: faiss.Index
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index
