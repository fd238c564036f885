"""`faqbot report`: questions the bot handled badly, grouped by meaning (greedy clustering on embeddings)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.encoders import Encoder


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
