"""The execution functions Salt users reach for on day one, by Salt's names: ``grains.items``,
``grains.get``, ``grains.item``, ``grains.ls``, ``cmd.run``/``cmd.run_all``/``cmd.retcode``,
``pkg.version``, ``service.status``, ``sys.list_functions`` and ``state.single``.

Each is allow-listed in the agent config like every other function (``functions:``;
``cmd.*`` is not in the default list). ``cmd.*`` runs the command's words without a shell
and refuses shell syntax, unless ``shell:`` names one, exactly as the ``cmd.run`` state.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from saline.protocol.codec import describe_validation_error

from .functions import FUNCTIONS, FunctionContext, FunctionError, FunctionResult, agent_function, is_allowed


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _facts(ctx: FunctionContext) -> dict[str, Any]:
    from .fn_facts import gather_facts

    return gather_facts(ctx.agent_id, ctx.version)


def _runner(ctx: FunctionContext):
    from saline.states.engine.runner import Runner

    return Runner(root=ctx.settings.get("state_root", "/"), env={**os.environ, **ctx.settings.get("state_env", {})},
                  cancel=ctx.cancel)


# ---- grains.* (Salt's name for facts) ---------------------------------------------------------


@agent_function("grains.items")
def grains_items(args: _Args, ctx: FunctionContext) -> dict[str, Any]:
    """Every fact (Salt's grains.items; the same data as facts.items)."""
    return _facts(ctx)


class GrainsGetArgs(_Args):
    key: str = Field(min_length=1)
    default: Any = ""
    delimiter: str = Field(default=":", min_length=1)


@agent_function("grains.get", GrainsGetArgs)
def grains_get(args: GrainsGetArgs, ctx: FunctionContext) -> Any:
    """One fact by a colon path (``grains.get ip4_interfaces:eth0``), or ``default``."""
    from saline.states.compile.saltfuncs import traverse

    return traverse(_facts(ctx), args.key, args.default, args.delimiter)


class GrainsItemArgs(_Args):
    VARARGS: ClassVar[str] = "keys"  # grains.item os osrelease, as Salt's *args

    keys: Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = Field(min_length=1)


@agent_function("grains.item", GrainsItemArgs)
def grains_item(args: GrainsItemArgs, ctx: FunctionContext) -> dict[str, Any]:
    """The named facts as a mapping (``grains.item os osrelease``)."""
    from saline.states.compile.saltfuncs import traverse

    facts = _facts(ctx)
    return {key: traverse(facts, key, "") for key in args.keys}


@agent_function("grains.ls")
def grains_ls(args: _Args, ctx: FunctionContext) -> list[str]:
    """The names of the facts."""
    return sorted(_facts(ctx))


# ---- cmd.* ------------------------------------------------------------------------------------


class CmdArgs(_Args):
    cmd: str = Field(min_length=1)
    shell: str | None = None
    cwd: str | None = None
    env: dict[str, Any] = Field(default_factory=dict)
    runas: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    hide_output: bool = False


def _run_cmd(args: CmdArgs, ctx: FunctionContext) -> dict[str, Any]:
    """The command the way the cmd.run state runs it (same checks), as Salt's run_all dict."""
    from saline.states.engine.base import Refuse, StateContext
    from saline.states.modules import cmd

    try:
        state_args = cmd.RunArgs(name=args.cmd, shell=args.shell, cwd=args.cwd, env=args.env, runas=args.runas,
                                 timeout=args.timeout, hide_output=args.hide_output)
    except ValidationError as exc:
        raise FunctionError(f"cmd: {describe_validation_error(exc)}") from None
    runner = _runner(ctx)
    try:
        facts = cmd.cmd_facts(state_args, StateContext(runner=runner))
    except Refuse as exc:
        raise FunctionError(f"cmd: {exc}") from None
    result = runner.run(facts.argv, env=facts.env, timeout=args.timeout)
    return cmd.cmd_report(state_args, [result]).changes


@agent_function("cmd.run_all", CmdArgs)
def cmd_run_all(args: CmdArgs, ctx: FunctionContext) -> FunctionResult:
    """``{pid, retcode, stdout, stderr}`` of a command (no shell unless ``shell:``)."""
    data = _run_cmd(args, ctx)
    return FunctionResult(success=data["retcode"] == 0, data=data, retcode=0 if data["retcode"] == 0 else 1)


@agent_function("cmd.run", CmdArgs)
def cmd_run(args: CmdArgs, ctx: FunctionContext) -> str:
    """A command's stdout (and stderr, as Salt's cmd.run merges them); no shell unless ``shell:``."""
    data = _run_cmd(args, ctx)
    return "\n".join(part for part in (data["stdout"], data["stderr"]) if part)


@agent_function("cmd.retcode", CmdArgs)
def cmd_retcode(args: CmdArgs, ctx: FunctionContext) -> int:
    """A command's exit code."""
    return _run_cmd(args, ctx)["retcode"]


# ---- pkg.version, service.status ----------------------------------------------------------------


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class PkgVersionArgs(_Args):
    names: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)


@agent_function("pkg.version", PkgVersionArgs)
def pkg_version(args: PkgVersionArgs, ctx: FunctionContext) -> str | dict[str, str]:
    """Installed version of each package ("" when not installed); one name gives a string, as Salt."""
    from saline.states.engine.runner import CommandError
    from saline.states.system import dpkg

    try:
        for name in args.names:
            dpkg.check_package_name(name)
        runner = _runner(ctx)
        states = dpkg.query(runner, dpkg.DpkgTarget.for_runner(runner), args.names)
    except (ValueError, CommandError) as exc:
        raise FunctionError(f"pkg.version: {exc}") from None
    versions = {n: (states[n].version or "") if n in states and states[n].installed else "" for n in args.names}
    return versions[args.names[0]] if len(args.names) == 1 else versions


class ServiceArgs(_Args):
    name: str = Field(min_length=1)


@agent_function("service.status", ServiceArgs)
def service_status(args: ServiceArgs, ctx: FunctionContext) -> bool:
    """Whether the service runs (systemctl is-active, or the init script's LSB status)."""
    from saline.states.system import initsys

    try:
        initsys.check_service_name(args.name)
    except ValueError as exc:
        raise FunctionError(f"service.status: {exc}") from None
    runner = _runner(ctx)
    if initsys.detect(runner) == "systemd":
        return bool(initsys.parse_is_active(runner.run(["systemctl", "is-active", args.name]).stdout))
    return runner.run([str(initsys.init_script(runner, args.name)), "status"]).rc == 0


# ---- sys.list_functions, state.single ---------------------------------------------------------


class ListArgs(_Args):
    pattern: str = "*"


@agent_function("sys.list_functions", ListArgs)
def list_functions(args: ListArgs, ctx: FunctionContext) -> list[str]:
    """The functions a master may call on this agent (the allow-list applied), Salt's sys.list_functions."""
    allowed = ctx.settings.get("functions", ["*"])
    return sorted(n for n in FUNCTIONS if is_allowed(n, allowed) and is_allowed(n, [args.pattern]))


class SingleArgs(BaseModel):
    model_config = ConfigDict(extra="allow")  # the state's own arguments

    fun: str = Field(pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
    name: str = Field(min_length=1)
    test: bool = False
    queue: bool = False


@agent_function("state.single", SingleArgs, outlives_timeout=True)
def state_single(args: SingleArgs, ctx: FunctionContext) -> FunctionResult:
    """One state function with its arguments, on this node (``state.single pkg.installed name=vim``):
    validated against the function's arguments like a compiled SLS, then run by the engine."""
    from saline.states.compile.compiled import CompiledRun, CompiledState
    from saline.states.engine.apply import StateArgsError, lookup, validate_args

    state_args = {**(args.model_extra or {}), "name": args.name}
    try:
        validate_args(lookup(args.fun), state_args)
        run = CompiledRun(agent_id=ctx.agent_id, states=[CompiledState(
            id=args.name, name=args.name, fun=args.fun, args=state_args, sls="single", sls_id=args.name)])
    except (StateArgsError, ValidationError, ValueError) as exc:
        raise FunctionError(f"state.single: {exc}") from None
    from .fn_state import StateApplyArgs, state_apply

    return state_apply(StateApplyArgs(run=run.model_dump(mode="python"), test=args.test, queue=args.queue), ctx)
