"""Normalisation: traditional/full-width input, domain words, synonyms and bigrams."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge import load_knowledge
from bot.normalize import Normalizer, clean_text, has_control_chars
from bot.settings import PROJECT_ROOT

KB = load_knowledge(PROJECT_ROOT / "knowledge")
NORMALIZER = Normalizer.for_knowledge(KB)


def test_traditional_and_full_width_become_simplified_half_width() -> None:
    assert NORMALIZER.text("鏡像能下載到本地嗎？ＳａａＳ　１２３") == "镜像能下载到本地吗?saas 123"


def test_domain_words_stay_whole() -> None:
    for word in ("复议期", "分账", "财付通", "自定义镜像"):
        assert word in NORMALIZER.tokens(f"请问{word}是什么")


def test_synonyms_map_to_the_canonical_term() -> None:
    assert "退款" in NORMALIZER.tokens("买的东西怎么退钱")
    assert "发票" in NORMALIZER.tokens("开票要多久")
    assert "服务商" in NORMALIZER.tokens("联系不上商家")


def test_bigrams_let_typos_overlap() -> None:
    typo = set(NORMALIZER.tokens("镜象怎么收费"))
    right = set(NORMALIZER.tokens("镜像如何计费"))
    assert "#收费" in typo
    assert typo & right  # a shared bigram or word survives the typo


def test_stopwords_dropped() -> None:
    assert "吗" not in NORMALIZER.tokens("能退款吗")


def test_control_characters() -> None:
    assert has_control_chars("退款\x00吗")
    assert not has_control_chars("退款\n吗")
    assert clean_text("退款\x07\u200b吗") == "退款 吗"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_tokenises_without_error(text: str) -> None:
    tokens = NORMALIZER.tokens(text)
    assert all(isinstance(t, str) and t for t in tokens)
