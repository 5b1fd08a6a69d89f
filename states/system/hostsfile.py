"""/etc/hosts (hosts(5)): ``address name [alias …] [# comment]`` lines, edited in place.

Edits touch only the lines they must (a name added to its address's first line, or a new
``address<TAB>name`` line at the end; a name removed from a line, the line dropped when it
has no name left); comments, blank lines and the order of everything else stay as written.
"""

from __future__ import annotations


def _fields(line: str) -> tuple[list[str], str]:
    """(address and names, the comment with its '#') of one line."""
    body, hash_, comment = line.partition("#")
    return body.split(), hash_ + comment


def names_by_address(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields, _ = _fields(line)
        if fields:
            out.setdefault(fields[0], []).extend(fields[1:])
    return out


def add(text: str, address: str, name: str) -> str:
    lines = text.splitlines()
    for n, line in enumerate(lines):
        fields, comment = _fields(line)
        if fields and fields[0] == address:
            if name in fields[1:]:
                return text
            body = line[: len(line) - len(comment)].rstrip()
            lines[n] = f"{body} {name}" + (f"\t{comment}" if comment else "")
            return "\n".join(lines) + "\n"
    return "\n".join([*lines, f"{address}\t{name}"]) + "\n"


def remove(text: str, address: str, name: str) -> str:
    out: list[str] = []
    for line in text.splitlines():
        fields, comment = _fields(line)
        if fields and fields[0] == address and name in fields[1:]:
            kept = [f for f in fields[1:] if f != name]
            if not kept:
                continue
            line = "\t".join([address, " ".join(kept)]) + (f"\t{comment}" if comment else "")
        out.append(line)
    return "\n".join(out) + ("\n" if out else "")
