"""``git ls-remote`` output (``SHA<TAB>REF`` lines) and which commit a Salt ``rev`` names."""

from __future__ import annotations

import re

SHA = re.compile(r"^[0-9a-f]{40}$")


def parse_ls_remote(text: str) -> dict[str, str]:
    refs: dict[str, str] = {}
    for line in text.splitlines():
        sha, _, ref = line.partition("\t")
        if SHA.match(sha) and ref:
            refs[ref] = sha
    return refs


def resolve(refs: dict[str, str], rev: str) -> tuple[str, str] | None:
    """(commit, kind) for ``rev`` — ``HEAD``, a branch, a tag (peeled to its commit) or a full
    SHA — as the remote has it; None when the remote has no such ref."""
    if SHA.match(rev):
        return rev, "sha1"
    if rev == "HEAD":
        return (refs["HEAD"], "head") if "HEAD" in refs else None
    for ref, kind in ((f"refs/heads/{rev}", "branch"), (f"refs/tags/{rev}^{{}}", "tag"), (f"refs/tags/{rev}", "tag")):
        if ref in refs:
            return refs[ref], kind
    return None
