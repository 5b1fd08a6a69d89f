"""cmd.run and cmd.wait with Salt's guards: ``creates``, ``unless``, ``onlyif``; ``cwd``, ``env``.

No shell: a command given as a string is split with :func:`shlex.split` and run as
an argv list, so ``|``, ``>``, ``&&``, ``$VAR`` and globs are NOT interpreted. A
command whose words include shell operators is refused at validation with a hint;
write ``sh -c '...'`` to ask for a shell explicitly.

Guards are evaluated as facts (also in test mode, as Salt does — keep them
read-only): ``onlyif`` — run only if every command exits 0; ``unless`` — skip if
every command exits 0; ``creates`` — skip if every path exists. Guard commands are
strings (split like ``name``) or argv lists: ``unless: [["test", "-e", "/x"]]``.

``cmd.run`` without a guard runs every time and reports a change every time
(declared ``converges=False``); with a guard it stops running once the guard holds.
``cmd.wait`` (Salt's) runs only when a ``watch``-ed state changed, guards permitting.
"""

from __future__ import annotations

import shlex
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, StateArgs, StateContext, state_function
from saline.states.engine.paths import NodePath
from saline.states.engine.runner import Runner

SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "<<", "2>", "2>&1", "&>", "|&"}


def split_command(command: str | list[str]) -> list[str]:
    if isinstance(command, list):
        argv = [str(a) for a in command]
    else:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"cannot split {command!r} into words: {exc}") from None
    if not argv:
        raise ValueError("empty command")
    operators = [w for w in argv if w in SHELL_OPERATORS]
    if operators:
        raise ValueError(
            f"{command!r} uses shell syntax ({' '.join(operators)}), which is not interpreted without a shell: "
            f"write it as sh -c '...'"
        )
    return argv


def _commands(value: object) -> list[list[str]]:
    """A guard: one command string, or a list of commands (each a string or an argv list)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("expected a command string or a non-empty list of commands")
    return [split_command(item) for item in items]  # type: ignore[arg-type]


def _env(value: object) -> dict[str, str]:
    """Salt accepts ``env`` as a mapping or a list of one-key mappings."""
    if isinstance(value, list):
        merged: dict = {}
        for item in value:
            if not isinstance(item, dict):
                raise ValueError(f"env entries must be KEY: value mappings, got {item!r}")
            merged.update(item)
        value = merged
    if not isinstance(value, dict):
        raise ValueError("env must be a mapping of variable names to values")
    return {str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in value.items()}


Commands = Annotated[list[list[str]], BeforeValidator(_commands)]
Env = Annotated[dict[str, str], BeforeValidator(_env)]


class RunArgs(StateArgs):
    name: str  # the command: split with shlex, run without a shell
    cwd: NodePath | None = None
    env: Env = Field(default_factory=dict)
    creates: list[NodePath] | None = None
    unless: Commands | None = None
    onlyif: Commands | None = None
    timeout: float | None = Field(default=None, gt=0)
    success_retcodes: list[int] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _splits(cls, value: str) -> str:
        split_command(value)
        return value

    @field_validator("creates", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def argv(self) -> list[str]:
        return split_command(self.name)


class CmdFacts(Facts):
    argv: list[str]  # ready to run: the command, behind `env -C DIR` when cwd is set
    skip: str | None = None  # why a guard says not to run


def in_cwd(argv: list[str], cwd: str | None) -> list[str]:
    """The runner has no cwd; coreutils ``env -C`` changes directory without a shell."""
    return ["env", "-C", cwd, "--", *argv] if cwd else argv


def _guard(args: RunArgs, runner: Runner, cwd: str | None) -> str | None:
    def ok(command: list[str]) -> tuple[bool, str]:
        result = runner.run(in_cwd(command, cwd), env=args.env, timeout=args.timeout)
        return result.ok, f"{shlex.join(command)!r} rc={result.rc}"

    for command in args.onlyif or []:
        passed, said = ok(command)
        if not passed:
            return f"onlyif condition is false: {said}"
    if args.unless:
        results = [ok(command) for command in args.unless]
        if all(passed for passed, _ in results):
            return "unless condition is true: " + ", ".join(said for _, said in results)
    if args.creates and all(runner.path(p).exists() or runner.path(p).is_symlink() for p in args.creates):
        return f"{', '.join(args.creates)} exists"
    return None


def cmd_facts(args: RunArgs, ctx: StateContext) -> CmdFacts:
    cwd = str(ctx.runner.path(args.cwd)) if args.cwd else None
    return CmdFacts(argv=in_cwd(args.argv(), cwd), skip=_guard(args, ctx.runner, cwd))


def command_step(args: RunArgs, facts: CmdFacts) -> CommandStep:
    where = f" in {args.cwd}" if args.cwd else ""
    return CommandStep(description=f"Run {args.name!r}{where}", argv=facts.argv, env=args.env,
                       timeout=args.timeout, ok_rc=sorted({0, *args.success_retcodes}))


@state_function("cmd.run", RunArgs, facts=cmd_facts, converges=False)
def run(args: RunArgs, facts: CmdFacts) -> Plan:
    """Run a command (no shell), unless a guard says it is not needed."""
    if facts.skip:
        return Plan(comment=f"Skipped: {facts.skip}")
    return Plan(steps=[command_step(args, facts)], changes={"command": args.name})


def run_on_watch(args: RunArgs, facts: CmdFacts) -> list[CommandStep]:
    return [] if facts.skip else [command_step(args, facts)]


@state_function("cmd.wait", RunArgs, facts=cmd_facts, mod_watch=run_on_watch)
def wait(args: RunArgs, facts: CmdFacts) -> Plan:
    """Run a command only when a watched state changed (guards still apply)."""
    return Plan(comment="cmd.wait runs only when a watched state changed")
