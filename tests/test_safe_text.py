"""User text made safe for the database, a terminal and a spreadsheet (bot/safe_text.py)."""

from __future__ import annotations

import pytest

from bot.safe_text import for_csv, for_terminal, has_surrogates, storable


def test_storable_text_keeps_everything_a_database_can_hold() -> None:
    assert storable("发票 <b>x</b> 🙂\n\t") == "发票 <b>x</b> 🙂\n\t"
    assert storable("a\ud800b\x00c") == "a\ufffdbc"
    assert storable("a\ud800b").encode("utf-8")  # encodes now


def test_surrogates_are_found_anywhere_in_a_frame() -> None:
    assert not has_surrogates({"text": "发票", "context": {"order": {"id": "1"}}, "n": [1, 2.0, None]})
    assert has_surrogates({"context": {"order": {"id": "\udc00"}}})
    assert has_surrogates({"\ud800": 1}) and has_surrogates(["ok", ("\udfff",)])


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1b]8;;https://evil.example\x07x", "\\x1b]8;;https://evil.example\\x07x"),
        ("\u202eabc\u200b", "\\u202eabc\\u200b"),
        ("[/x] [link=https://e.example]普通文字", "[/x] [link=https://e.example]普通文字"),  # markup is Rich's job
        ("line\nnext\ttab", "line\nnext\ttab"),
    ],
)
def test_terminal_text_shows_control_characters_instead_of_obeying_them(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\n=1"])
def test_csv_cells_that_would_run_as_formulas_get_a_quote(cell: str) -> None:
    assert for_csv(cell) == "'" + cell


def test_csv_cells_show_control_characters_instead_of_carrying_them() -> None:
    assert for_csv("\r=1") == "\\r=1" and for_csv("\x1b[31mred") == "\\x1b[31mred"
    assert for_csv("\u202e反转") == "\\u202e反转"


def test_other_csv_cells_are_unchanged() -> None:
    assert for_csv("发票多久到") == "发票多久到" and for_csv(3) == 3 and for_csv("a=b") == "a=b"
