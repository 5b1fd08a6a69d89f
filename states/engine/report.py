"""Salt highstate-like output of a run, shared by ``saline call`` and ``saline apply``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape as _markup_escape

from saline.protocol.safetext import terminal_safe
from saline.states.engine.apply import StateResult
from saline.states.engine.run import RunResult

RULE = "-" * 10


def escape(text: object) -> str:
    """State results come from agents: no terminal escape sequences, no rich markup."""
    return _markup_escape(terminal_safe(text))

LABEL_WIDTH = 12


def _colour(result: StateResult) -> str:
    # Salt's colours: green ok, cyan ok with changes, yellow would change, red failed.
    if result.result is False:
        return "red"
    if result.result is None:
        return "yellow"
    return "cyan" if result.changes else "green"


def _changes_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return []
        lines = [f"{pad}{RULE}"] if indent == LABEL_WIDTH + 2 else []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines += _changes_lines(item, indent + 4)
            else:
                lines += _scalar_lines(f"{pad}{key}:", item, indent + 4)
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}-")
                lines += _changes_lines(item, indent + 4)
            else:
                lines.append(f"{pad}- {item}")
        return lines
    return _scalar_lines(pad.rstrip(), value, indent)


def _scalar_lines(head: str, value: Any, indent: int) -> list[str]:
    text = "" if value is None else str(value)
    if "\n" not in text:
        return [f"{head} {text}".rstrip()]
    return [head] + [" " * indent + line for line in text.splitlines()]


def _label(label: str, text: str) -> str:
    return f"{label:>{LABEL_WIDTH}}: {text}".rstrip()


def _comment_lines(comment: str) -> list[str]:
    lines = comment.splitlines() or [""]
    return [_label("Comment", lines[0])] + [" " * (LABEL_WIDTH + 2) + line for line in lines[1:]]


def render_state(console: Console, result: StateResult) -> None:
    colour = _colour(result)
    lines = [RULE, _label("ID", result.id), _label("Function", result.fun), _label("Name", result.name),
             _label("Result", str(result.result))]
    lines += _comment_lines(result.comment)
    lines.append(_label("Duration", f"{result.duration_ms:.3f} ms"))
    lines.append(_label("Changes", ""))
    lines += _changes_lines(result.changes, LABEL_WIDTH + 2)
    for line in lines:
        console.print(f"[{colour}]{escape(line)}[/{colour}]", highlight=False, soft_wrap=True)


def render_terse(console: Console, result: StateResult) -> None:
    """One line, like Salt's ``--state-output=terse``."""
    outcome = {False: "Failed", None: "Would change" if result.changes else "Unknown"}.get(
        result.result, "Changed" if result.changes else "Clean")
    line = (f"Name: {result.name} - Function: {result.fun} - Result: {outcome} - "
            f"Duration: {result.duration_ms:.3f} ms")
    colour = _colour(result)
    console.print(f"[{colour}]{escape(line)}[/{colour}]", highlight=False, soft_wrap=True)


def render_run(console: Console, agent_id: str, run: RunResult | dict[str, Any], state_output: str = "full") -> None:
    """Per state: ID, function, name, result, comment, changes; then the summary.

    ``state_output`` as Salt's: ``full`` every state in full; ``changes`` states that
    changed, would change or failed in full, the others one line each; ``terse`` one
    line each."""
    run = run if isinstance(run, RunResult) else RunResult.model_validate(run)
    console.print(f"[bold]{escape(agent_id)}:[/bold]", highlight=False)
    for result in run.results:
        quiet = result.result is True and not result.changes
        if state_output == "terse" or (state_output == "changes" and quiet):
            render_terse(console, result)
        else:
            render_state(console, result)
    s = run.summary
    failed_colour = "red" if s.failed else "cyan"
    console.print("", highlight=False)
    console.print(f"Summary for {escape(agent_id)}", highlight=False)
    console.print("-" * 12, highlight=False)
    console.print(f"[green]Succeeded: {s.succeeded}[/green] (changed={s.changed})", highlight=False)
    console.print(f"[{failed_colour}]Failed:    {s.failed}[/{failed_colour}]", highlight=False)
    console.print("-" * 12, highlight=False)
    console.print(f"Total states run: {s.total:>5}", highlight=False)
    console.print(f"Total run time: {s.duration_ms:>7.3f} ms", highlight=False)
