"""The node's facts in templates: the key-bound id, and everything else as untrusted data.

An agent reports its facts itself (its hello, or ``gather()`` for ``saline call``), so a
compromised agent can say anything there. Two consequences, both handled here:

* ``id`` is never taken from the report: the master binds it to the id of the CURVE key
  the agent authenticated with (as Salt's master overwrites a minion's ``id`` grain), so
  ``nodes.{{ grains['id'] }}`` in a pillar top file cannot select another node's pillar.
* Every other fact is data, never SLS syntax. A reported string is wrapped in
  :class:`FactStr`; when a template prints one (or a string derived from one) and it
  holds anything that YAML could read as structure (a newline, ``: ``, ``#``, brackets,
  quotes …), the renderer prints an opaque token instead, parses the YAML, and only then
  puts the fact's text back into the string that token ended up in. A hostname like
  ``"x\\n/etc/shadow:\\n  file.managed: …"`` therefore stays one string; it cannot add a
  state, a key or a list item. Facts made only of plain characters print as before.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

import jinja2
import yaml

# The facts the master sets itself; whatever the agent reported under these names is dropped.
BOUND_FACTS = ("id",)
# Characters a fact may hold and still print as a YAML plain scalar that means only itself.
_PLAIN = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_./+@~=()-]*(?: +[A-Za-z0-9_./+@~=()-]+)*")
_CONTEXT_KEY = "_saline_fact_tokens"


def plain(text: str) -> bool:
    """True when ``text`` printed bare into YAML cannot change the document's structure."""
    return text == "" or _PLAIN.fullmatch(text) is not None


class FactStr(str):
    """A string an agent reported. String methods keep the mark, so ``grains['fqdn'].split('.')[0]``
    or ``grains['host'] | upper`` are still known to come from the agent when printed."""

    __slots__ = ()

    def __str__(self) -> str:
        return self

    def __add__(self, other: str) -> "FactStr":
        return FactStr(str.__add__(self, other))

    def __radd__(self, other: str) -> "FactStr":
        return FactStr(str.__add__(other, self))

    def __mod__(self, args: Any) -> "FactStr":
        return FactStr(str.__mod__(self, args))

    def __rmod__(self, fmt: str) -> "FactStr":
        return FactStr(str.__mod__(fmt, self))

    def __getitem__(self, key: Any) -> "FactStr":
        return FactStr(str.__getitem__(self, key))

    def __mul__(self, n: Any) -> "FactStr":
        return FactStr(str.__mul__(self, n))

    __rmul__ = __mul__

    def __iter__(self):  # {% for c in fact %}{{ c }}: each character is still the agent's
        return (FactStr(c) for c in str.__iter__(self))


def _keep_mark(name: str) -> None:
    method = getattr(str, name)

    def marked(self: FactStr, *args: Any, **kwargs: Any) -> Any:
        return mark(method(self, *args, **kwargs))

    marked.__name__ = name
    setattr(FactStr, name, marked)


def mark(value: Any) -> Any:
    """A string (or each string of a list or tuple) as a :class:`FactStr`; anything else as it is."""
    if isinstance(value, str):
        return FactStr(value)
    if isinstance(value, (list, tuple)):
        return type(value)(mark(v) for v in value)
    return value


for _name in (
    "capitalize", "casefold", "center", "expandtabs", "format", "join", "ljust", "lower", "lstrip",
    "partition", "removeprefix", "removesuffix", "replace", "rjust", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "strip", "swapcase", "title", "translate", "upper", "zfill",
):
    _keep_mark(_name)


# ``| yaml`` / ``| yaml_encode`` dump facts like any string (PyYAML looks representers up by exact type).
for _dumper in {yaml.SafeDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper)}:
    _dumper.add_representer(FactStr, yaml.representer.SafeRepresenter.represent_str)


def untrusted(value: Any) -> Any:
    """Reported facts → the same data with every string (keys included) a :class:`FactStr`."""
    if isinstance(value, str):
        return FactStr(value)
    if isinstance(value, Mapping):
        return {untrusted(k): untrusted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [untrusted(v) for v in value]
    return value


def node_facts(reported: Mapping[str, Any], agent_id: str) -> dict[str, Any]:
    """What templates see as ``grains``/``facts``: the report as data, ``id`` from the key."""
    facts = {k: v for k, v in (untrusted(dict(reported)) or {}).items() if k not in BOUND_FACTS}
    facts["id"] = str(agent_id)
    return facts


def strings(value: Any) -> list[str]:
    """The facts (``FactStr``) in ``value``, keys included."""
    if isinstance(value, FactStr):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return []


class FactTokens:
    """One YAML render: facts that are not plain print as tokens; :meth:`restore` puts them back."""

    def __init__(self, facts: Any):
        self.nonce = secrets.token_hex(6)
        self.pattern = re.compile(rf"saline_fact_{self.nonce}_(\d+)_")
        # Longest first, so a fact that contains another is replaced as a whole.
        self.risky = sorted({s for s in strings(facts) if not plain(s)}, key=len, reverse=True)
        self.values: list[str] = []

    def token(self, text: str) -> str:
        self.values.append(str.__str__(text))
        return f"saline_fact_{self.nonce}_{len(self.values) - 1}_"

    def printed(self, value: Any) -> Any:
        """What ``{{ value }}`` prints into YAML text."""
        if isinstance(value, FactStr):
            return value if plain(value) else self.token(value)
        if isinstance(value, str):
            # A fact that lost its mark on the way (``'{}.conf'.format(fact)``, ``~``): its text is still there.
            for fact in self.risky:
                if fact in value:
                    value = value.replace(fact, self.token(fact))
            return value
        if isinstance(value, (Mapping, list, tuple)) and any(not plain(s) for s in strings(value)):
            # JSON is YAML's flow style; each risky string in it becomes a quoted token.
            return json.dumps(self._tokenized(value), default=str)
        return value

    def _tokenized(self, value: Any) -> Any:
        if isinstance(value, FactStr):
            return str.__str__(value) if plain(value) else self.token(value)
        if isinstance(value, Mapping):
            return {str(self._tokenized(k)): self._tokenized(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._tokenized(v) for v in value]
        return value

    def restore(self, data: Any) -> Any:
        """The parsed document with every token replaced by its fact's text (keys included)."""
        if not self.values:
            return data
        if isinstance(data, str):
            return self.pattern.sub(lambda m: self.values[int(m.group(1))], data)
        if isinstance(data, dict):
            return {self.restore(k): self.restore(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.restore(v) for v in data]
        return data


@jinja2.pass_context
def finalize(context: jinja2.runtime.Context, value: Any) -> Any:
    """The environment's ``finalize``: facts print as tokens in YAML renders, as themselves elsewhere."""
    tokens = context.get(_CONTEXT_KEY)
    return tokens.printed(value) if isinstance(tokens, FactTokens) else value


def yaml_render_context(context: dict[str, Any]) -> tuple[dict[str, Any], FactTokens]:
    """The context for rendering one YAML document, and the tokens to restore after parsing it."""
    tokens = FactTokens(context.get("grains"))
    return {**context, _CONTEXT_KEY: tokens}, tokens
