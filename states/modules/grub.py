"""``grub.defaults``: keys in ``/etc/default/grub``; the GRUB config is regenerated only
when a key actually changed (and on a ``watch``).

The seed: ``GRUB_TIMEOUT=5`` (software RAID boot errors with 2 s) and
``GRUB_DISABLE_OS_PROBER=true``. Lines for other keys, comments and order are kept; a key
set twice is collapsed to one line where the first one was (shell semantics: the last
assignment won, so leaving an older duplicate behind would be a lie about the value).
"""

from __future__ import annotations

import re
import shlex

from pydantic import field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, WriteFileStep, state_function
from saline.states.system.lineedit import render_value as keyvalue_text

_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class DefaultsArgs(StateArgs):
    name: str = "/etc/default/grub"
    settings: dict[str, str | int | bool]
    # The command that regenerates grub.cfg: update-grub on Debian/Ubuntu,
    # ["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"] elsewhere.
    update_command: list[str] = ["update-grub"]

    @field_validator("settings")
    @classmethod
    def _keys(cls, v: dict) -> dict:
        bad = [k for k in v if not _KEY.match(k)]
        if bad:
            raise ValueError(f"not GRUB variable names: {', '.join(bad)}")
        multiline = [k for k, value in v.items() if isinstance(value, str) and ("\n" in value or "\r" in value or "\0" in value)]
        if multiline:
            raise ValueError(f"values must be one line: {', '.join(multiline)}")
        return v


class DefaultsFacts(Facts):
    text: str | None
    values: dict[str, str]


def render_value(value: str | int | bool) -> str:
    """GRUB reads the file as shell (update-grub sources it): booleans as true/false, quote
    only when needed, and never let a value expand: ``$(...)``, backticks or ``$VAR`` in a
    pillar value would run or expand as root. Plain words with spaces get the usual double
    quotes; anything with a shell-special character gets single quotes (literal in shell,
    and read back the same by :func:`parse_defaults`)."""
    text = keyvalue_text(value)
    if re.fullmatch(r"[A-Za-z0-9_.,:/+=@%-]+", text):
        return text
    if not re.search(r"[$`\\\"!]", text):
        return f'"{text}"'
    return "'" + text.replace("'", "'\\''") + "'"


def parse_defaults(text: str) -> dict[str, str]:
    """KEY=value assignments with shell quoting removed (the last assignment wins)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = _ASSIGN.match(line)
        if not m:
            continue
        try:
            parts = shlex.split(m.group(2), comments=True)
        except ValueError:
            parts = [m.group(2)]
        values[m.group(1)] = parts[0] if parts else ""
    return values


def with_settings(text: str, settings: dict[str, str]) -> str:
    out: list[str] = []
    done: set[str] = set()
    for line in text.splitlines():
        m = _ASSIGN.match(line)
        if m and m.group(1) in settings:
            key = m.group(1)
            if key not in done:
                out.append(f"{key}={settings[key]}")
                done.add(key)
            continue
        out.append(line)
    out += [f"{k}={v}" for k, v in settings.items() if k not in done]
    return "\n".join(out) + "\n"


def defaults_facts(args: DefaultsArgs, ctx: StateContext) -> DefaultsFacts:
    path = ctx.runner.path(args.name)
    text = path.read_text() if path.exists() else None
    return DefaultsFacts(text=text, values=parse_defaults(text) if text is not None else {})


def _wanted(args: DefaultsArgs) -> dict[str, str]:
    return {k: render_value(v) for k, v in args.settings.items()}


def _changed(args: DefaultsArgs, facts: DefaultsFacts) -> dict[str, dict]:
    changes = {}
    for key, rendered in _wanted(args).items():
        want = shlex.split(rendered)[0] if rendered != '""' else ""
        if facts.values.get(key) != want:
            changes[key] = {"old": facts.values.get(key), "new": want}
    return changes


def _update_step(args: DefaultsArgs) -> CommandStep:
    return CommandStep(description=f"regenerate the GRUB config ({' '.join(args.update_command)})", argv=args.update_command)


def defaults_watch(args: DefaultsArgs, facts: DefaultsFacts) -> list[CommandStep]:
    return [_update_step(args)]


@state_function("grub.defaults", DefaultsArgs, facts=defaults_facts, mod_watch=defaults_watch)
def defaults(args: DefaultsArgs, facts: DefaultsFacts) -> Plan:
    """Set ``settings`` in ``name``; run ``update_command`` only when a key changed."""
    if facts.text is None:
        raise Refuse(f"{args.name} does not exist (is grub installed?)")
    changes = _changed(args, facts)
    if not changes:
        return Plan(comment=f"{args.name} already has {', '.join(args.settings)}")
    # Only the changed keys are rewritten: an equal value written in another quoting
    # style is left as the admin wrote it.
    content = with_settings(facts.text, {k: v for k, v in _wanted(args).items() if k in changes})
    return Plan(
        steps=[WriteFileStep(description=f"set {', '.join(changes)} in {args.name}", path=args.name, content=content.encode()), _update_step(args)],
        changes=changes,
    )
