"""Agent-supplied text in terminals and logs (issue 11, item 10)."""

import io
import logging

from saline.protocol.logsetup import SafeFormatter
from saline.protocol.safetext import log_safe, terminal_safe


def test_terminal_keeps_lines_and_escapes_controls():
    text = "ok\n\tnext \x1b]0;title\x07 \x9b31m \u202eevil\x00"
    assert terminal_safe(text) == "ok\n\tnext \\x1b]0;title\\x07 \\x9b31m \\u202eevil\\x00"


def test_log_escapes_newlines_so_no_line_is_forged():
    forged = "boom\n2026-01-01 00:00:00,000 INFO saline.master: key accepted\r"
    assert "\n" not in log_safe(forged) and "\r" not in log_safe(forged)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.safetext")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("agent %s reports: %s", "node1", forged)
        try:
            raise ValueError("x")
        except ValueError:
            logger.exception("crash with \x1b[2J in it")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == ("WARNING agent node1 reports: boom\\x0a2026-01-01 00:00:00,000 INFO saline.master: "
                        "key accepted\\x0d")
    assert lines[1] == "ERROR crash with \\x1b[2J in it"
    assert lines[2] == "Traceback (most recent call last):"  # a traceback keeps its own lines
