"""Rendering of state trees: safe paths inside the roots, Jinja2, strict YAML.

Every file the compiler reads (SLS files, top files, ``source:`` files, Jinja
includes) is found through :func:`resolve_in_roots`, which refuses absolute paths,
``..`` and symlinks that leave the root. That is where Salt's file-server path
traversal bugs lived; here it is one function with tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import yaml

from saline.protocol import yamlvalues
from saline.states.compile import facts

SALT_URL = "salt://"
_SLS_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class CompileError(ValueError):
    """A state tree cannot be compiled; the message names the file (and state ID and key)."""


class NotInRoots(CompileError):
    pass


def resolve_in_roots(roots: Sequence[Path], ref: str, *, directory: bool = False) -> Path:
    """``salt://a/b`` or ``a/b`` → the real file (or ``directory``) under the first root that has it."""
    rel = ref[len(SALT_URL):] if ref.startswith(SALT_URL) else ref
    parts = PurePosixPath(rel).parts
    if not rel or PurePosixPath(rel).is_absolute() or ".." in parts:
        raise CompileError(f"{ref!r} is outside the state roots (only paths relative to a root, without '..')")
    for root in roots:
        base = Path(root).resolve()
        candidate = base.joinpath(*parts)
        if not os.path.lexists(candidate):
            continue
        real = candidate.resolve()
        if not real.is_relative_to(base):
            raise CompileError(f"{ref!r} resolves to {real}, outside the state root {base}")
        if directory and not real.is_dir():
            raise CompileError(f"{ref!r} is not a directory")
        if not directory and not real.is_file():
            raise CompileError(f"{ref!r} is not a regular file")
        return real
    raise NotInRoots(f"{ref!r} was not found in the roots {', '.join(str(r) for r in roots)}")


def sls_candidates(name: str) -> list[str]:
    """Salt's mapping: ``a.b`` → ``a/b.sls`` or ``a/b/init.sls``."""
    if not _SLS_NAME.match(name):
        raise CompileError(f"{name!r} is not a valid SLS name (dotted names of letters, digits, '_' and '-')")
    rel = name.replace(".", "/")
    return [f"{rel}.sls", f"{rel}/init.sls"]


def find_sls(roots: Sequence[Path], name: str) -> Path:
    for rel in sls_candidates(name):
        try:
            return resolve_in_roots(roots, rel)
        except NotInRoots:
            continue
    raise NotInRoots(f"SLS {name!r} not found (looked for {' and '.join(sls_candidates(name))} in {', '.join(str(r) for r in roots)})")


class TreeLoader(jinja2.BaseLoader):
    """Jinja ``{% include %}`` / ``{% import %}`` through the same safe resolution."""

    def __init__(self, roots: Sequence[Path]):
        self.roots = list(roots)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            path = resolve_in_roots(self.roots, template)
        except NotInRoots:
            raise jinja2.TemplateNotFound(template) from None
        mtime = path.stat().st_mtime
        return path.read_text(), str(path), lambda: path.stat().st_mtime == mtime


def environment(roots: Sequence[Path]) -> jinja2.Environment:
    from saline.states.compile import jinjaext

    from saline.states.compile.factjinja import FactEnvironment

    env = FactEnvironment(  # a string made from a fact stays marked through ~, filters and calls
        loader=TreeLoader(roots),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=facts.finalize,  # agent-reported facts print as data, never as YAML structure
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", jinjaext.SaltTags],  # Salt's Jinja additions
    )
    env.filters.update(jinjaext.FILTERS)
    env.mark_filters()
    return env


def render_text(env: jinja2.Environment, text: str, context: dict[str, Any], where: str) -> str:
    try:
        return env.from_string(text).render(**context)
    except CompileError as exc:
        raise CompileError(f"{where}: {exc}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise CompileError(f"{where}: line {exc.lineno}: Jinja syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise CompileError(f"{where}: Jinja template {exc.name!r} not found in the state roots") from None
    except jinja2.UndefinedError as exc:
        raise CompileError(f"{where}: Jinja: {exc.message}") from None
    except Exception as exc:  # any error raised by template code is the template's fault
        raise CompileError(f"{where}: Jinja rendering failed: {type(exc).__name__}: {exc}") from None


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: ~5x faster on big trees
    """SafeLoader that refuses duplicate keys (a repeated state ID silently replacing another)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# A leading-zero integer stays the text the user typed (mode: 0640 is "0640", not 416).
_StrictLoader.add_constructor(yamlvalues.INT_TAG, yamlvalues.construct_int)


def parse_yaml(text: str, where: str) -> Any:
    """SLS, top file and pillar YAML: safe, no duplicate keys, leading-zero integers kept as typed."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CompileError(f"{where}: invalid YAML after rendering: {exc}") from None


def render_yaml_file(env: jinja2.Environment, path: Path, context: dict[str, Any]) -> Any:
    """Read, render through Jinja, parse as YAML; errors name the file."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CompileError(f"{path}: cannot read: {exc}") from None
    context, tokens = facts.yaml_render_context(context)
    return tokens.restore(parse_yaml(render_text(env, text, context, str(path)), str(path)))


def template_context(pillar: dict, node: dict, agent_id: str, **extra: Any) -> dict[str, Any]:
    """What every SLS, top file and template sees (Salt's names: pillar, grains, salt)."""
    from saline.states.compile.saltfuncs import SaltFunctions  # it builds on pillar.py, which imports this module

    node = facts.node_facts(node, agent_id)  # id from the key; the rest is the agent's word, as data
    salt = SaltFunctions(pillar, node)
    return {"pillar": pillar, "grains": node, "facts": node, "agent_id": agent_id, "salt": salt, "saline": salt,
            **extra}
