"""Logging for the daemons: one line per event, to a file or stderr.

Every message is passed through ``log_safe``: agents supply some of what is logged
(error messages, versions, event tags), and a newline or escape sequence in it must
not forge a log line or reach the terminal that tails the log. A log file is reopened
when logrotate moves it (``WatchedFileHandler``) and on SIGHUP.
"""

from __future__ import annotations

import logging
import logging.handlers
import signal
import sys
from pathlib import Path

from .safetext import log_safe

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogSetupError(ValueError):
    pass


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        # Only the message is escaped: a traceback appended after it keeps its lines.
        record.message = log_safe(record.message)
        return super().formatMessage(record)


def setup_logging(level: str, log_file: Path | None) -> None:
    if level.upper() not in LEVELS:
        raise LogSetupError(f"log_level {level!r} is not one of {', '.join(LEVELS)}")
    handler: logging.Handler
    if log_file:
        try:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.WatchedFileHandler(log_file)
        except OSError as exc:
            raise LogSetupError(f"cannot write log_file {log_file}: {exc.strerror or exc}") from None
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    signal.signal(signal.SIGHUP, lambda *_: reopen_logs())


def reopen_logs() -> None:
    """SIGHUP: reopen the log file (after logrotate), as syslog daemons do; never exit."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.acquire()
            try:
                if handler.stream:
                    handler.stream.close()
                handler.stream = handler._open()
            finally:
                handler.release()
    logging.getLogger("saline").info("SIGHUP: log reopened")
