"""Log lines rate-limited per source, with a summary (protocol/ratelog.py)."""

import logging

from saline.protocol.ratelog import RateLimitedLog

log = logging.getLogger("saline.test.ratelog")


def test_burst_per_source_then_one_summary_line(caplog):
    rl = RateLimitedLog(log, burst=3, window=10)
    with caplog.at_level(logging.WARNING, logger="saline.test.ratelog"):
        for i in range(20_000):
            rl.warning("10.0.0.9", "bad-frame", "junk %d", i, now=1.0)
        rl.warning("10.0.0.8", "bad-frame", "other", now=1.0)
        rl.flush(now=11.5)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["junk 0", "junk 1", "junk 2", "other",
                     "suppressed 19997 similar bad-frame lines from 10.0.0.9 in 10s"]
    assert len(rl) == 0


def test_table_bounded_under_source_churn(caplog):
    rl = RateLimitedLog(log, burst=1, window=10, max_sources=50)
    with caplog.at_level(logging.WARNING, logger="saline.test.ratelog"):
        for i in range(1000):
            rl.warning(f"src{i}", "hello", "x", now=float(i) / 1000)
    assert len(rl) <= 50
