"""git.latest (Salt's, the common part): ``target`` is a checkout of ``name`` at ``rev``.

Arguments: ``name`` (the remote: https/http/ssh/git/file URL, ``user@host:path`` or a path),
``target``, ``rev`` (``HEAD``, a branch, a tag or a full SHA; default HEAD), ``remote``
(default origin), ``depth``, ``force_reset``. What the remote has is asked with ``git
ls-remote`` (also in a dry run, as Salt does); a missing target is cloned, an existing
checkout behind the remote is fetched and fast-forwarded (``force_reset: true``: reset hard,
discarding local changes; without it local changes refuse the update). Changes are
Salt's: ``{"new": "NAME => TARGET", "revision": {"old": …, "new": …}}``.

Not there yet: ``user``, ``identity``, ``https_user``/``https_pass``, ``branch``,
``submodules``, ``bare``/``mirror``, ``force_clone``, ``update_head``, ``fetch_tags: false``.
A URL with another transport (``ext::`` runs a command) or starting with ``-`` is refused.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.engine.paths import NodePath
from saline.states.system import gitrefs

# Transports git runs no command for: a URL like "ext::sh -c …" would run one.
URL = re.compile(r"^(https?|ssh|git|file)://[^\s]+$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$|^/[^\s]*$")
# git's own environment: never ask for a password on a terminal, never read the host's
# ~/.gitconfig or /etc/gitconfig for a repository saline manages.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


class LatestArgs(StateArgs):
    name: str
    target: NodePath
    rev: str = "HEAD"
    remote: str = Field(default="origin", pattern=r"^[A-Za-z0-9._-]+$")
    depth: int | None = Field(default=None, ge=1)
    force_reset: bool = False

    @field_validator("name")
    @classmethod
    def _url(cls, value: str) -> str:
        if not URL.match(value):
            raise ValueError(f"{value!r} is not a git URL saline uses (https, http, ssh, git, file, user@host:path "
                             f"or an absolute path)")
        return value

    @field_validator("rev")
    @classmethod
    def _rev(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", value) or value.startswith("-") or ".." in value:
            raise ValueError(f"'{value}' is not a valid value for the 'rev' argument")
        return value


class GitFacts(Facts):
    target_host: str
    remote_rev: str
    state: str  # "missing", "empty" (an empty directory), "repo", "other" (a non-empty directory or a file)
    local_rev: str | None = None
    remote_url: str | None = None
    dirty: bool = False
    # The remote commit is already here and is not ahead of HEAD (an older tag, a rewound
    # branch): a fast-forward cannot reach it. None: not here yet (known after the fetch).
    behind: bool | None = None


def _git(ctx: StateContext, *argv: str):
    return ctx.runner.run(["git", *argv], env=GIT_ENV)


def git_facts(args: LatestArgs, ctx: StateContext) -> GitFacts:
    listed = _git(ctx, "ls-remote", "--", args.name)
    if not listed.ok:
        raise Refuse(f"Failed to check remote refs: {listed.stderr.strip()[-400:]}")
    found = gitrefs.resolve(gitrefs.parse_ls_remote(listed.stdout), args.rev)
    if found is None:
        raise Refuse(f"No revision matching '{args.rev}' exists in the remote repository")
    target = ctx.runner.path(args.target)
    facts = GitFacts(target_host=str(target), remote_rev=found[0], state="missing")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        facts.state = "other"
    elif target.is_dir():
        facts.state = "empty" if not any(target.iterdir()) else "repo" if (target / ".git").is_dir() else "other"
    if facts.state == "repo":
        head = _git(ctx, "-C", str(target), "rev-parse", "--verify", "--quiet", "HEAD")
        facts.local_rev = head.stdout.strip() or None
        url = _git(ctx, "-C", str(target), "config", "--get", f"remote.{args.remote}.url")
        facts.remote_url = url.stdout.strip() or None
        status = _git(ctx, "-C", str(target), "status", "--porcelain", "--untracked-files=no")
        if not status.ok:
            raise Refuse(f"git status in {args.target} failed: {status.stderr.strip()[-400:]}")
        facts.dirty = bool(status.stdout.strip())
        if facts.local_rev and _git(ctx, "-C", str(target), "cat-file", "-e", f"{facts.remote_rev}^{{commit}}").ok:
            ahead = _git(ctx, "-C", str(target), "merge-base", "--is-ancestor", facts.local_rev, facts.remote_rev)
            facts.behind = not ahead.ok
    return facts


def _step(description: str, *argv: str) -> CommandStep:
    return CommandStep(description=description, argv=["git", *argv], env=GIT_ENV)


@state_function("git.latest", LatestArgs, facts=git_facts)
def latest(args: LatestArgs, facts: GitFacts) -> Plan:
    """``target`` is a checkout of ``name`` at the commit ``rev`` names on the remote now."""
    t = facts.target_host
    if facts.state == "other":
        raise Refuse(f"Target '{args.target}' exists and is not an empty directory or a git checkout; "
                     f"move it away first (force_clone is not supported)")
    if facts.state in ("missing", "empty"):
        opts = (["--origin", args.remote] if args.remote != "origin" else []) + \
            (["--depth", str(args.depth)] + (["--branch", args.rev] if args.rev != "HEAD" else [])
             if args.depth else [])
        steps = [_step(f"Clone {args.name} to {args.target}", "clone", *opts, "--", args.name, t),
                 _step(f"Check out {args.rev}", "-C", t, "reset", "--hard", "--quiet", facts.remote_rev)]
        return Plan(steps=steps, changes={"new": f"{args.name} => {args.target}",
                                          "revision": {"old": None, "new": facts.remote_rev}})
    if facts.remote_url not in (None, args.name):
        raise Refuse(f"{args.target} is a checkout of {facts.remote_url}, not {args.name}; "
                     f"move it away or point the state at that remote")
    if facts.local_rev == facts.remote_rev:
        return Plan(comment=f"Repository {args.name} is up-to-date")
    if facts.dirty and not args.force_reset:
        raise Refuse(f"Repository {args.target} has local changes; set force_reset: true to discard them")
    if facts.behind and not args.force_reset:
        raise Refuse(f"{facts.remote_rev[:12]} ({args.rev}) is not a fast-forward of {args.target}'s "
                     f"{(facts.local_rev or '')[:12]}; set force_reset: true to reset to it")
    move = ["reset", "--hard", "--quiet"] if args.force_reset else ["merge", "--ff-only", "--quiet"]
    steps = [_step(f"Fetch {args.remote}", "-C", t, "fetch", "--quiet", "--tags", args.remote),
             _step(f"Update {args.target} to {facts.remote_rev[:12]}" + (" (reset)" if args.force_reset else ""),
                   "-C", t, *move, facts.remote_rev)]
    return Plan(steps=steps, changes={"revision": {"old": facts.local_rev, "new": facts.remote_rev}})
