"""sysctl.present (Salt's): a kernel parameter set now (``sysctl -w``) and persisted in a
sysctl.d file (Salt's default ``/etc/sysctl.d/99-salt.conf``, so a node Salt managed before
keeps its file). Changes are Salt's: ``{name: value}``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.engine.paths import NodePath
from saline.states.system import sysctlconf

SALT_CONFIG = "/etc/sysctl.d/99-salt.conf"
_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_:@+-]+)+$")


def _key(value: str) -> str:
    key = value.replace("/", ".")
    if not _KEY.match(key):
        raise ValueError(f"{value!r} is not a sysctl key like net.ipv4.ip_forward")
    return key


def _text(value: object) -> object:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    return value


class PresentArgs(StateArgs):
    name: Annotated[str, AfterValidator(_key)]
    value: Annotated[str, BeforeValidator(_text)]
    config: NodePath = SALT_CONFIG


class SysctlFacts(Facts):
    running: str | None  # None: the kernel has no such key
    config_text: str | None  # None: no config file yet


def sysctl_facts(args: PresentArgs, ctx: StateContext) -> SysctlFacts:
    result = ctx.runner.run(["sysctl", "-n", args.name])
    path = ctx.runner.path(args.config)
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = None
    return SysctlFacts(running=result.stdout.strip() if result.ok else None, config_text=text)


def _or_new(config_text: str | None) -> str:
    """The config file's text, or the header Salt's sysctl.persist writes into a new one."""
    return "#\n# Kernel sysctl configuration\n#\n" if config_text is None else config_text


@state_function("sysctl.present", PresentArgs, facts=sysctl_facts)
def present(args: PresentArgs, facts: SysctlFacts) -> Plan:
    """The parameter has the value now and after a reboot."""
    if facts.running is None:
        raise Refuse(f"the kernel has no parameter {args.name} (sysctl -n {args.name} failed)")
    steps: list = []
    if not sysctlconf.same(facts.running, args.value):
        steps.append(CommandStep(description=f"Set {args.name} = {args.value} now",
                                 argv=["sysctl", "-w", f"{args.name}={args.value}"]))
    persisted = sysctlconf.values(facts.config_text or "").get(args.name)
    if persisted is None or not sysctlconf.same(persisted, args.value):
        steps.append(WriteFileStep(description=f"Persist {args.name} = {args.value} in {args.config}", path=args.config,
                                   content=sysctlconf.set_value(_or_new(facts.config_text), args.name, args.value).encode(),
                                   makedirs=True))
    if not steps:
        return Plan(comment=f"Sysctl value {args.name} = {args.value} is already set")
    return Plan(steps=steps, changes={args.name: args.value})
