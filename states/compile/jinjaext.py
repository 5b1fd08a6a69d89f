"""Salt's Jinja additions, so ``map.jinja`` formulas render: ``{% do %}``,
``{% import_yaml 'x.yaml' as x %}`` (and ``import_json``, ``import_text``),
``{% load_yaml as x %}…{% endload %}`` (and ``load_json``, ``load_text``), and the filters
``json``, ``yaml``, ``tojson``, ``load_yaml``, ``load_json``, ``load_text``, ``yaml_encode``,
``yaml_dquote``, ``yaml_squote``, ``regex_replace``, ``regex_search``, ``regex_match``,
``to_bool``, ``unique``.

Imported and loaded YAML goes through the SLS loader (safe, no duplicate keys,
leading-zero numbers kept as typed); imported files are found in the state roots like
every other template.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jinja2
import yaml
from jinja2 import nodes
from jinja2.ext import Extension

_LOADERS = ("load_yaml", "load_json", "load_text")
_IMPORTERS = ("import_yaml", "import_json", "import_text")


def _text(value: Any) -> str:
    return str(value)  # an imported template module prints as its rendered text


def load_yaml(value: Any) -> Any:
    from saline.states.compile.render import parse_yaml

    return parse_yaml(_text(value), "load_yaml")


def load_json(value: Any) -> Any:
    try:
        return json.loads(_text(value))
    except ValueError as exc:
        raise jinja2.TemplateRuntimeError(f"load_json: not JSON: {exc}") from None


def to_json(value: Any, sort_keys: bool = True, indent: int | None = None) -> str:
    """Salt's ``json`` filter: compact JSON (a YAML flow value), keys sorted."""
    return json.dumps(value, sort_keys=sort_keys, indent=indent).strip()


def to_json_safe(value: Any, indent: int | None = None, **options: Any) -> str:
    """Salt's ``tojson``: ASCII JSON with <, >, & and ' escaped."""
    options.setdefault("ensure_ascii", True)
    text = json.dumps(value, indent=indent, **options)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


def to_yaml(value: Any, flow_style: bool = True) -> str:
    """Salt's ``yaml`` filter: flow-style YAML, without the document end marker."""
    text = yaml.safe_dump(value, default_flow_style=flow_style).strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text


def yaml_encode(value: Any) -> str:
    """One scalar as a YAML value (a string quoted when it has to be)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text


def yaml_dquote(value: Any) -> str:
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def yaml_squote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1", "on", "y")
    return bool(value)


def unique(values: Any) -> list:
    out: list = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def regex_replace(text: Any, pattern: str, repl: str, ignorecase: bool = False, multiline: bool = False) -> str:
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.sub(pattern, repl, str(text), flags=flags)


def _regex(fn):
    def run(text: Any, pattern: str, ignorecase: bool = False, multiline: bool = False):
        flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
        found = fn(pattern, str(text), flags)
        return found.groups() if found else None
    return run


FILTERS = {
    "json": to_json, "tojson": to_json_safe, "yaml": to_yaml, "load_yaml": load_yaml, "load_json": load_json,
    "load_text": _text, "yaml_encode": yaml_encode, "yaml_dquote": yaml_dquote, "yaml_squote": yaml_squote,
    "to_bool": to_bool, "unique": unique, "regex_replace": regex_replace,
    "regex_search": _regex(re.search), "regex_match": _regex(re.match),
}


class SaltTags(Extension):
    """``import_*`` and ``load_* … endload`` tags, turned into plain Jinja nodes at parse time."""

    tags = set(_LOADERS + _IMPORTERS)

    def parse(self, parser: jinja2.parser.Parser) -> list[nodes.Node]:
        tag = parser.stream.current.value
        if tag in _IMPORTERS:
            return self._import(parser, tag.split("_", 1)[1])
        return self._load(parser, tag)

    def _import(self, parser: jinja2.parser.Parser, kind: str) -> list[nodes.Node]:
        # `{% import_yaml 'x' as v %}` = `{% import 'x' as v %}{% set v = v | load_yaml %}`
        node = parser.parse_import()
        lineno = node.lineno
        loaded = nodes.Filter(nodes.Name(node.target, "load", lineno=lineno), f"load_{kind}", [], [], None, None,
                              lineno=lineno)
        return [node, nodes.Assign(nodes.Name(node.target, "store", lineno=lineno), loaded, lineno=lineno)]

    def _load(self, parser: jinja2.parser.Parser, tag: str) -> list[nodes.Node]:
        # `{% load_yaml as v %}BODY{% endload %}` = `{% set v %}BODY{% endset %}` filtered by load_yaml
        lineno = next(parser.stream).lineno
        parser.stream.expect("name:as")
        target = parser.parse_assign_target()
        body = parser.parse_statements(("name:endload",), drop_needle=True)
        filtered = nodes.Filter(None, tag, [], [], None, None, lineno=lineno)
        return [nodes.AssignBlock(target, filtered, body, lineno=lineno)]
