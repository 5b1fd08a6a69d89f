"""Edit ifupdown's ``interfaces(5)`` files in place, one stanza at a time.

The rest of the file (other interfaces, comments, ``source`` lines, blank lines) is
kept byte for byte, so an operator's own lines survive every apply.
"""

from __future__ import annotations

import re

# Lines that start a new stanza (interfaces(5)); an iface stanza's option lines run
# until the next of these.
_STANZA_START = re.compile(r"^\s*(iface|mapping|auto|allow-[\w-]+|source|source-directory|rename)\b")


def _iface_span(lines: list[str], name: str) -> tuple[int, int] | None:
    """Line range [start, end) of ``iface NAME …`` including its options, without trailing blanks/comments."""
    start = next((i for i, line in enumerate(lines) if re.match(rf"^\s*iface\s+{re.escape(name)}\s", line)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and not _STANZA_START.match(lines[end]):
        end += 1
    # blank lines and comments before the next stanza belong to the file, not to us
    while end - 1 > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return start, end


def iface_stanza(text: str, name: str) -> str | None:
    """The ``iface NAME`` stanza as it is in the file, or None."""
    lines = text.splitlines(keepends=True)
    span = _iface_span(lines, name)
    return "".join(lines[span[0] : span[1]]) if span else None


def has_auto(text: str, name: str) -> bool:
    return any(
        re.match(r"^\s*(auto|allow-auto)\s", line) and name in line.split()[1:] for line in text.splitlines()
    )


def set_iface_stanza(text: str, name: str, stanza: str, *, auto: bool) -> str:
    """Return ``text`` with the ``iface NAME`` stanza replaced by ``stanza`` (appended if absent).

    With ``auto``, an ``auto NAME`` line is added in front of the stanza unless one
    already names the interface somewhere in the file.
    """
    if not stanza.endswith("\n"):
        stanza += "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    span = _iface_span(lines, name)
    auto_line = [f"auto {name}\n"] if auto and not has_auto(text, name) else []
    if span is None:
        sep = ["\n"] if lines and lines[-1].strip() else []
        return "".join(lines + sep + auto_line + [stanza])
    start, end = span
    return "".join(lines[:start] + auto_line + [stanza] + lines[end:])


def bridge_stanza(
    name: str,
    ports: list[str],
    *,
    address: str | None,
    netmask: str | None,
    gateway: str | None,
    fd: int,
    maxwait: int,
    options: dict[str, str] | None = None,
) -> str:
    """The ``iface`` stanza for a bridge, as bridge-utils-interfaces(5) describes it;
    ``options`` are further lines (``bridge_stp``: ``on``, an operator's ``up`` …)."""
    method = "static" if address else "manual"
    lines = [
        f"iface {name} inet {method}",
        f"    bridge_ports {' '.join(ports) if ports else 'none'}",
        f"    bridge_fd {fd}",
        f"    bridge_maxwait {maxwait}",
    ]
    if address:
        lines.append(f"    address {address}")
        lines.append(f"    netmask {netmask}")
    if gateway:
        lines.append(f"    gateway {gateway}")
    lines += [f"    {key} {value}" for key, value in (options or {}).items()]
    return "\n".join(lines) + "\n"


def stanza_options(stanza: str) -> tuple[list[str], list[tuple[str, str]]]:
    """An ``iface`` stanza as data: its header words and its (option, value) lines, in
    order, with the value's whitespace collapsed (indentation and spacing mean nothing)."""
    lines = [line.split("#", 1)[0].split() for line in stanza.splitlines()]
    lines = [words for words in lines if words]
    if not lines:
        return [], []
    return lines[0], [(words[0], " ".join(words[1:])) for words in lines[1:]]


def manual_stanza(name: str) -> str:
    """A bridge port must not configure an address of its own (bridge-utils-interfaces(5))."""
    return f"iface {name} inet manual\n"
