"""`faqbot report`: questions the bot handled badly, grouped by meaning (greedy clustering on embeddings)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from bot.encoders import Encoder
from bot.safe_text import for_csv

CSV_HEADER = ("count", "question", "fallback", "clarify", "low_confidence", "thumbs_down", "variants")


@dataclass
class QuestionGroup:
    question: str
    count: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    thumbs_down: int = 0
    variants: list[str] = field(default_factory=list)


def group_questions(rows: list[dict[str, Any]], encoder: Encoder, similarity: float) -> list[QuestionGroup]:
    """Each row joins the first group whose first question is at least ``similarity`` close; largest first."""
    texts = [str(r["question"]) for r in rows]
    vecs = np.asarray(encoder.encode_queries(texts), dtype=np.float32)
    heads: list[int] = []
    groups: list[QuestionGroup] = []
    for k, row in enumerate(rows):
        sims = [float(vecs[k] @ vecs[h]) for h in heads]
        best = int(np.argmax(sims)) if sims else -1
        if best < 0 or sims[best] < similarity:
            heads.append(k)
            groups.append(QuestionGroup(question=texts[k]))
            best = len(groups) - 1
        g = groups[best]
        g.count += 1
        g.kinds[str(row["kind"])] += 1
        g.thumbs_down += int(bool(row["thumbs_down"]))
        if texts[k] != g.question and texts[k] not in g.variants:
            g.variants.append(texts[k])
    return sorted(groups, key=lambda g: -g.count)


def write_csv(groups: list[QuestionGroup], out: IO[str]) -> None:
    """The groups as CSV (for `faqbot report --csv` and the admin export). User text cannot become a formula:
    a cell starting with = + - @ tab or CR is prefixed with ' (OWASP's CSV-injection recipe)."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for g in groups:
        row = [g.count, g.question, g.kinds.get("fallback", 0), g.kinds.get("clarify", 0), g.kinds.get("faq", 0),
               g.thumbs_down, " | ".join(g.variants)]  # fmt: skip
        writer.writerow([for_csv(cell) for cell in row])
