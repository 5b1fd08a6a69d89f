"""Resolving a target expression to agent ids: a glob ('node*'), a comma list, or 'all';
or, with a target type (``saline run -G 'os:Debian'``), Salt's other matchers over each
accepted agent's facts and pillar (:mod:`saline.states.compile.matchers`).

A target that matches nothing is an error, never "everyone" (Salt's CVE-2022-22941
class: a bad target must not widen to all minions).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from typing import Any


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


TARGET_TYPES = ("glob", "list", "pcre", "grain", "grain_pcre", "pillar", "pillar_pcre", "ipcidr", "compound",
                "nodegroup")


def resolve_typed(target: str, tgt_type: str, known: list[str], facts_of: Callable[[str], dict[str, Any]],
                  pillar_of: Callable[[str], dict[str, Any]], nodegroups: Mapping[str, Any]) -> list[str]:
    """The accepted agents ``target`` selects as a ``tgt_type`` target. Facts are what each
    agent last reported (``id`` bound to its key); pillar is compiled only when the
    expression asks for it (``I@``/``J@``, pillar matchers)."""
    from saline.states.compile.matchers import MatchError, Subject, match

    if tgt_type == "glob":
        return resolve(target, known)
    needs_pillar = tgt_type in ("pillar", "pillar_pcre") or (tgt_type in ("compound", "nodegroup") and (
        "I@" in target or "J@" in target or any("I@" in str(g) or "J@" in str(g) for g in nodegroups.values())))
    matched = []
    for aid in sorted(known):
        subject = Subject(aid, {**facts_of(aid), "id": aid}, pillar_of(aid) if needs_pillar else {}, nodegroups)
        try:
            if match(tgt_type, target, subject):
                matched.append(aid)
        except MatchError as exc:
            raise NoMatch(f"target {target!r} ({tgt_type}): {exc}") from None
    if not matched:
        raise NoMatch(f"no accepted agent matches {tgt_type} target {target!r}")
    return matched
