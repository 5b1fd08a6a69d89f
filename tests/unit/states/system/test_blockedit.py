"""The block edit behind file.blockreplace, case by case as Salt 3008's file.blockreplace writes it."""

from __future__ import annotations

import pytest

from saline.states.system.blockedit import replace_block
from saline.states.system.lineedit import EditError

S, E = "#-- start managed zone --", "#-- end managed zone --"


def test_replaces_every_block_and_keeps_the_marker_lines_as_written():
    text = f"a\n  {S} keep\nold\n{E} tail\nb\n{S}\nold2\nx {E}\n"
    assert replace_block(text, S, E, "new") == f"a\n  {S} keep\nnew\n{E} tail\nb\n{S}\nnew\n{E}\n"


def test_content_with_a_final_newline_gets_no_extra_line_and_empty_content_a_blank_one():
    assert replace_block(f"{S}\n{E}\n", S, E, "one\ntwo\n") == f"{S}\none\ntwo\n{E}\n"
    assert replace_block(f"{S}\nx\n{E}\n", S, E, "") == f"{S}\n\n{E}\n"
    assert replace_block(f"{S}\n{E}\n", S, E, "x", append_newline=False) == f"{S}\nx{E}\n"


def test_the_first_lines_separator_is_kept():
    assert replace_block(f"{S}\r\nold\r\n{E}\r\n", S, E, "a\nb") == f"{S}\r\na\r\nb\r\n{E}\r\n"


def test_adding_a_block_where_none_is():
    assert replace_block("last", S, E, "x", where="append") == f"last\n{S}\nx\n{E}\n"
    assert replace_block("", S, E, "x", where="append") == f"{S}\nx\n{E}\n"
    assert replace_block("first\n", S, E, "x", where="prepend") == f"{S}\nx\n{E}\nfirst\n"
    assert replace_block("a\n[s]\nb\n", S, E, "x", where="after", match=r"^\[s\]") == f"a\n[s]\n{S}\nx\n{E}\nb\n"
    assert replace_block("a\n[s]\nb\n", S, E, "x", where="before", match=r"^\[s\]") == f"a\n{S}\nx\n{E}\n[s]\nb\n"


@pytest.mark.parametrize("text, where, match, message", [
    ("x\n", None, None, "Markers were not found"),
    ("x\n", "after", "^nothing", "Markers were not found"),
    (f"{S}\nno end\n", "append", None, "Unterminated marked block"),
])
def test_errors(text, where, match, message):
    with pytest.raises(EditError, match=message):
        replace_block(text, S, E, "c", where=where, match=match)
