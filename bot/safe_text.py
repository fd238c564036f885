"""Text from users, made safe for each place it goes: the database, a terminal, a spreadsheet.

User text is stored and shown exactly, except for what the destination cannot hold or would execute:
lone surrogates and NUL (no database encodes them), escape sequences and bidirectional overrides (a terminal
acts on them), and leading formula characters (a spreadsheet runs them).
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATES = re.compile(r"[\ud800-\udfff]")
# C0/C1 controls (ESC, BEL, CSI …) and the format characters a terminal or a reader can be fooled by
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def has_surrogates(value: Any) -> bool:
    """True if ``value`` (a string, or lists/dicts of them, keys included) holds a lone surrogate."""
    if isinstance(value, str):
        return _SURROGATES.search(value) is not None
    if isinstance(value, dict):
        return any(has_surrogates(k) or has_surrogates(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_surrogates(v) for v in value)
    return False


def storable(text: str) -> str:
    """``text`` as every database can store it: lone surrogates become U+FFFD, NUL characters are dropped."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATES.sub("\ufffd", text)


def for_terminal(text: str) -> str:
    """``text`` printable as is: control and bidi-override characters are shown as ``\\x1b``-style escapes.

    Rich markup is not interpreted here — pass the result as :class:`rich.text.Text`, never as a markup string.
    """
    return _TERMINAL_UNSAFE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), storable(text))


def for_csv(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ tab, CR or LF gets a leading '
    (OWASP); control and bidi characters are made visible as in :func:`for_terminal` (people ``cat`` CSV files)."""
    if not isinstance(value, str):
        return value
    value = for_terminal(value)
    return "'" + value if value.startswith(_FORMULA_START) else value
