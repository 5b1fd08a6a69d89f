"""Per-source budgets of bytes and decode time (master/budget.py)."""

from saline.master.budget import CostBudget, Rate


def test_bytes_budget_spends_refills_and_allows_one_frame_of_debt():
    b = CostBudget(Rate(bytes_per_s=1000, decode_per_s=0.1, burst_s=2))
    assert b.allow("k", 1500, now=0.0)      # 2000 in the bucket
    assert b.allow("k", 1500, now=0.0)      # 500 left: passes, leaves a debt of 1000
    assert not b.allow("k", 1, now=0.0)
    assert not b.allow("k", 1, now=0.9)     # still in debt
    assert b.allow("k", 1, now=1.5)         # refilled
    assert b.allow("other", 1500, now=0.0)  # sources are independent


def test_decode_time_budget_mutes_a_source_that_costs_cpu():
    b = CostBudget(Rate(bytes_per_s=10**9, decode_per_s=0.1, burst_s=2))
    assert b.allow("k", 10, now=0.0)
    b.charge_decode("k", 0.5, now=0.0)     # 0.2 s of burst, now 0.3 s in debt
    assert not b.allow("k", 10, now=1.0)
    assert b.allow("k", 10, now=3.1)


def test_table_stays_bounded_under_key_churn():
    b = CostBudget(Rate(bytes_per_s=10, decode_per_s=0.1, burst_s=1), max_tracked=100)
    for i in range(5000):
        b.allow(f"key{i}", 5, now=i * 0.001)
    assert len(b) <= 100
