"""service.*: running, dead, enabled, disabled — on systemd and on sysvinit nodes.

The init system is detected per node (:mod:`saline.states.system.initsys`). ``service.running``
with a ``watch`` requisite restarts the service when the watched state changed
(``reload: true`` → reload), as Salt's ``mod_watch`` does; a service that the same run
starts is not restarted again.

sysvinit ``disabled`` leaves ``K`` links in every runlevel (``update-rc.d -f NAME remove``
then ``update-rc.d NAME defaults-disabled``) rather than no links at all: the seed's
``update-rc.d -f drbd remove`` alone is undone by the next drbd package upgrade, whose
postinst runs ``update-rc.d drbd defaults`` — and that only adds links when none exist.
"""

from __future__ import annotations

from pydantic import Field

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.initsys import (
    LSB_STOPPED,
    parse_is_active,
    SYSTEMD_ENABLED,
    SYSTEMD_FIXED,
    InitSystem,
    RcLinks,
    ServiceName,
    SystemdCommands,
    SysvCommands,
    detect,
    update_rc_d_env,
    init_script,
    rc_links,
    root_of,
)

# ---- arguments ---------------------------------------------------------------------------------


class ServiceArgs(StateArgs):
    name: ServiceName


class RunningArgs(ServiceArgs):
    enable: bool | None = None  # Salt: also enable (True) or disable (False) at boot; None leaves it
    reload: bool = False  # on a watch, reload instead of restart


class DeadArgs(ServiceArgs):
    enable: bool | None = None


# ---- facts ---------------------------------------------------------------------------------------


class ServiceFacts(Facts):
    name: str
    init: InitSystem
    root: str | None = None
    script: str | None = None  # host path of /etc/init.d/NAME when it exists
    running: bool | None = None  # None: not observed (the function does not need it)
    unit_state: str | None = None  # systemd: `systemctl is-enabled` answer
    links: list[str] = Field(default_factory=list)  # sysvinit: rcN.d links

    def sysv(self) -> SysvCommands:
        if self.script is None:
            raise Refuse(f"no init script /etc/init.d/{self.name}")
        return SysvCommands(name=self.name, script=self.script)

    def systemd(self) -> SystemdCommands:
        return SystemdCommands(name=self.name, root=self.root)

    def action(self, verb: str) -> list[str]:
        """argv for start/stop/restart/reload/status through this node's init system."""
        return self.systemd().action(verb) if self.init == "systemd" else self.sysv().action(verb)


def _is_running(ctx: StateContext, facts: ServiceFacts) -> bool:
    if facts.init == "systemd":
        answer = ctx.runner.run(facts.systemd().action("is-active"))
        running = parse_is_active(answer.stdout)
        if running is None:
            raise Refuse(f"{facts.name} status unknown: {answer.describe()}")
        return running
    status = ctx.runner.run(facts.action("status"))
    if status.rc == 0:
        return True
    if status.rc in LSB_STOPPED:
        return False
    raise Refuse(f"{facts.name} status unknown: {status.describe()}")


def observe(args: ServiceArgs, ctx: StateContext, *, status: bool, boot: bool) -> ServiceFacts:
    runner = ctx.runner
    script = init_script(runner, args.name)
    facts = ServiceFacts(name=args.name, init=detect(runner), root=root_of(runner),
                         script=str(script) if script.is_file() else None)
    if boot and facts.init == "systemd":
        answer = runner.run(facts.systemd().unit_file("is-enabled"))
        facts.unit_state = answer.stdout.strip() or "not-found"
    elif boot:
        facts.links = rc_links(runner, args.name).links
    if status:
        facts.running = _is_running(ctx, facts)
    return facts


def running_facts(args: RunningArgs | DeadArgs, ctx: StateContext) -> ServiceFacts:
    return observe(args, ctx, status=True, boot=args.enable is not None)


def boot_facts(args: ServiceArgs, ctx: StateContext) -> ServiceFacts:
    return observe(args, ctx, status=False, boot=True)


# ---- planning ------------------------------------------------------------------------------------


def _step(description: str, argv: list[str], env: dict[str, str] | None = None) -> CommandStep:
    return CommandStep(description=description, argv=argv, env=env or {})


def run_plan(facts: ServiceFacts, want: bool) -> Plan:
    if facts.running == want:
        return Plan(comment=f"Service {facts.name} is already {'running' if want else 'dead'}")
    verb = "start" if want else "stop"
    return Plan(steps=[_step(f"{verb.capitalize()} {facts.name}", facts.action(verb))],
                changes={"running": {"old": facts.running, "new": want}})


def _systemd_boot_plan(facts: ServiceFacts, want: bool) -> Plan:
    state, cmds = facts.unit_state, facts.systemd()
    if state in ("not-found", "bad"):
        raise Refuse(f"systemd has no unit {facts.name} ({state})")
    if want:
        if state in SYSTEMD_ENABLED:
            return Plan()
        if state == "masked":
            raise Refuse(f"{facts.name} is masked: unmask it before enabling")
        return Plan(steps=[_step(f"Enable {facts.name}", cmds.unit_file("enable"))],
                    changes={"enabled": {"old": False, "new": True}})
    if state in SYSTEMD_FIXED:
        raise Refuse(f"{facts.name} is {state}: systemctl disable cannot stop it starting; mask it instead")
    if state not in SYSTEMD_ENABLED:
        return Plan()
    return Plan(steps=[_step(f"Disable {facts.name}", cmds.unit_file("disable"))],
                changes={"enabled": {"old": True, "new": False}})


def _sysv_boot_plan(facts: ServiceFacts, want: bool) -> Plan:
    starts = RcLinks(links=facts.links).starts_at_boot
    # Off and pinned: K links only (a package's `update-rc.d defaults` leaves existing links alone).
    pinned_off = not starts and (bool(facts.links) or facts.script is None)
    if (want and starts) or (not want and pinned_off):
        return Plan()
    env = update_rc_d_env(facts.root)
    steps = [_step(f"Remove the rc links of {facts.name}", ["update-rc.d", "-f", facts.name, "remove"], env)] \
        if facts.links else []
    if want or facts.script is not None:
        facts.sysv()  # refuses when there is no init script to read the runlevels from
        action = "defaults" if want else "defaults-disabled"
        steps.append(_step(f"{'Enable' if want else 'Disable'} {facts.name} at boot ({action} links)",
                           ["update-rc.d", facts.name, action], env))
    if starts != want:
        changes: dict = {"enabled": {"old": starts, "new": want}}
    else:
        changes = {"links": {"old": facts.links, "new": "K links in every runlevel"}}
    return Plan(steps=steps, changes=changes)


def boot_plan(facts: ServiceFacts, want: bool) -> Plan:
    plan = _systemd_boot_plan(facts, want) if facts.init == "systemd" else _sysv_boot_plan(facts, want)
    if plan.empty:
        plan.comment = f"Service {facts.name} is already {'enabled' if want else 'disabled'}"
    return plan


def run_and_boot_plan(facts: ServiceFacts, running: bool, enable: bool | None) -> Plan:
    """service.running/dead: the run state, then (if ``enable`` is given) the boot state."""
    plans = [run_plan(facts, running)] + ([boot_plan(facts, enable)] if enable is not None else [])
    out = Plan(comment="; ".join(p.comment for p in plans if p.comment))
    for p in plans:
        out.steps.extend(p.steps)
        out.changes.update(p.changes)
    return out


# ---- the functions ---------------------------------------------------------------------------------


def restart_on_watch(args: RunningArgs, facts: ServiceFacts) -> list[CommandStep]:
    if not facts.running:
        return []  # the plan starts it, with the new configuration already in place
    verb = "reload" if args.reload else "restart"
    return [_step(f"{verb.capitalize()} {facts.name} (watched state changed)", facts.action(verb))]


@state_function("service.running", RunningArgs, facts=running_facts, mod_watch=restart_on_watch)
def running(args: RunningArgs, facts: ServiceFacts) -> Plan:
    """The service runs (and, with ``enable``, starts at boot or not)."""
    return run_and_boot_plan(facts, True, args.enable)


@state_function("service.dead", DeadArgs, facts=running_facts)
def dead(args: DeadArgs, facts: ServiceFacts) -> Plan:
    """The service is stopped (and, with ``enable``, starts at boot or not)."""
    return run_and_boot_plan(facts, False, args.enable)


@state_function("service.enabled", ServiceArgs, facts=boot_facts)
def enabled(args: ServiceArgs, facts: ServiceFacts) -> Plan:
    """The service starts at boot."""
    return boot_plan(facts, True)


@state_function("service.disabled", ServiceArgs, facts=boot_facts)
def disabled(args: ServiceArgs, facts: ServiceFacts) -> Plan:
    """The service does not start at boot (sysvinit: K links everywhere, see the module doc)."""
    return boot_plan(facts, False)
