"""YAML values as the user typed them: a leading-zero number stays its text.

YAML 1.1 reads an unquoted ``0640`` as the octal number 416; nobody writing an SLS, a
pillar or ``saline run … mode=0640`` means that (``mode: 0640``, ``UMASK: 022``,
``NICE: 010``). The SLS loader and the CLI's ``key=value`` arguments both use this, so a
value means the same wherever it is typed. Only ``yaml`` is imported (the CLI stays light).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_LEADING_ZERO_INT = re.compile(r"^[-+]?0[0-9_]+$")
INT_TAG = "tag:yaml.org,2002:int"


def construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    if _LEADING_ZERO_INT.match(node.value):
        return node.value
    return loader.construct_yaml_int(node)


class TypedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading with leading-zero numbers kept as typed."""


TypedLoader.add_constructor(INT_TAG, construct_int)


def load(text: str) -> Any:
    return yaml.load(text, Loader=TypedLoader)  # noqa: S506 - a SafeLoader subclass
