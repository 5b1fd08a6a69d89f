"""``saline lab …``: drive the two-node cluster lab from the command line.

The lead attaches :data:`lab` to the ``saline`` group; it also runs on its own as
``python -m saline.lab.cli``.
"""

from __future__ import annotations

import functools
import sys

import click

from .lab import Lab, LabError, lab_status_json


@click.group("lab")
@click.option("--state-dir", default="/run/saline-lab", show_default=True, envvar="SALINE_LAB_DIR",
              help="Where the lab keeps its per-node dirs and namespace handles.")
@click.option("--prefix", default="saline-lab", show_default=True, envvar="SALINE_LAB_PREFIX",
              help="Network namespace names are PREFIX-node1/PREFIX-node2.")
@click.option("--token", default=1000, show_default=True, type=int, envvar="SALINE_LAB_TOKEN",
              help="Corosync token timeout in ms (raise on a busy machine).")
@click.pass_context
def lab(ctx: click.Context, state_dir: str, prefix: str, token: int) -> None:
    """A real two-node Corosync + Pacemaker cluster in namespaces on this machine."""
    ctx.obj = Lab(state_dir=state_dir, prefix=prefix, token=token)


def _lab(ctx: click.Context) -> Lab:
    return ctx.find_object(Lab)


def _node_arg(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    nodes = _lab(ctx).nodes
    if value not in nodes:
        raise click.BadParameter(f"{value!r} is not a lab node ({', '.join(nodes)})")
    return value


def _guard(fn):
    """Lab errors are user-facing: one line, exit status 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LabError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@lab.command()
@click.pass_context
@_guard
def up(ctx: click.Context) -> None:
    """Create both nodes and start the cluster (tears down an existing lab first)."""
    took = _lab(ctx).up()
    click.echo(f"UP_SECONDS={took:.2f}")


@lab.command()
@click.pass_context
@_guard
def down(ctx: click.Context) -> None:
    """Stop the cluster and remove namespaces, mounts and state (works after a partial up)."""
    _lab(ctx).down()
    click.echo("down")


@lab.command()
@click.pass_context
@_guard
def status(ctx: click.Context) -> None:
    """Namespaces, processes and cluster view per node, as JSON."""
    click.echo(lab_status_json(_lab(ctx).status()))


def _node_command(fn):
    """A ``lab`` subcommand taking one NODE argument, with lab errors as one-line failures."""
    return lab.command(fn.__name__)(click.argument("node", callback=_node_arg)(click.pass_context(_guard(fn))))


@_node_command
def kill(ctx: click.Context, node: str) -> None:
    """Crash NODE: SIGKILL every process in its namespaces."""
    _lab(ctx).kill(node)
    click.echo(f"killed {node}")


@_node_command
def start(ctx: click.Context, node: str) -> None:
    """Start NODE's daemons and wait until it has rejoined."""
    click.echo(f"REJOIN_SECONDS={_lab(ctx).start(node):.2f}")


@_node_command
def stop(ctx: click.Context, node: str) -> None:
    """Stop NODE gracefully (pacemakerd --shutdown, corosync-cfgtool -H)."""
    click.echo(f"STOP_SECONDS={_lab(ctx).stop(node):.2f}")


@_node_command
def reboot(ctx: click.Context, node: str) -> None:
    """Reboot NODE as the lab can: stop its cluster stack and every process, start them and its agent again."""
    click.echo(f"REBOOT_SECONDS={_lab(ctx).reboot(node):.2f}")


@lab.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("node", callback=_node_arg)
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
@_guard
def exec_(ctx: click.Context, node: str, argv: tuple[str, ...]) -> None:
    """Run a command on NODE; its exit status and output pass through."""
    result = _lab(ctx).exec(node, list(argv), timeout=3600)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    ctx.exit(result.rc)


def _attach_demo() -> None:
    from .demo import demo

    lab.add_command(demo)


_attach_demo()


if __name__ == "__main__":
    lab()
