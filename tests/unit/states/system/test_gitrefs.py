"""git ls-remote output (tests/fixtures/git/ls-remote.txt, real) and Salt's rev forms."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saline.states.modules.git import LatestArgs
from saline.states.system import gitrefs
from tests.paths import FIXTURES

REFS = gitrefs.parse_ls_remote((FIXTURES / "git" / "ls-remote.txt").read_text())
FIRST, SECOND = "85b1fe02302ba9524c1c13ec51deecbbf653f516", "d31615386d9179dc43df8eea4ef06f79cbc9ed06"


def test_revs_resolve_to_commits() -> None:
    assert gitrefs.resolve(REFS, "HEAD") == (SECOND, "head")
    assert gitrefs.resolve(REFS, "dev") == (FIRST, "branch")
    assert gitrefs.resolve(REFS, "v1") == (FIRST, "tag")  # the annotated tag peeled, not the tag object
    assert gitrefs.resolve(REFS, "light") == (SECOND, "tag")
    assert gitrefs.resolve(REFS, FIRST) == (FIRST, "sha1")
    assert gitrefs.resolve(REFS, "nope") is None


def test_urls_and_revs_that_would_run_something_are_refused() -> None:
    for url in ("ext::sh -c id", "-u/tmp/x", "fd::3", "https://h/a b"):
        with pytest.raises(ValidationError, match="is not a git URL"):
            LatestArgs(name=url, target="/srv/a")
    assert LatestArgs(name="git@example.com:org/repo.git", target="/srv/a").name.startswith("git@")
    with pytest.raises(ValidationError):
        LatestArgs(name="/srv/r.git", target="/srv/a", rev="a..b")
