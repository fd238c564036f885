"""Pinyin-IME typos: a word typed with the right sound and the wrong characters (发漂 → 发票, 定单 → 订单,
申情入住 → 申请入驻, 小成序 → 小程序, 联细 → 联系, 体现 → 提现) is read as the domain word it sounds like.

The domain vocabulary is the lexicon's words and synonyms (*strong* words) plus the words of the FAQ questions. The
message is cut into words (jieba); a piece of one to three consecutive words, two to five characters long, that is
not itself a domain word and whose toneless pinyin (pypinyin) equals a domain word's, is replaced by that word —
except that a piece which is a real word of its own (入住, 体现, 服务器, 一直) gives way only to a strong word
(入驻, 提现), never to a word that merely occurs in a question (服务期, 一致); so does a piece with a function
character (不回, 加个: 不会 and 价格 are question words, not what was meant). For pieces of three or more
characters the usual IME confusions count as the same sound (zh/z, ch/c, sh/s, n/l, -ng/-n, f/h): 小成序 and 小城序
both give 小程序. A sound two domain words share is decided by the characters around the piece: the domain word
that the FAQ's questions and alternates write most often beside them wins (上驾商品 → 上架商品: "上架商" is common,
"商家商" is not); with no such evidence the piece stays. A near-miss sound stays too (编揖 "bian yi", 编辑 "bian ji").
A word of the dictionary counts as a real word of its own only when it is common (jieba frequency
≥ ``ORDINARY_MIN_FREQ``): 倒入 and 限至 are rare, and read as 导入 and 限制. A real word of its own still gives
way to a question's word when the domain's writing all but always has that word before the character that
follows: 推出 is a word ("云市场推出《商品服务协议》"), but before 云 the FAQ and its alternates write 退出 far more
often than 推出, so "服务商怎么推出云市场" reads as 退出 (at least ``CONTEXT_MIN`` times, ``CONTEXT_RATIO`` to one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from functools import cached_property, lru_cache

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,5}$")
_FUZZY = ((re.compile(r"^zh"), "z"), (re.compile(r"^ch"), "c"), (re.compile(r"^sh"), "s"), (re.compile(r"^l"), "n"),
          (re.compile(r"^h(?=u)"), "f"), (re.compile(r"ng$"), "n"))  # fmt: skip
MIN_FUZZY_CHARS = 3  # two-character words match on the exact sound only
ORDINARY_MIN_FREQ = 500  # jieba frequency from which a dictionary word is a real word (入住 200000, 倒入 121)
CONTEXT_MIN = 8  # a real word gives way to a question's word seen before the next character at least this often …
CONTEXT_RATIO = 3  # … and this many times as often as the real word itself (plus one) is seen there
# A piece with one of these characters ("不回", "加个") is ordinary text: only a strong word replaces it.
FUNCTION_CHARS = frozenset("不没个了的是在有也就都还又把被给让和与或及吗呢吧啊很太")


@lru_cache(maxsize=65536)
def _syllables(text: str) -> tuple[str, ...]:
    # Character readings only: pypinyin's phrase dictionary took 0.18 s of every cold start and changed nothing
    # measurable (leave-one-out on the dev sets: the same right answers, one more out-of-scope question rejected).
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(text, style=Style.NORMAL, errors="ignore"))


def _fuzzy(syllable: str) -> str:
    for pattern, repl in _FUZZY:
        syllable = pattern.sub(repl, syllable)
    return syllable


class Homophones:
    """Domain words by sound; :meth:`fix` rewrites the IME typos in a normalised (simplified) text."""

    def __init__(
        self,
        domain_words: Iterable[str],
        strong_words: Iterable[str],
        cut: Callable[[str], list[str]],
        is_word: Callable[[str], bool],
        context: Callable[[], Iterable[str]] = tuple,
        lexicon: Iterable[str] = (),
    ) -> None:
        self.strong = {w for w in strong_words if _CJK_WORD.match(w)}
        self._lexicon = set(lexicon)  # the lexicon's own words (服务器 is a 云服务器): never replaced by context
        self._context_texts = context  # the domain's own writing: which of two same-sounding words it uses where
        self.words = sorted(self.strong | {w for w in domain_words if _CJK_WORD.match(w)})
        self._keep = set(self.words)
        self._cut = cut
        self._is_word = is_word
        # a message is matched twice per ranking (its embedding, its BM25 words) and popular ones repeat
        self.fix = lru_cache(maxsize=4096)(self._fix)

    @cached_property
    def _sounds(self) -> dict[str, set[str]]:
        """Each sound (exact, and "~" fuzzy for longer words) → the domain words that have it."""
        sounds: dict[str, set[str]] = {}
        for w in self.words:
            syl = _syllables(w)
            if len(syl) != len(w):
                continue
            sounds.setdefault(" ".join(syl), set()).add(w)
            if len(w) >= MIN_FUZZY_CHARS:
                sounds.setdefault("~" + " ".join(map(_fuzzy, syl)), set()).add(w)
        return sounds

    @cached_property
    def _by_sound(self) -> dict[str, str]:
        return {sound: next(iter(ws)) for sound, ws in self._sounds.items() if len(ws) == 1}

    @cached_property
    def _shared(self) -> dict[str, list[str]]:
        return {sound: sorted(ws) for sound, ws in self._sounds.items() if len(ws) > 1}

    @cached_property
    def _context(self) -> str:
        return "\n".join(self._context_texts())  # read on the first shared sound, not at start-up

    def _in_context(self, sound: str, before: str, after: str) -> str | None:
        """Of the domain words sharing ``sound``, the one the domain's writing uses most beside these characters
        (None without evidence or on a tie)."""
        if sound not in self._shared or not (before or after) or not self._context:
            return None
        counts = sorted(
            ((self._context.count(before + w) if before else 0) + (self._context.count(w + after) if after else 0), w)
            for w in self._shared[sound]
        )
        (second, _), (best, word) = counts[-2], counts[-1]
        return word if best > second else None

    def _context_favours(self, word: str, piece: str, before: str, after: str) -> bool:
        """The domain's writing has ``word`` before the character that follows the piece (or, at the end of the
        message, after the one before it) far more often than ``piece`` itself. The following character is what
        the word governs (退出 云市场, 联系 不上); the one before says little (会收到 / 会受到)."""
        if not self._context or not (before or after):
            return False

        def seen(w: str) -> int:
            return self._context.count(w + after) if after else self._context.count(before + w)

        count = seen(word)
        return count >= CONTEXT_MIN and count >= CONTEXT_RATIO * (seen(piece) + 1)

    def warm_up(self) -> None:
        _ = self._by_sound, self._shared

    def _fix(self, text: str) -> str:
        if not self.words:
            return text
        return _CJK_RUN.sub(lambda m: self._fix_run(m.group(0)), text)

    def _sounds_like(self, piece: str, before: str = "", after: str = "") -> str | None:
        syl = _syllables(piece)
        if len(syl) != len(piece):  # a character pypinyin does not know
            return None
        sound = " ".join(syl)
        word = self._by_sound.get(sound) or self._in_context(sound, before, after)
        if word is None and len(piece) >= MIN_FUZZY_CHARS:
            fuzzy = "~" + " ".join(map(_fuzzy, syl))
            word = self._by_sound.get(fuzzy) or self._in_context(fuzzy, before, after)
        return word

    def _replacement(self, words: list[str], i: int) -> tuple[str, int] | None:
        """(domain word, how many words it replaces) for the piece starting at word ``i``, longest first."""
        for n in (3, 2, 1):
            if len(words) - i < n:
                continue
            piece = "".join(words[i : i + n])
            if not 2 <= len(piece) <= 5 or piece in self._keep:
                continue
            before = words[i - 1][-1:] if i > 0 else ""
            after = words[i + n][:1] if i + n < len(words) else ""
            word = self._sounds_like(piece, before, after)
            if word is None:
                continue
            functional = any(ch in FUNCTION_CHARS for ch in piece)
            real = n == 1 and self._is_word(piece)
            if word in self.strong or not (functional or real):
                return word, n
            by_context = piece not in self._lexicon and self._context_favours(word, piece, before, after)
            if real and not functional and by_context:
                return word, n
        return None

    def _fix_run(self, run: str) -> str:
        words = self._cut(run)
        if len(run) < 2 or "".join(words) != run:
            return run
        out: list[str] = []
        i = 0
        while i < len(words):
            if words[i] in self._keep:
                out.append(words[i])
                i += 1
                continue
            found = self._replacement(words, i)
            if found is None:
                out.append(words[i])
                i += 1
            else:
                out.append(found[0])
                i += found[1]
        return "".join(out)
