"""Text normalisation and tokenisation shared by queries and documents.

Both sides go through the same steps, so a traditional-character, full-width or
typo'd question meets the FAQ on equal terms:

1. Unicode NFKC (full-width → half-width letters, digits and punctuation), lower case;
2. control characters removed, whitespace collapsed;
3. traditional → simplified Chinese (OpenCC ``t2s``);
4. jieba word segmentation with the domain dictionary from ``knowledge/lexicon.yaml``;
5. synonyms rewritten to their canonical term (退钱 → 退款);
6. character bigrams of the CJK text added, so typos and unknown words still overlap.

(Pinyin syllable bigrams for homophone typos were measured and dropped: typo questions
were already at 100% on the held-out set, and out-of-scope recall fell by 2–4 points.)
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from bot.homophones import ORDINARY_MIN_FREQ, Homophones

if TYPE_CHECKING:
    from bot.knowledge import KnowledgeBase

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+(?:\.[0-9]+)?")
# What the query side does beyond tokenising (homophones, focus): part of the normaliser's id, so an index built
# with other matching text is rebuilt.
MATCHING_VERSION = "m7"
_ENGLISH_WORD = re.compile(r"(?<![a-z0-9])[a-z][a-z\-]*[a-z](?![a-z0-9])")

# Function words and question particles that carry no topic.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "嘛",
        "是",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "在",
        "有",
        "和",
        "与",
        "及",
        "或",
        "都",
        "也",
        "就",
        "还",
        "要",
        "会",
        "能",
        "可以",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "什么",
        "哪些",
        "哪个",
        "多少",
        "多久",
        "为什么",
        "是否",
        "请问",
        "一下",
        "一个",
        "这个",
        "那个",
        "这",
        "那",
        "个",
        "把",
        "被",
        "给",
        "让",
        "对",
        "从",
        "到",
        "于",
        "为",
        "以",
        "之",
        "而",
        "但",
        "如果",
        "因为",
        "所以",
        "啥",
        "咋",
        "么样",
        "嗯",
        "哦",
        "喔",
        "呃",
        "?",
        "!",
        ",",
        ".",
        "、",
        "，",
        "。",
        "？",
        "！",
        "：",
        "；",
        "“",
        "”",
        "‘",
        "’",
        "（",
        "）",
        "(",
        ")",
        "[",
        "]",
        "【",
        "】",
        "《",
        "》",
        "-",
        "—",
        "~",
        "…",
        "/",
        "\\",
        "|",
    ]
)

log = logging.getLogger(__name__)
_jieba_log_quiet = False
# jieba's full dictionary (349k words) takes about 1 s to load, most of the bot's cold start.
# Its most frequent 100k words load in 0.2 s; the domain lexicon is added on top. Measured on the
# held-out sets: dev unchanged, holdout top-1 two questions lower (98.1% → 97.3%) and one false
# fallback fewer; 200k words gave the same numbers as 100k and load in 0.6 s.
JIEBA_TOP_WORDS = 100_000


def trimmed_jieba_dictionary(directory: Path) -> Path:
    """jieba's dictionary cut to its JIEBA_TOP_WORDS most frequent words, written once into ``directory``."""
    import jieba

    path = directory / f"jieba-{jieba.__version__}-top{JIEBA_TOP_WORDS}.txt"
    if not path.exists():
        source = Path(jieba.__file__).parent / "dict.txt"
        rows = [line.split() for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows.sort(key=lambda r: -int(r[1]))
        directory.mkdir(parents=True, exist_ok=True)
        data = "".join(" ".join(r) + "\n" for r in rows[:JIEBA_TOP_WORDS]).encode("utf-8")
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        _checksum_file(path).write_text(hashlib.sha256(data).hexdigest() + "\n", encoding="ascii")
        tmp.replace(path)
    return path


def _load_trimmed(directory: Path):  # type: ignore[no-untyped-def]
    """A jieba tokenizer on the trimmed dictionary. The dictionary is a derived artifact like the rest of the
    index: one that does not match the checksum written beside it (corrupt, truncated, edited) is written again
    from jieba's own before jieba reads it."""
    import jieba

    path = trimmed_jieba_dictionary(directory)
    if not _intact(path):
        log.warning("the jieba dictionary %s is damaged or has no checksum; writing it again", path)
        path.unlink(missing_ok=True)
        path = trimmed_jieba_dictionary(directory)
    tok = jieba.Tokenizer(str(path))
    tok.initialize()
    return tok


def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _intact(path: Path) -> bool:
    try:
        expected = _checksum_file(path).read_text(encoding="ascii").strip()
        return hashlib.sha256(path.read_bytes()).hexdigest() == expected
    except OSError:
        return False


_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)


def word_chars(text: str) -> str:
    """``text`` without spaces, punctuation and underscores: the key exact matches compare."""
    return _NOT_WORD.sub("", text)


def clean_text(text: str) -> str:
    """NFKC, lower case, no control characters, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip().lower()


# "不是问退款按钮在哪，是想知道规则": the part after the contrast is what is asked ("是不是" is a question, not one).
_CONTRAST = re.compile(
    r"(?<!是)不是(?!吗)[^，,。；;！!？?\s]{1,30}[，,；;\s]+"
    r"(?:而是|只是|就是|其实是|主要是|我是想|我是|我们是|我就是|是想|是要|是问|是|我想知道|我想问|想问|想知道)"
    r"(?P<asked>.{4,})$"
)


def focus(text: str) -> str:
    """What a message asks when it sets a topic aside first: "发票不是填错了，是开出来后报销不了" → "发票开出来后报销
    不了" (what precedes the contrast stays: it often names the subject). Other text comes back unchanged."""
    m = _CONTRAST.search(text)
    if m is None:
        return text
    return text[: m.start()] + m.group("asked")


def has_control_chars(text: str) -> bool:
    return bool(_CONTROL.search(text.replace("\n", "").replace("\r", "").replace("\t", "")))


class Normalizer:
    """Callable pipeline; heavy parts (OpenCC, jieba dictionary) load on first use."""

    def __init__(
        self,
        user_words: Iterable[str] = (),
        synonyms: dict[str, str] | None = None,
        neutral_words: Iterable[str] = (),
        dictionary_dir: Path | None = None,
        questions: Iterable[str] = (),
        phrasings: Iterable[str] = (),
        english: dict[str, str] | None = None,
    ) -> None:
        self.dictionary_dir = dictionary_dir
        self.questions = list(questions)
        self.phrasings = list(phrasings)  # the alternates: how the domain writes its words (homophones' context)
        self.user_words = list(user_words)
        self.synonyms = {clean_text(k): clean_text(v) for k, v in (synonyms or {}).items()}
        # English words of the lexicon ("invoice", "refund", "deposit"): the encoder reads them as their Chinese term,
        # the one the FAQ and its alternates are written in ("云市场买的东西怎么开 invoice" is a question about 发票)
        self._english = {k: v for k, v in self.synonyms.items() if _ENGLISH_WORD.fullmatch(k)}
        self._english |= {clean_text(k): clean_text(v) for k, v in (english or {}).items()}
        neutral = sorted({clean_text(w) for w in neutral_words if w.strip()}, key=len, reverse=True)
        self._neutral = re.compile("|".join(map(re.escape, neutral))) if neutral else None

    @classmethod
    def for_knowledge(cls, kb: KnowledgeBase, dictionary_dir: Path | None = None) -> Normalizer:
        """The normaliser configured by ``knowledge/lexicon.yaml``.

        With ``dictionary_dir`` (the index directory), jieba uses the trimmed dictionary kept there.
        """
        return cls(
            kb.user_dict,
            kb.synonyms,
            kb.neutral_words,
            dictionary_dir,
            [e.question for e in kb.entries],
            [a for e in kb.entries for a in e.alternates],
            kb.english,
        )

    @property
    def id(self) -> str:
        """Identifies the tokenisation: an index built with another one is stale."""
        import jieba

        size = f"top{JIEBA_TOP_WORDS}" if self.dictionary_dir is not None else "full"
        return f"jieba-{jieba.__version__}-{size}-{MATCHING_VERSION}"

    @cached_property
    def _t2s(self):  # type: ignore[no-untyped-def]
        import opencc

        return opencc.OpenCC("t2s")

    @cached_property
    def _jieba(self):  # type: ignore[no-untyped-def]
        global _jieba_log_quiet
        import jieba

        if not _jieba_log_quiet:
            jieba.setLogLevel(logging.WARNING)
            _jieba_log_quiet = True
        tok = _load_trimmed(self.dictionary_dir) if self.dictionary_dir is not None else jieba.Tokenizer()
        for w in [*self.user_words, *self.synonyms.keys(), *self.synonyms.values()]:
            w = clean_text(w)
            if len(w) >= 2 and " " not in w:
                tok.add_word(w, freq=200000)
        return tok

    @cached_property
    def homophones(self) -> Homophones:
        """IME typos → domain words: the lexicon's words and synonyms, and the words of the FAQ questions."""
        strong = [clean_text(w) for w in [*self.user_words, *self.synonyms.values()]]
        tok = self._jieba
        words = [w for q in self.questions for w in tok.lcut(self.text(q)) if w not in STOPWORDS]

        def context() -> list[str]:
            return [self.text(t) for t in [*self.questions, *self.phrasings]]

        lexicon = [clean_text(w) for w in [*self.user_words, *self.synonyms, *self.synonyms.values()]]
        is_word = lambda w: tok.FREQ.get(w, 0) >= ORDINARY_MIN_FREQ  # noqa: E731
        return Homophones(words, strong, tok.lcut, is_word, context, lexicon)

    def warm_up(self) -> None:
        self._t2s.convert("預熱")
        self._jieba.lcut("预热")
        self.homophones.warm_up()

    def text(self, text: str) -> str:
        """Normalised surface text: NFKC, lower case, simplified characters."""
        return str(self._t2s.convert(clean_text(text)))

    def matching_text(self, text: str) -> str:
        """What the encoder and the lexical index see: ``text`` with its IME typos read as the domain words they
        sound like, what it sets aside dropped (:func:`focus`), the lexicon's English words in Chinese, without the
        neutral words."""
        norm = focus(self.homophones.fix(self.text(text)))
        if self._english:
            norm = _ENGLISH_WORD.sub(lambda m: self._english.get(m.group(0), m.group(0)), norm)
        if self._neutral is not None:
            stripped = _SPACE.sub(" ", self._neutral.sub(" ", norm)).strip()
            norm = stripped or norm
        return norm

    def tokens(self, text: str) -> list[str]:
        """Words (synonyms mapped) plus CJK character bigrams; stopwords dropped."""
        norm = self.matching_text(text)
        words = []
        for w in self._jieba.lcut(norm):
            w = w.strip()
            if not w or w in STOPWORDS:
                continue
            words.append(self.synonyms.get(w) or self._english.get(w) or w)
        # Characters of words that jieba kept whole still contribute through bigrams.
        bigrams: list[str] = []
        for run in _CJK.findall(norm):
            bigrams.extend(f"#{run[i : i + 2]}" for i in range(len(run) - 1))
        return words + bigrams
