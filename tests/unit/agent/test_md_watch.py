"""md degradation events from real /proc/mdstat outputs (tests/fixtures/mdadm, sources in its README)."""

from pathlib import Path

from saline.agent.md_watch import MdWatch, changes, md_health

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "mdadm"


def test_degraded_then_healthy_again(tmp_path):
    clean = md_health((FIX / "mdstat-clean.txt").read_text())
    failed = md_health((FIX / "mdstat-failed.txt").read_text())
    assert clean and all(ok for ok, _ in clean.values())
    assert any(not ok for ok, _ in failed.values())
    down = changes(clean, failed)
    assert down and all(tag == "saline/md/degraded" for tag, _ in down)
    assert changes(failed, failed) == []  # nothing changed: nothing emitted
    up = changes(failed, clean)
    assert {d["array"] for _, d in up} == {d["array"] for _, d in down}
    assert all(tag == "saline/md/healthy" for tag, _ in up)


def test_watch_emits_on_change_only(tmp_path):
    mdstat = tmp_path / "mdstat"
    mdstat.write_text((FIX / "mdstat-clean.txt").read_text())
    got = []
    w = MdWatch(lambda tag, data: got.append((tag, data["array"])), path=mdstat)
    w.check()
    assert got == []  # healthy at start: nothing to say
    mdstat.write_text((FIX / "mdstat-failed.txt").read_text())
    w.check()
    w.check()
    assert [t for t, _ in got] == ["saline/md/degraded"] * len(got) and got
    n = len(got)
    mdstat.write_text((FIX / "mdstat-clean.txt").read_text())
    w.check()
    assert [t for t, _ in got[n:]] == ["saline/md/healthy"] * n
