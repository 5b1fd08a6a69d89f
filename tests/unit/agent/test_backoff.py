from saline.agent.backoff import BackoffLog, repeated


def test_first_at_once_then_exponential_with_the_count():
    b = BackoffLog(first=2.0, cap=8.0)
    # One failure every 0.5 s for 20 s: logged at 0, 2, 6, 14 (delays 2, 4, 8, capped at 8).
    logged = [(t / 2, n) for t in range(0, 40) if (n := b.due("k", now=t / 2)) is not None]
    assert logged == [(0.0, 0), (2.0, 3), (6.0, 7), (14.0, 15)]
    assert repeated(7) == " (repeated 7 times since the last message)" and repeated(0) == ""


def test_clear_logs_the_next_occurrence_at_once():
    b = BackoffLog()
    assert b.due("k", now=0) == 0 and b.due("k", now=0.1) is None
    b.clear("k")
    assert b.due("k", now=0.2) == 0
    assert b.due("other", now=0.2) == 0  # keys are independent
