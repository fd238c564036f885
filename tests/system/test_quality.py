"""Answer quality on two question sets (real encoder, real index). Both are dev sets, named so:

* ``dev_queries.jsonl`` — thresholds and the classifier's C were chosen on it.
* ``dev_queries_2.jsonl`` — written later by someone who saw neither the alternates nor the first set (it was
  called the holdout), then used for design choices (pinyin tokens, answer passages, the trimmed jieba
  dictionary, which questions a rule takes): a dev set since. An honest estimate needs a fresh set, written
  from the FAQ alone and frozen before any tuning (issue 10).

Each set is gated at exactly what the current build measures, as counts: any lost answer fails.
"""

from __future__ import annotations

import hashlib
import math

import pytest

from bot.engine import AnswerEngine
from bot.evaluation import evaluate, read_cases
from tests.helpers import DATA, DEV_SET

pytestmark = pytest.mark.slow
DEV_SET_2 = DATA / "dev_queries_2.jsonl"
SETS = [pytest.param(DEV_SET, id="dev"), pytest.param(DEV_SET_2, id="dev2")]
# measured (questions right of in-scope, out-of-scope caught of out-of-scope; at most so many wrong or false
# fallbacks), after issue 10's alternates (three writers' rounds), pinyin channel, thresholds and negatives: dev
# 259/261 top-1, 261/261 top-3, 59/60 OOS, 1 wrong, 0 false fallbacks; dev2 254/257, 256/257, 49/50, 3 wrong, 0
# false fallbacks. (The third round of alternates — questions about facts inside the answers — moved one
# out-of-scope question here and one top-3 there, and took the 4 + 1 false fallbacks the negatives had cost.)
# The third writer's 469 negatives (2026-12-02) cost dev2 one false fallback ("请问镜像能不能拖回我自己电脑上呀？"),
# against +6 out of scope rejected on the three fresh dev sets; accepted, and gated at what it measures.
# Calibration folds that hold out whole writers and a fourth round of alternates (writers 9-11) then cost dev one
# false fallback and dev2 one right answer, one top-3 and one false fallback, against +7 right, -4 false fallbacks
# and +9 buried facts on the fresh dev sets (written by people the build never saw); accepted, gated as measured.
# Homophones decided by context and rare dictionary words read as domain words gave dev one top-1 ("镜像怎么倒入"),
# one out of scope and its false fallback back.
AT_LEAST = {
    "dev_queries.jsonl": {"top1": 260, "top3": 261, "oos_recall": 60},
    "dev_queries_2.jsonl": {"top1": 253, "top3": 255, "oos_recall": 49},
}
AT_MOST = {
    "dev_queries.jsonl": {"answered_wrong": 1, "false_fallback_rate": 0},
    "dev_queries_2.jsonl": {"answered_wrong": 3, "false_fallback_rate": 2},
}


@pytest.mark.parametrize("path", SETS)
def test_question_set_is_large_and_independent_of_the_training_data(engine: AnswerEngine, path) -> None:  # type: ignore[no-untyped-def]
    cases = read_cases(path)
    in_scope = [c for c in cases if c.expect is not None]
    assert len(in_scope) >= 200 and len(cases) - len(in_scope) >= 50
    questions = {e.question for e in engine.kb.entries}
    assert {c.expect for c in in_scope} == questions  # every entry covered, every expectation a real question
    training = {a for e in engine.kb.entries for a in e.alternates} | set(engine.kb.out_of_scope)
    training |= set(engine.kb.requests) | set(engine.kb.refusal_instructions)
    assert not training & {c.q for c in cases}


def test_the_two_sets_do_not_share_questions() -> None:
    assert not {c.q for c in read_cases(DEV_SET)} & {c.q for c in read_cases(DEV_SET_2)}


@pytest.mark.parametrize("path", SETS)
def test_quality_is_what_was_measured(engine: AnswerEngine, path) -> None:  # type: ignore[no-untyped-def]
    cases = read_cases(path)
    replies = [engine.answer(c.q, c.context) for c in cases]
    m = evaluate(cases, replies, {e.question: e.category for e in engine.kb.entries}).metrics()
    counts = {
        "top1": m["top1"] * m["in_scope"],
        "top3": m["top3"] * m["in_scope"],
        "oos_recall": m["oos_recall"] * m["out_of_scope"],
        "answered_wrong": m["answered_wrong"] * m["in_scope"],
        "false_fallback_rate": m["false_fallback_rate"] * m["in_scope"],
    }
    counts = {k: math.floor(v + 0.5) for k, v in counts.items()}  # the rates are counts over a total
    for metric, least in AT_LEAST[path.name].items():
        assert counts[metric] >= least, (metric, counts, m)
    for metric, most in AT_MOST[path.name].items():
        assert counts[metric] <= most, (metric, counts, m)


# The frozen holdouts of issue 10, as their writers left them (tests/data/README.md). Changing a file — or the
# sums beside them — fails here: each is scored once, at the end, never tuned on. holdout_final was scored on
# 2026-12-02 (5d40a3f) and is a dev set since; holdout_3 was written and sealed after that, scored once (36e96ec);
# holdout_4 was written and sealed before the third writers' round of alternates.
HOLDOUT_SHA256 = {
    "holdout_15": {
        "questions.jsonl": "af9009b3c5095c3fe4e49d5151f9613ae28226c481afb43cb9415b9251713183",
        "facts.jsonl": "75d65d22588ad261e813e534d03f9e194c53a1425a95f1d8272e49bb546567e6",
        "followups.jsonl": "affd7b0b19f6275553912fdac3651e2e3d6284528302621908f5e750408ac290",
    },
    "holdout_14": {
        "questions.jsonl": "8de45725243474ebaea698ca15d1b5da7605a5740191ac1c9a8a12ba038c370e",
        "facts.jsonl": "33bffc6470727042d6f9ce909e91019d7e0d855e8cc2b0c69a24b3f991141901",
        "followups.jsonl": "7d4a8e60503db5f6dbd5577f7b78a3b014bdb90c709fbb0243c1edb64d81d83a",
    },
    "holdout_13": {
        "questions.jsonl": "bd1d2ff663418ba740ed96d5675ad1b523ac13deef7447de7068adb1166ae363",
        "facts.jsonl": "53afc11781d9a856b1526a85c6e675caf33bfa8a1929dc2921c7b20b4142a6d2",
        "followups.jsonl": "f0f18428a25253331304be8f3fa80de1ebb04c920fdfbcae79a999ef4a2f4f9b",
    },
    "holdout_12": {
        "questions.jsonl": "3fb546a29fdcc479ef6e4652d7b38a5be7e91a578191a4ccaab5ede766690ed0",
        "facts.jsonl": "25954f793a7c504933d71c66f1a42ab748af5bc6ca1ef140f3633f79c6e2b54c",
        "followups.jsonl": "e639315b266e31a89a33475990051a3bf991f10aa318b1d66dddcb693b47214b",
    },
    "holdout_11": {
        "questions.jsonl": "dc59075e18ded8a5983b6ea3f03651a59718229cea830fd79a9891607b1dc3ec",
        "facts.jsonl": "a654ae67fa72cbd14161416010d36ae45b4d594374ef8bf182c72daa24ec1480",
        "followups.jsonl": "8049950137dca248597292d50e95dfe9f39621b6a9b42723d7c4f2eb72d490a5",
    },
    "holdout_10": {
        "questions.jsonl": "74dd44c95eddbf87a274a51bc1a5006ff8275e683a52be9dd531432272e58dbf",
        "facts.jsonl": "0bd6cdfeefbeaf34bb1bdd9b88929fd21c35865016c0a99b745031c107f77e49",
        "followups.jsonl": "4780c6abaa2ba7e4ca6eb8d60215b12f85153a8a8aacbf637c1fdd653f318624",
    },
    "holdout_final": {
        "questions.jsonl": "1a1dd001f2cc97543bff2ded4e71846430c15fd23882aaba70227bd37afa38d4",
        "facts.jsonl": "bf169a84fa3e55bd2e9effece3a844cd4686ee0800d5bb539ebe5b71f86d9fce",
        "followups.jsonl": "e066480bcc25b310d139b6b4737cff0891e6c96436a869c73da3ba2aab7bd3b2",
    },
    "holdout_4": {
        "questions.jsonl": "ae78884bbda0739efa3eafda2fd689ea3f9cc63fc877fb2bbeebaf0538e82120",
        "facts.jsonl": "ae606f04c791f0aaffa43d3134e5e6539433804b491ee4f3fea3ae79f025e83c",
        "followups.jsonl": "ce306bb76efe7e168b3e53a89f614919bc31a4dc00da5e622533fdf085897919",
    },
    "holdout_3": {
        "questions.jsonl": "41764da0e9b62abe719e35e0152c0e9ba063073f4caffee6726070b19c35304f",
        "facts.jsonl": "2103afb9017703872381d39dd5beeb583887e93abccb0a92ea152cb0dd273bdb",
        "followups.jsonl": "e6a2ab62a0ad6dda5123e4f9aeaa4255b607d9578c80b6912bf0553623425709",
    },
    "holdout_5": {
        "questions.jsonl": "29c62685e65db06a6b50c89c42970555a16d9f8c92077a36cb220a262a12cd61",
        "facts.jsonl": "071035cbd025268c1ec86940cf679f09782a9dec9a95fd72eccf420de0f7e21e",
        "followups.jsonl": "aa61337396d4cf1d692479544d4da5e7e9317379a49fb210d280818801a66cd0",
    },
    "holdout_6": {
        "questions.jsonl": "d11cd870e2e7a818454a9b3f1d4060c31794757d7ed5d22ae022a9e86a24eddb",
        "facts.jsonl": "0dac257337d32f2d18675bc5dd0d6a7a6c42e1203c1275de1eeda74e9c764906",
        "followups.jsonl": "9f04c4ba91223e817149b4d1d2b6640956a71a85e4531b9b9b03801d8e420e5b",
    },
    "holdout_7": {
        "questions.jsonl": "bd035aa6e4ceb1d002abce796cf14f6e1b82b36d5cf462bb7c9c05122f61c402",
        "facts.jsonl": "ef09bbee45baaf5cbd67d9c4e1ad5412b604d1723954c649f5817ce3c43f9c58",
        "followups.jsonl": "31cacc5519ce6d98f7b29df80206fe6e1374e45bb8a0aa58463011f3f5358bdb",
    },
    "holdout_8": {
        "questions.jsonl": "6920ce98fe1def4aed0cd67c74b9c0e45f3998610546c5cc291e6efef22e8c84",
        "facts.jsonl": "a5b9856ac0164b4b9297fad95058a3e169b40bead9309bed1b6cba8f47b3606b",
        "followups.jsonl": "74b9f2a34b78ff59d17edf6859476f2895de4852dba377e4af93639cd7c00692",
    },
    "holdout_9": {
        "questions.jsonl": "a3c1f57af0984191dad9211b61891c1f9f92a6e092e9a3e52b5faaaaa24ccd23",
        "facts.jsonl": "bc3343cc21ed99b9cb5138f39df767a15cb16139fb2acc8908efacb7dee3e69b",
        "followups.jsonl": "87773bae3a2bf795f04a1fea1a2713f0b509db8783b442670993b1d413d2f990",
    },
}


@pytest.mark.parametrize(("holdout", "name"), [(h, n) for h, files in HOLDOUT_SHA256.items() for n in sorted(files)])
def test_the_final_holdouts_are_frozen(holdout: str, name: str) -> None:
    want = HOLDOUT_SHA256[holdout][name]
    assert hashlib.sha256((DATA / holdout / name).read_bytes()).hexdigest() == want
    sums = dict(line.split()[::-1] for line in (DATA / holdout / "SHA256SUMS").read_text().splitlines())
    assert sums[name] == want


@pytest.mark.parametrize(
    "path",
    sorted(p for d in ("fresh_a", "fresh_b", "fresh_c", *HOLDOUT_SHA256) for p in (DATA / d).glob("*.jsonl")),
)
def test_every_fresh_set_reads_and_expects_real_questions(engine: AnswerEngine, path) -> None:  # type: ignore[no-untyped-def]
    """Shape only (no scoring: the holdout is not scored before the end)."""
    questions = {e.question for e in engine.kb.entries}
    cases = read_cases(path)
    assert len(cases) >= 30
    assert all(c.expect is None or c.expect in questions for c in cases)
    assert all(set(c.also) <= questions for c in cases)


# measured 2026-12-02 (638b04e): 284 pairs, every one kept; after the third writer's negatives (edd9a77) 283 pairs
# (one question or its predecessor is no longer answered alone, so the pair is not formed), every one kept. With
# the follow-up model (2026-12-02): 291 pairs, one not kept — "发票申请了一般几天能开啊" right after a story about
# getting an invoice is read as possibly a sub-case of it (p ≈ 0.57) and asks which of the two is meant.
KEPT_AFTER_ANOTHER_TOPIC, LOST_AFTER_ANOTHER_TOPIC = 290, 1


def test_a_clear_short_question_keeps_its_answer_after_another_topic(engine: AnswerEngine) -> None:
    """The follow-up reading must not pull a clear new question back to the topic before it. Every short in-scope
    question of fresh_a/fresh_b that is answered right on its own is asked again right after an answered
    question of another category (one pairing each, fixed seed)."""
    import random

    from bot.reply import Session

    cases = [c for d in ("fresh_a", "fresh_b") for c in read_cases(DATA / d / "questions.jsonl") if c.expect]
    category = {e.question: e.category for e in engine.kb.entries}
    short = [c for c in cases if len(engine._key(c.q)) <= 16]
    rng = random.Random(1)
    kept = lost = 0
    for case in short:
        alone = engine.answer(case.q)
        if alone.faq is None or alone.faq.question != case.expect:
            continue
        before = rng.choice([c for c in cases if category[c.expect or ""] != category[case.expect or ""]])
        session = Session()
        if engine.answer(before.q, session=session).kind != "faq":
            continue
        after = engine.answer(case.q, session=session)
        if after.faq is not None and after.faq.question == case.expect:
            kept += 1
        else:
            lost += 1
    assert kept >= KEPT_AFTER_ANOTHER_TOPIC and lost <= LOST_AFTER_ANOTHER_TOPIC, (kept, lost)
