"""A Jinja environment in which a string made from a fact is still known to be one.

``facts.py`` prints an agent-reported string (a :class:`FactStr`) that YAML could read as
structure as a token, and puts it back after the parse. That needs the mark to survive
whatever the template does to the fact. ``str`` methods keep it (``FactStr``), but three
ways lost it, and then a filter that changes the text (``| upper``, ``| replace``) hid the
fact from the last check for its raw text, so its newline could add a state again:

* ``~`` joins with a plain ``str`` join: here it is :meth:`FactEnvironment.fact_join`;
* filters (``join``, ``format``, ``list``, saline's ``regex_replace`` …) build new plain
  strings: each filter's result is marked when one of its arguments held a fact, except
  the serialisers (``tojson``, ``yaml`` …), whose output quotes and escapes the fact;
* calls (``'{}'.format(fact)``, ``salt[…](fact)``) likewise, except macros, whose output
  has its facts printed as tokens already and is meant to be YAML structure.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.runtime import Context, Macro

from .facts import FactStr, mark, strings

# Filters whose output is an escaped serialisation: a fact inside it cannot change the
# document's structure, and the output is meant to be parsed as YAML (a list, a map).
SERIALISERS = frozenset({"json", "tojson", "yaml", "yaml_encode", "yaml_dquote", "yaml_squote"})


def _holds_fact(values: Iterable[Any]) -> bool:
    return any(strings(v) for v in values)


class _FactCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile or frame.eval_ctx.autoescape:
            return super().visit_Concat(node, frame)  # markup joins: not used by SLS rendering
        self.write("environment.fact_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _FactContext(Context):
    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        result = super().call(__obj, *args, **kwargs)
        if isinstance(__obj, Macro) or not _holds_fact((*args, *kwargs.values())):
            return result
        return mark(result)


def _marking(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)  # keeps jinja_pass_arg (pass_context / pass_eval_ctx / pass_environment)
    def filtered(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        return mark(result) if _holds_fact((*args, *kwargs.values())) else result

    return filtered


class FactEnvironment(jinja2.Environment):
    code_generator_class = _FactCodeGenerator
    context_class = _FactContext

    @staticmethod
    def fact_join(parts: Iterable[Any]) -> str:
        parts = [str(p) for p in parts]
        joined = "".join(parts)
        return FactStr(joined) if any(isinstance(p, FactStr) for p in parts) else joined

    def mark_filters(self) -> None:
        """Wrap every filter (call after the last one is added) so its result keeps the mark."""
        for name, fn in list(self.filters.items()):
            if name not in SERIALISERS:
                self.filters[name] = _marking(fn)
