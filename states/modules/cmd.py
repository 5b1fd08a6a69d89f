"""cmd.run and cmd.wait with Salt's arguments: guards (``creates``, ``unless``, ``onlyif``),
``shell``, ``runas``, ``cwd``, ``env``, ``stateful``, ``success_retcodes``, ``timeout``,
``hide_output``, ``output_loglevel``.

Salt runs every command through a shell. saline runs the command's words directly
(split with :func:`shlex.split`) unless the state says ``shell: /bin/sh`` (or another
shell), and refuses at compile time any command a shell would read differently: ``|``,
``>``, ``&&``, ``$VAR``, backquotes, globs, a leading ``~``, brace expansion … (see
:mod:`saline.states.system.shellsyntax`). So a command never silently runs with a
literal ``$NAME`` where Salt would have expanded it.

Guards are evaluated as facts (also in test mode, as Salt does — keep them read-only):
``onlyif`` — run only if every command exits 0; ``unless`` — skip if every command exits
0; ``creates`` — skip if every path exists. Guard commands are strings (split like
``name``, or run by ``shell``) or argv lists: ``unless: [["test", "-e", "/x"]]``.

The result is Salt's: ``changes`` is ``{pid, retcode, stdout, stderr}`` (each output cut
to :data:`OUTPUT_LIMIT` bytes), also when the command failed; the comment is
``Command "NAME" run``. ``stateful: true`` reads the last line of stdout
(``changed=no comment='…'``) or a JSON object, as Salt does.

``cmd.run`` without a guard runs every time and reports a change every time
(declared ``converges=False``); with a guard it stops running once the guard holds.
``cmd.wait`` (Salt's) runs only when a ``watch``-ed state changed, guards permitting.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shlex
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, Report, StateArgs, StateContext, state_function
from saline.states.engine.paths import NodePath, check_node_path
from saline.states.engine.runner import CommandResult, Runner
from saline.states.system.shellsyntax import shell_constructs

log = logging.getLogger("saline.states.cmd")

# Each of stdout and stderr is cut to this many bytes in a result (head and tail kept):
# a chatty command must not make a return too big to send or to show.
OUTPUT_LIMIT = 64 * 1024

LOG_LEVELS = {"quiet": None, "trace": logging.DEBUG, "garbage": logging.DEBUG, "all": logging.DEBUG,
              "profile": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
              "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}


def split_command(command: str | list[str]) -> list[str]:
    """A command as argv, run without a shell: refused if a shell would read it differently."""
    if isinstance(command, list):
        argv = [str(a) for a in command]  # already words: nothing for a shell to interpret
    else:
        found = shell_constructs(command)
        if found:
            raise ValueError(
                f"{command!r} uses shell syntax ({', '.join(found)}), which saline does not interpret without a shell: "
                f"add 'shell: /bin/sh' to run it through a shell as Salt does, or quote the characters"
            )
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"cannot split {command!r} into words: {exc}") from None
    if not argv:
        raise ValueError("empty command")
    return argv


def _commands(value: object) -> list[str | list[str]]:
    """A guard: one command string, or a list of commands (each a string or an argv list)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("expected a command string or a non-empty list of commands")
    for item in items:
        if not isinstance(item, (str, list)):
            raise ValueError(f"a guard command must be a string or an argv list, got {item!r}")
    return [[str(a) for a in item] if isinstance(item, list) else item for item in items]


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


def _shell_path(value: str) -> str:
    check_node_path(value)
    if any(c.isspace() for c in value):
        raise ValueError(f"shell {value!r} must be the path of a shell, like /bin/sh")
    return value


Commands = Annotated[list[str | list[str]], BeforeValidator(_commands)]
Env = Annotated[dict[str, str], BeforeValidator(_env)]


class RunArgs(StateArgs):
    name: str  # the command: split with shlex and run without a shell, unless `shell` is set
    shell: Annotated[str, AfterValidator(_shell_path)] | None = None
    runas: str | None = Field(default=None, min_length=1)
    cwd: NodePath | None = None
    env: Env = Field(default_factory=dict)
    creates: list[NodePath] | None = None
    unless: Commands | None = None
    onlyif: Commands | None = None
    timeout: float | None = Field(default=None, gt=0)
    success_retcodes: list[int] = Field(default_factory=list)
    stateful: bool = False
    hide_output: bool = False
    output_loglevel: Literal[tuple(LOG_LEVELS)] = "debug"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _commands_split(self) -> "RunArgs":
        # Every command string is checked at validation (compile time on the master).
        for command in [self.name, *(self.unless or []), *(self.onlyif or [])]:
            self.argv(command)
        return self

    @field_validator("creates", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def argv(self, command: str | list[str] | None = None) -> list[str]:
        command = self.name if command is None else command
        if self.shell is not None and isinstance(command, str):
            return [self.shell, "-c", command]
        return split_command(command)


class CmdFacts(Facts):
    argv: list[str]  # ready to run: behind `env -C DIR` for cwd and `setpriv` for runas
    env: dict[str, str] = Field(default_factory=dict)
    skip: str | None = None  # why a guard says not to run


def in_cwd(argv: list[str], cwd: str | None) -> list[str]:
    """The runner has no cwd; coreutils ``env -C`` changes directory without a shell."""
    return ["env", "-C", cwd, "--", *argv] if cwd else argv


def as_user(argv: list[str], user: pwd.struct_passwd | None) -> list[str]:
    """util-linux ``setpriv``: the user's uid, gid and groups, no PAM, no shell."""
    if user is None:
        return argv
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--", *argv]


def _runas(args: RunArgs) -> tuple[pwd.struct_passwd | None, dict[str, str]]:
    """The runas user and the environment a login of theirs would have (HOME, USER …)."""
    if args.runas is None:
        return None, {}
    try:
        user = pwd.getpwnam(args.runas)
    except KeyError:
        raise Refuse(f"runas: user {args.runas!r} does not exist on this node") from None
    return user, {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
                  "SHELL": user.pw_shell or "/bin/sh"}


def _guard(args: RunArgs, runner: Runner, wrap, env: dict[str, str]) -> str | None:
    def ok(command: str | list[str]) -> tuple[bool, str]:
        result = runner.run(wrap(args.argv(command)), env=env, timeout=args.timeout)
        shown = command if isinstance(command, str) else shlex.join(command)
        return result.ok, f"{shown!r} rc={result.rc}"

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
    if args.shell is not None and not os.access(args.shell, os.X_OK):
        raise Refuse(f"shell {args.shell} is not an executable on this node")
    cwd = str(ctx.runner.path(args.cwd)) if args.cwd else None
    if cwd is not None and not os.path.isdir(cwd):
        raise Refuse(f'Desired working directory "{args.cwd}" is not available')
    user, login_env = _runas(args)
    env = {**login_env, **args.env}

    def wrap(argv: list[str]) -> list[str]:
        return in_cwd(as_user(argv, user), cwd)

    return CmdFacts(argv=wrap(args.argv()), env=env, skip=_guard(args, ctx.runner, wrap, env))


def command_step(args: RunArgs, facts: CmdFacts) -> CommandStep:
    where = f" in {args.cwd}" if args.cwd else ""
    who = f" as {args.runas}" if args.runas else ""
    return CommandStep(description=f"Run {args.name!r}{where}{who}", argv=facts.argv, env=facts.env,
                       timeout=args.timeout, ok_rc=sorted({0, *args.success_retcodes}))


def bounded(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """``text`` cut to about ``limit`` bytes, keeping its head and tail, saying how much is left out."""
    data = text.encode()
    if len(data) <= limit:
        return text
    half = limit // 2
    head = data[:half].decode(errors="ignore")
    tail = data[-half:].decode(errors="ignore")
    return f"{head}\n[... {len(data) - 2 * half} bytes of output left out ...]\n{tail}"


def _stateful(changes: dict, stdout: str) -> Report:
    """Salt's stateful protocol: the last line of stdout is ``changed=yes|no comment='…' key=value``,
    or the whole stdout is a JSON object."""
    try:
        data = json.loads(stdout)
        if not isinstance(data, dict):
            return Report(changes, "script JSON output must be a JSON object (e.g., {})!", result=False)
        rest = ""
    except ValueError:
        body, _, last = stdout.rstrip().rpartition("\n")
        data, rest = {}, body
        try:
            for item in shlex.split(last):
                key, value = item.split("=", 1)
                data[key] = value
        except ValueError:
            return Report(changes, "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.",
                          result=False)
    comment = str(data.pop("comment", ""))
    if str(data.get("changed", "no")).lower() not in ("yes", "true", "1"):
        return Report({}, comment)
    return Report({**changes, **data, "stdout": rest}, comment)


def cmd_report(args: RunArgs, results: list[CommandResult]) -> Report:
    """Salt's cmd.run return: the last command's pid, retcode, stdout and stderr."""
    last = results[-1]
    level = LOG_LEVELS[args.output_loglevel]
    if level is not None:
        log.log(level, "output of %r (rc=%s):\n%s%s", args.name, last.rc, last.stdout, last.stderr)
    ok = last.rc in {0, *args.success_retcodes}
    changes = {
        "pid": last.pid,
        "retcode": 0 if ok else last.rc,  # Salt: a success_retcodes code is reported as 0
        "stdout": "" if args.hide_output else bounded(last.stdout.rstrip()),
        "stderr": "" if args.hide_output else bounded(last.stderr.rstrip()),
    }
    if ok and args.stateful:
        return _stateful(changes, last.stdout)
    return Report(changes, f'Command "{args.name}" run', result=ok)


@state_function("cmd.run", RunArgs, facts=cmd_facts, converges=False, report=cmd_report)
def run(args: RunArgs, facts: CmdFacts) -> Plan:
    """Run a command (no shell unless ``shell:`` is given), unless a guard says it is not needed."""
    if facts.skip:
        return Plan(comment=f"Skipped: {facts.skip}")
    return Plan(steps=[command_step(args, facts)], changes={"cmd": args.name})


def run_on_watch(args: RunArgs, facts: CmdFacts) -> list[CommandStep]:
    return [] if facts.skip else [command_step(args, facts)]


@state_function("cmd.wait", RunArgs, facts=cmd_facts, mod_watch=run_on_watch, report=cmd_report)
def wait(args: RunArgs, facts: CmdFacts) -> Plan:
    """Run a command only when a watched state changed (guards still apply)."""
    # A dry run whose watch fires shows {"cmd": name}, as Salt's mod_watch (cmd.run in test mode).
    return Plan(comment="cmd.wait runs only when a watched state changed", test_changes={"cmd": args.name})
