"""The crontab as Salt 3008.5 wrote it (tests/fixtures/accounts/crontab): read and rendered
back byte for byte, and Salt's edits on it."""

from __future__ import annotations

from saline.states.system import crontab
from tests.paths import FIXTURES

SALT_WROTE = (FIXTURES / "accounts" / "crontab").read_text()


def test_salts_crontab_reads_and_renders_identically() -> None:
    tab = crontab.parse(SALT_WROTE)
    assert tab.pre == ["# mine", "MAILTO=root", "30 1 * * * /usr/local/bin/mine"]
    assert [(e.name, e.value) for e in tab.env] == [("PATH", "/usr/bin:/bin"), ("EMPTY", '""')]
    rotate, old = tab.crons
    assert (rotate.identifier, rotate.comment, rotate.minute, rotate.hour) == ("/usr/bin/rotate --all",
                                                                             "nightly rotation", "5", "2")
    assert old.commented and old.dayweek == "1" and old.comment == ""
    assert (tab.special[0].spec, tab.special[0].comment, tab.special[0].identifier) == ("@reboot", "two\nlines", "warm")
    assert crontab.render(tab) == SALT_WROTE


def test_salts_entries_are_found_again_and_edited_in_place() -> None:
    tab = crontab.parse(SALT_WROTE)
    times = {"minute": "5", "hour": "2", "daymonth": "*", "month": "*", "dayweek": "*"}
    status, _ = crontab.set_job(tab, "u", "/usr/bin/rotate --all", times=times, special=None,
                                comment="nightly rotation", commented=False, identifier="/usr/bin/rotate --all")
    assert status == "present"
    # an empty variable written as EMPTY="" is the same value (Salt rewrites it every run)
    assert crontab.set_env(tab, "EMPTY", None)[0] == "present"
    status, new = crontab.set_job(tab, "u", "/usr/bin/warm-cache --fast", times=None, special="@daily", comment=None,
                                  commented=False, identifier="warm")
    assert status == "updated"
    assert crontab.render(new).endswith("# two\n# lines SALT_CRON_IDENTIFIER:warm\n@daily /usr/bin/warm-cache --fast\n")
    assert crontab.rm_job(new, "x", special=None, identifier="/usr/bin/old")[1].crons == [tab.crons[0]]
    assert crontab.rm_job(tab, "x", special=None, identifier="nothing")[0] == "absent"


def test_random_is_stable_and_in_range() -> None:
    times = {"minute": "random", "hour": "0:5", "daymonth": "random", "month": "2", "dayweek": "*"}
    first = crontab.set_job(crontab.Tab(), "u", "/x", times=times, special=None, comment=None, commented=False,
                            identifier="x")[1]
    again = crontab.set_job(crontab.Tab(), "u", "/x", times=times, special=None, comment=None, commented=False,
                            identifier="x")[1]
    job = first.crons[0]
    assert first == again and 0 <= int(job.minute) <= 59 and 0 <= int(job.hour) <= 5 and 1 <= int(job.daymonth) <= 28
    assert crontab.set_job(first, "u", "/x", times=times, special=None, comment=None, commented=False,
                           identifier="x")[0] == "present"
