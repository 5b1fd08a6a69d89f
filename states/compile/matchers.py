"""Salt's target matchers, for top files (``- match: grain``) and compound expressions.

``glob``, ``pcre``, ``list`` match the agent id; ``grain``/``grain_pcre`` the agent's facts,
``pillar``/``pillar_pcre`` its pillar (``key:subkey:value``, a glob or regex on the value,
any element of a list); ``ipcidr`` its ``ipv4`` facts; ``compound`` combines them:
``G@os:Debian and ( I@role:web or L@node1,node2 ) and not E@test.*``, with ``N@group`` for
the master's nodegroups.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class MatchError(ValueError):
    """A target expression that cannot be read."""


@dataclass
class Subject:
    """What a target is matched against: one agent."""

    agent_id: str
    grains: Mapping[str, Any] = field(default_factory=dict)
    pillar: Mapping[str, Any] = field(default_factory=dict)
    nodegroups: Mapping[str, Any] = field(default_factory=dict)


def _data_match(data: Mapping[str, Any], target: str, regex: bool, delimiter: str = ":") -> bool:
    """Salt's subdict_match: the longest key path that exists, then the value pattern."""
    parts = target.split(delimiter)
    for split in range(len(parts) - 1, 0, -1):
        value: Any = data
        for key in parts[:split]:
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            else:
                value = None
                break
        else:
            pattern = delimiter.join(parts[split:])
            return _value_match(value, pattern, regex)
    return False


def _value_match(value: Any, pattern: str, regex: bool) -> bool:
    if isinstance(value, list):
        return any(_value_match(v, pattern, regex) for v in value)
    if isinstance(value, Mapping):
        return pattern in value  # a key of a mapping grain
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if regex:
        return re.search(pattern, text) is not None
    return fnmatch.fnmatchcase(text, pattern)


def _ipcidr(subject: Subject, target: str) -> bool:
    try:
        net = ipaddress.ip_network(target, strict=False)
    except ValueError:
        raise MatchError(f"{target!r} is not an IP network") from None
    addrs = [*subject.grains.get("ipv4", []), *subject.grains.get("ipv6", [])]
    return any(ipaddress.ip_address(a) in net for a in addrs if _is_ip(a))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _pcre(pattern: str, text: str) -> bool:
    try:
        return re.match(pattern, text) is not None
    except re.error as exc:
        raise MatchError(f"{pattern!r} is not a regular expression: {exc}") from None


MATCHERS: dict[str, Callable[[Subject, str], bool]] = {
    "glob": lambda s, t: fnmatch.fnmatchcase(s.agent_id, t),
    "pcre": lambda s, t: _pcre(t, s.agent_id),
    "list": lambda s, t: s.agent_id in [x.strip() for x in t.split(",")],
    "grain": lambda s, t: _data_match(s.grains, t, regex=False),
    "grain_pcre": lambda s, t: _data_match(s.grains, t, regex=True),
    "pillar": lambda s, t: _data_match(s.pillar, t, regex=False),
    "pillar_pcre": lambda s, t: _data_match(s.pillar, t, regex=True),
    "ipcidr": _ipcidr,
    "compound": lambda s, t: compound(s, t),
    "nodegroup": lambda s, t: _nodegroup(s, t, ()),
}
# Compound prefixes (Salt's letters).
PREFIXES = {"G": "grain", "P": "grain_pcre", "I": "pillar", "J": "pillar_pcre", "L": "list", "E": "pcre",
            "S": "ipcidr", "N": "nodegroup"}


def match(kind: str, target: str, subject: Subject) -> bool:
    try:
        matcher = MATCHERS[kind]
    except KeyError:
        raise MatchError(f"match type {kind!r} is not supported ({', '.join(MATCHERS)})") from None
    return matcher(subject, target)


def _nodegroup(subject: Subject, name: str, seen: tuple[str, ...]) -> bool:
    if name in seen:
        raise MatchError(f"nodegroup {name!r} refers to itself")
    try:
        expr = subject.nodegroups[name]
    except KeyError:
        raise MatchError(f"no nodegroup {name!r} in the master's nodegroups") from None
    if isinstance(expr, list):
        expr = "L@" + ",".join(map(str, expr))
    return compound(subject, str(expr), (*seen, name))


_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def compound(subject: Subject, expression: str, seen: tuple[str, ...] = ()) -> bool:
    """``and``/``or``/``not`` and parentheses over matcher terms (``X@target``, or a glob)."""
    tokens = _TOKEN.findall(expression)
    if not tokens:
        raise MatchError("empty compound target")
    pos = 0

    def term() -> bool:
        nonlocal pos
        if pos >= len(tokens):
            raise MatchError(f"compound target {expression!r} ends too early")
        token = tokens[pos]
        pos += 1
        if token == "not":
            return not term()
        if token == "(":
            value = either()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise MatchError(f"compound target {expression!r}: missing ')'")
            pos += 1
            return value
        if token in ("and", "or", ")"):
            raise MatchError(f"compound target {expression!r}: unexpected {token!r}")
        prefix, at, rest = token.partition("@")
        if at and len(prefix) == 1:
            if prefix not in PREFIXES:
                raise MatchError(f"compound target {expression!r}: unknown matcher {prefix}@")
            if prefix == "N":
                return _nodegroup(subject, rest, seen)
            return match(PREFIXES[prefix], rest, subject)
        return match("glob", token, subject)

    def chain(word: str, operand: Callable[[], bool]) -> bool:
        """``operand word operand …``; every operand is read (and matched), then combined."""
        nonlocal pos
        values = [operand()]
        while pos < len(tokens) and tokens[pos] == word:
            pos += 1
            values.append(operand())
        return all(values) if word == "and" else any(values)

    def both() -> bool:
        return chain("and", term)

    def either() -> bool:
        return chain("or", both)

    result = either()
    if pos != len(tokens):
        raise MatchError(f"compound target {expression!r}: unexpected {tokens[pos]!r}")
    return result
