"""What Pacemaker itself says is valid: resource agent parameters and cluster options.

Resource agents describe their parameters with ``crm_resource --show-metadata AGENT``;
cluster options are described by the daemons that read them
(``pacemaker-schedulerd metadata``, ``pacemaker-controld metadata``,
``pacemaker-based metadata``). Checking against these, on the node, catches a typo in
a property or parameter name before the CIB is touched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pydantic import BaseModel

from saline.states.engine.runner import CommandError, Runner

DAEMON_DIRS = ("/usr/lib/pacemaker", "/usr/libexec/pacemaker")
OPTION_DAEMONS = ("pacemaker-schedulerd", "pacemaker-controld", "pacemaker-based")
TRUE_WORDS = {"true", "yes", "on", "y", "1"}
FALSE_WORDS = {"false", "no", "off", "n", "0"}


class ParamMeta(BaseModel):
    name: str
    required: bool = False
    type: str = "string"
    options: list[str] = []


def parse_parameters(xml: str) -> dict[str, ParamMeta]:
    """``<parameters><parameter name required><content type><option value/>`` → by name."""
    params: dict[str, ParamMeta] = {}
    for p in ET.fromstring(xml).iter("parameter"):
        content = p.find("content")
        params[p.get("name", "")] = ParamMeta(
            name=p.get("name", ""),
            required=p.get("required") == "1",
            type=content.get("type", "string") if content is not None else "string",
            options=[o.get("value", "") for o in (content.findall("option") if content is not None else [])],
        )
    return params


def agent_parameters(runner: Runner, agent: str) -> dict[str, ParamMeta] | None:
    """The agent's parameters, or None when Pacemaker knows no such agent."""
    result = runner.run(["crm_resource", "--show-metadata", agent], timeout=60)
    if result.rc != 0:
        return None
    return parse_parameters(result.stdout)


def cluster_options(runner: Runner) -> dict[str, ParamMeta]:
    """Every cluster option (crm_config property) the daemons declare."""
    options: dict[str, ParamMeta] = {}
    for daemon in OPTION_DAEMONS:
        result = None
        for directory in DAEMON_DIRS:
            result = runner.run([f"{directory}/{daemon}", "metadata"], timeout=30)
            if result.rc != 127:
                break
        assert result is not None
        if result.rc != 0:
            raise CommandError(result)
        options.update(parse_parameters(result.stdout))
    return options


def check_value(meta: ParamMeta, value: str) -> str | None:
    """Why ``value`` is not valid for this option, or None if it is."""
    if meta.type == "boolean" and value.lower() not in TRUE_WORDS | FALSE_WORDS:
        return f"{meta.name} is a boolean, got {value!r}"
    if meta.type == "select" and meta.options and value not in meta.options:
        return f"{meta.name} must be one of {', '.join(meta.options)}, got {value!r}"
    if meta.type == "integer" and not value.lstrip("+-").isdigit() and value.upper().lstrip("+-") != "INFINITY":
        return f"{meta.name} is an integer, got {value!r}"
    return None
