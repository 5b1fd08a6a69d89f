"""Resolving a target expression to agent ids: a glob ('node*'), a comma list, or 'all'.

A target that matches nothing is an error, never "everyone" (Salt's CVE-2022-22941
class: a bad target must not widen to all minions).
"""

from __future__ import annotations

import fnmatch


class NoMatch(ValueError):
    pass


def resolve(target: str, known: list[str]) -> list[str]:
    target = target.strip()
    if not target:
        raise NoMatch("empty target")
    if target == "all":
        patterns = ["*"]
    else:
        patterns = [p.strip() for p in target.split(",")]
        if any(not p for p in patterns):
            raise NoMatch(f"target {target!r} has an empty element")
    matched = sorted({aid for aid in known for p in patterns if fnmatch.fnmatchcase(aid, p)})
    if not matched:
        raise NoMatch(f"no accepted agent matches target {target!r}")
    return matched
