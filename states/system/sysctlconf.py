"""sysctl.conf / sysctl.d files: ``key = value`` lines, ``#`` and ``;`` comments (sysctl.d(5))."""

from __future__ import annotations


def _split(line: str) -> tuple[str, str] | None:
    stripped = line.strip()
    if not stripped or stripped[0] in "#;" or "=" not in stripped:
        return None
    key, _, value = stripped.partition("=")
    return key.strip().lstrip("-").replace("/", "."), value.strip()


def values(text: str) -> dict[str, str]:
    """Key → value; a key set twice keeps the last value, as sysctl --system applies them."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        pair = _split(line)
        if pair:
            out[pair[0]] = pair[1]
    return out


def set_value(text: str, key: str, value: str) -> str:
    """``key = value`` in place of every line setting ``key`` (the first one kept), else appended."""
    lines = text.splitlines()
    out: list[str] = []
    placed = False
    for line in lines:
        pair = _split(line)
        if pair and pair[0] == key:
            if not placed:
                out.append(f"{key} = {value}")
                placed = True
            continue
        out.append(line)
    if not placed:
        out.append(f"{key} = {value}")
    return "\n".join(out) + "\n"


def same(a: str, b: str) -> bool:
    """Kernel values compare by their words: /proc gives "4096\t87380", a file "4096 87380"."""
    return a.split() == b.split()
