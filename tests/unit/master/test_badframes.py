"""The master's per-connection bad-frame limit."""

import logging

from saline.master.badframes import BadFrameLimiter


def test_mutes_a_flooding_connection_for_a_window_then_forgives(caplog):
    lim = BadFrameLimiter(limit=3, window=60)
    with caplog.at_level(logging.WARNING, logger="saline.master"):
        for _ in range(10):
            lim.bad_frame(b"flooder", "flooder", "junk", now=100.0)
    assert lim.muted(b"flooder", now=100.0) and not lim.muted(b"good", now=100.0)
    # Two lines for the first bad frames, then one line saying it is muted: no log flood either.
    assert [r.getMessage() for r in caplog.records].count("bad frame from flooder: junk") == 2
    assert sum("too many bad frames from flooder" in r.getMessage() for r in caplog.records) == 1
    assert not lim.muted(b"flooder", now=161.0)


def test_the_table_of_connections_stays_bounded():
    lim = BadFrameLimiter(limit=3, window=60, max_tracked=100)
    for i in range(1000):
        lim.bad_frame(i.to_bytes(4, "big"), "peer", "junk", now=float(i))
    assert len(lim) <= 100
    # A connection that is flooding right now is still remembered.
    for _ in range(3):
        lim.bad_frame(b"now", "peer", "junk", now=999.0)
    assert lim.muted(b"now", now=999.0)
