"""Location rules and resource sets as data, and their CIB XML (Pacemaker Explained 2.1,
"Rules" and "Resource Sets"; the schema that decides is this machine's, via crm_verify).

A rule scores a location by node attributes (``#uname``, ``#id``, any node attribute),
dates (``in_range``, ``gt``, ``lt``) or date specs (hours, weekdays …). A resource set
lists resources an order or colocation treats together.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["Started", "Stopped", "Promoted", "Unpromoted", "Master", "Slave"]
Action = Literal["start", "stop", "promote", "demote"]
_SCORE = re.compile(r"^[-+]?(\d+|INFINITY)$")
_RANGE = re.compile(r"^\d+(-\d+)?$")  # a date_spec field: 9 or 9-16


class Expression(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attribute: str = Field(min_length=1)  # #uname, #id, #kind or a node attribute
    operation: Literal["lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined"] = "eq"
    value: str | int | None = None
    type: Literal["string", "integer", "number", "version"] | None = None

    @model_validator(mode="after")
    def _value(self) -> "Expression":
        if (self.value is None) != (self.operation in ("defined", "not_defined")):
            raise ValueError(f"operation {self.operation} {'takes no' if self.value is not None else 'needs a'} value")
        return self


class DateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: str | None = None
    monthdays: str | None = None
    weekdays: str | None = None
    yeardays: str | None = None
    months: str | None = None
    weeks: str | None = None
    years: str | None = None
    weekyears: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _range(cls, value: object) -> object:
        if value is not None and not _RANGE.match(str(value)):
            raise ValueError(f"{value!r} is not a number or a range like 9-16")
        return None if value is None else str(value)


class DateExpression(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Literal["in_range", "gt", "lt", "date_spec"]
    start: str | None = None  # ISO 8601, e.g. 2026-01-01 or 2026-01-01T08:00:00
    end: str | None = None
    date_spec: DateSpec | None = None

    @model_validator(mode="after")
    def _fields(self) -> "DateExpression":
        if self.operation == "date_spec" and self.date_spec is None:
            raise ValueError("operation date_spec needs date_spec")
        if self.operation == "in_range" and self.start is None and self.end is None:
            raise ValueError("in_range needs start and/or end")
        if self.operation == "gt" and self.start is None or self.operation == "lt" and self.end is None:
            raise ValueError("gt needs start, lt needs end")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int | str = "INFINITY"
    score_attribute: str | None = None  # score from this node attribute instead
    boolean_op: Literal["and", "or"] = "and"
    role: Role | None = None
    expressions: list[Expression] = Field(default_factory=list)
    date_expressions: list[DateExpression] = Field(default_factory=list)

    @field_validator("score")
    @classmethod
    def _score(cls, value: int | str) -> str:
        return check_score(value)

    @model_validator(mode="after")
    def _something(self) -> "Rule":
        if not self.expressions and not self.date_expressions:
            raise ValueError("a rule needs at least one expression or date_expression")
        return self


class ResourceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resources: list[str] = Field(min_length=1)
    sequential: bool | None = None
    require_all: bool | None = None
    role: Role | None = None
    action: Action | None = None


def check_score(value: int | str) -> str:
    """A Pacemaker score: an integer or [+-]INFINITY, as the CIB spells it."""
    if not _SCORE.match(str(value)):
        raise ValueError(f"score {value!r} must be an integer or [+-]INFINITY")
    return str(value)


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _set(el: ET.Element, attrs: dict[str, str | None]) -> None:
    for key, value in attrs.items():
        if value is not None:
            el.set(key, value)


def rule_element(rule: Rule, rule_id: str) -> ET.Element:
    el = ET.Element("rule", id=rule_id)
    if rule.score_attribute:
        el.set("score-attribute", rule.score_attribute)
    else:
        el.set("score", rule.score)
    _set(el, {"boolean-op": rule.boolean_op, "role": rule.role})
    for n, expr in enumerate(rule.expressions, start=1):
        ex = ET.SubElement(el, "expression", id=f"{rule_id}-expr-{n}", attribute=expr.attribute, operation=expr.operation)
        _set(ex, {"value": None if expr.value is None else str(expr.value), "type": expr.type})
    for n, date in enumerate(rule.date_expressions, start=1):
        de = ET.SubElement(el, "date_expression", id=f"{rule_id}-date-{n}", operation=date.operation)
        _set(de, {"start": date.start, "end": date.end})
        if date.date_spec is not None:
            spec = ET.SubElement(de, "date_spec", id=f"{rule_id}-date-{n}-spec")
            _set(spec, date.date_spec.model_dump())
    return el


def set_element(rset: ResourceSet, set_id: str) -> ET.Element:
    el = ET.Element("resource_set", id=set_id)
    _set(el, {"sequential": _flag(rset.sequential), "require-all": _flag(rset.require_all), "role": rset.role,
              "action": rset.action})
    for rid in rset.resources:
        ET.SubElement(el, "resource_ref", id=rid)
    return el
