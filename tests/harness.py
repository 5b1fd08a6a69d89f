"""The shared test harness every state module uses.

For each state function the standard set is:

1. plan from observed facts (a unit test calling the module's ``plan`` with facts);
2. ``test=True`` on a target that needs changes → result None, changes shown, target untouched;
3. apply → result True with changes;
4. re-apply → result True, no changes (the engine also checked the second plan);
5. ``test=True`` again → True, no changes;
6. bad arguments → result False with a clear comment and the target untouched.

``snapshot`` is a callable that returns something comparable describing the target
(file bytes and modes, ``lvs`` JSON, the CIB XML …), so "nothing changed" is checked
on the real target, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from saline.states.engine.apply import StateResult, apply_one
from saline.states.engine.base import StateContext
from saline.states.engine.runner import Runner


def ctx(runner: Runner, test: bool = False, node: dict | None = None, backup_dir: Path | None = None) -> StateContext:
    return StateContext(runner=runner, test=test, node=node or {}, backup_dir=backup_dir)


def run(fun: str, args: dict[str, Any], runner: Runner, *, test: bool = False, node: dict | None = None,
        backup_dir: Path | None = None) -> StateResult:
    return apply_one(args.get("name", "state"), fun, args, ctx(runner, test, node, backup_dir))


def assert_full_cycle(
    fun: str,
    args: dict[str, Any],
    runner: Runner,
    snapshot: Callable[[], Any],
    *,
    node: dict | None = None,
    backup_dir: Path | None = None,
) -> StateResult:
    """Steps 2–5 on a real target that starts out needing changes. Returns the applying result."""
    before = snapshot()
    dry = run(fun, args, runner, test=True, node=node, backup_dir=backup_dir)
    assert dry.result is None, f"test=True should report would-change, got {dry}"
    assert dry.changes, f"test=True should show the changes, got {dry}"
    assert snapshot() == before, "test=True changed the target"

    applied = run(fun, args, runner, node=node, backup_dir=backup_dir)
    assert applied.result is True, f"apply failed: {applied.comment}"
    assert applied.changes, f"apply reported no changes: {applied}"
    assert snapshot() != before, "apply reported changes but the target is unchanged"

    after = snapshot()
    again = run(fun, args, runner, node=node, backup_dir=backup_dir)
    assert again.result is True and again.changes == {}, f"re-apply was not a no-op: {again}"
    assert snapshot() == after, "re-apply changed the target"

    dry2 = run(fun, args, runner, test=True, node=node, backup_dir=backup_dir)
    assert dry2.result is True and dry2.changes == {}, f"test=True after apply should be clean: {dry2}"
    return applied


def assert_refused(
    fun: str,
    args: dict[str, Any],
    runner: Runner,
    snapshot: Callable[[], Any],
    match: str,
    *,
    node: dict | None = None,
) -> StateResult:
    """Bad input or an unsafe request: fails with a clear comment containing ``match``, target untouched."""
    before = snapshot()
    for test in (True, False):
        res = run(fun, args, runner, test=test, node=node)
        assert res.result is False, f"expected a refusal, got {res}"
        assert match.lower() in res.comment.lower(), f"comment {res.comment!r} does not mention {match!r}"
        assert snapshot() == before, "a refused state changed the target"
    return res
