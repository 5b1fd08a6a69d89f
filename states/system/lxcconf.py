"""LXC container config files (``lxc.container.conf(5)``): parse, compare, edit.

A config is a list of lines; a line is a comment/blank (kept as is) or ``key = value``.
LXC itself strips blanks around the key and the value and one pair of matching quotes
around the value (``lxc.uts.name = "www"`` is ``www``), so values are compared that way:
key order, whitespace, quoting and comments are never drift.

Keys are single-valued (the last one wins, as in LXC) or lists (every line adds a value:
``lxc.mount.entry``, ``lxc.cap.drop`` …). Edits keep every line saline does not manage
where it is, so an operator's comments and extra keys survive a managed rewrite.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from saline.states.system.lvm import parse_size

# Keys where each line adds a value instead of replacing the previous one.
_LIST_KEYS = re.compile(
    r"^lxc\.(mount\.entry|cap\.drop|cap\.keep|include|environment|idmap|apparmor\.raw|hook\.[a-z.]+"
    r"|cgroup2?\.devices\.(allow|deny)|net\.\d+\.ipv[46]\.address|namespace\.keep|namespace\.clone)$"
)
# Values that are a blank-separated set of words (``lxc.cap.drop = sys_module sys_time``).
_WORD_SET_KEYS = re.compile(r"^lxc\.cap\.(drop|keep)$")
# Memory limits: "512M" and "536870912" are the same limit (the kernel's memparse reads both).
_SIZE_KEYS = re.compile(r"^lxc\.cgroup2?\.memory\.(limit_in_bytes|memsw\.limit_in_bytes|max|swap\.max|high)$")
_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
MAX_CONFIG_BYTES = 1024 * 1024  # a container config is a few KiB; refuse to parse absurd ones


def check_value(value: str) -> str:
    """A value saline writes into a config line: one line, no control characters (a newline
    would smuggle in another key, e.g. a hook)."""
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise ValueError(f"{value[:60]!r} contains a newline or control character: an LXC config value is one line")
    return value


def _rootfs(value: str) -> str:
    # "dir:/srv/x" is "/srv/x", "lvm:/dev/vg/lv" is "/dev/vg/lv": LXC detects the type from a plain path.
    storage, sep, path = value.partition(":")
    return path if sep and storage in ("dir", "lvm") else value


def same_value(key: str, a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if a is None or b is None:
        return False
    if key == "lxc.rootfs.path":
        return _rootfs(a) == _rootfs(b)
    if not _SIZE_KEYS.match(key):
        return False
    try:
        return parse_size(a) == parse_size(b)
    except ValueError:
        return False


def is_list_key(key: str) -> bool:
    return bool(_LIST_KEYS.match(key))


def clean_value(raw: str) -> str:
    """The value as LXC reads it: blanks stripped, one pair of matching quotes removed."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


def value_items(key: str, value: str) -> list[str]:
    """The values one line contributes (``lxc.cap.drop = a b`` contributes ``a`` and ``b``)."""
    if _WORD_SET_KEYS.match(key):
        return value.split()
    if key == "lxc.mount.entry":  # fstab fields: the blanks between them are not meaningful
        return [" ".join(value.split())]
    return [value]


@dataclass
class Line:
    text: str  # the line as written (without its newline)
    key: str | None = None
    value: str | None = None  # cleaned


class ConfigError(ValueError):
    pass


@dataclass
class LxcConfig:
    lines: list[Line] = field(default_factory=list)

    # ---- reading -----------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> "LxcConfig":
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config is {len(text)} bytes, more than {MAX_CONFIG_BYTES}: not a container config")
        lines: list[Line] = []
        for number, raw in enumerate(text.splitlines(), 1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                lines.append(Line(raw))
                continue
            key, sep, value = stripped.partition("=")
            key = key.strip()
            if not sep or not _KEY.match(key):
                raise ConfigError(f"line {number} is not 'key = value': {raw[:120]!r}")
            lines.append(Line(raw, key, clean_value(value)))
        return cls(lines)

    def keys(self) -> list[str]:
        return [ln.key for ln in self.lines if ln.key is not None]

    def values(self, key: str) -> list[str]:
        """Every value of ``key`` in file order (list keys: all of them, split into items)."""
        out: list[str] = []
        for ln in self.lines:
            if ln.key != key:
                continue
            if not is_list_key(key):
                out = [ln.value or ""]
            elif not ln.value:
                out = []  # an empty list-key line resets the list in LXC (``lxc.cap.drop =``)
            else:
                out += value_items(key, ln.value)
        return out

    def get(self, key: str) -> str | None:
        """A single-valued key's effective value (the last one), or None."""
        found = [ln.value for ln in self.lines if ln.key == key]
        return found[-1] if found else None

    def items(self) -> dict[str, str | list[str]]:
        """The effective configuration: key → value, or key → list of values."""
        return {key: (self.values(key) if is_list_key(key) else self.get(key) or "") for key in dict.fromkeys(self.keys())}

    def render(self) -> str:
        return "".join(ln.text + "\n" for ln in self.lines)

    # ---- editing ------------------------------------------------------------------------

    def set(self, key: str, value: str) -> None:
        """A single-valued key: replace the last occurrence in place, drop earlier ones, else append."""
        idx = [i for i, ln in enumerate(self.lines) if ln.key == key]
        new = Line(f"{key} = {value}", key, clean_value(value))
        if not idx:
            self.lines.append(new)
            return
        self.lines[idx[-1]] = new
        for i in reversed(idx[:-1]):
            del self.lines[i]

    def set_list(self, key: str, values: list[str]) -> None:
        """A list key with exactly ``values``: written where the key first appeared."""
        idx = [i for i, ln in enumerate(self.lines) if ln.key == key]
        at = idx[0] if idx else len(self.lines)
        for i in reversed(idx):
            del self.lines[i]
        if _WORD_SET_KEYS.match(key) and values:
            new = [Line(f"{key} = {' '.join(values)}", key, " ".join(values))]
        else:
            new = [Line(f"{key} = {v}", key, v) for v in values]
        self.lines[at:at] = new

    def add_to_list(self, key: str, values: list[str]) -> None:
        """A list key that must hold ``values``; other values (an operator's) are kept."""
        have = self.values(key)
        missing = [v for v in values if v not in have]
        idx = [i for i, ln in enumerate(self.lines) if ln.key == key]
        at = idx[-1] + 1 if idx else len(self.lines)
        self.lines[at:at] = [Line(f"{key} = {v}", key, v) for v in missing]

    def remove(self, key: str) -> None:
        self.lines = [ln for ln in self.lines if ln.key != key]


@dataclass(frozen=True)
class Desired:
    """What saline manages in a config. Everything else is left alone."""

    single: dict[str, str] = field(default_factory=dict)
    exact_lists: dict[str, list[str]] = field(default_factory=dict)  # exactly these values
    include_lists: dict[str, list[str]] = field(default_factory=dict)  # at least these values
    absent: tuple[str, ...] = ()  # keys that must not be there (superseded by managed ones)


def apply_desired(config: LxcConfig, want: Desired) -> LxcConfig:
    """A copy of ``config`` with the managed keys as wanted; lines already right stay untouched."""
    out = LxcConfig([Line(ln.text, ln.key, ln.value) for ln in config.lines])
    for key in want.absent:
        out.remove(key)
    for key, value in want.single.items():
        if not same_value(key, out.get(key), clean_value(value)):
            out.set(key, value)
    for key, values in want.exact_lists.items():
        if sorted(out.values(key)) != sorted(v for v in values):
            out.set_list(key, values)
    for key, values in want.include_lists.items():
        out.add_to_list(key, [" ".join(v.split()) for v in values])
    return out


def drift(config: LxcConfig, want: Desired) -> list[str]:
    """The managed keys that differ, by name (empty: the config is as wanted)."""
    new = apply_desired(config, want)
    return sorted(k for k in set(config.keys()) | set(new.keys()) if not _same(config, new, k))


def _same(a: LxcConfig, b: LxcConfig, key: str) -> bool:
    if is_list_key(key):
        return sorted(a.values(key)) == sorted(b.values(key))
    return same_value(key, a.get(key), b.get(key))


def unified_diff(old: str, new: str, path: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{path} (current)", f"{path} (desired)", n=1))


# ---- a config edit as a command ---------------------------------------------------------
# lxc-create's template writes the first config; the managed keys can only be set after it
# ran, so a creating plan runs this as its step: ``python -m saline.states.system.lxcconf
# PATH`` with the Desired as JSON on stdin. Existing configs are written by the plan itself.


def desired_to_json(want: Desired) -> str:
    import json

    return json.dumps({"single": want.single, "exact_lists": want.exact_lists, "include_lists": want.include_lists, "absent": list(want.absent)})


def main(argv: list[str] | None = None) -> int:
    import json
    import os
    import sys
    import tempfile

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m saline.states.system.lxcconf CONFIG_PATH < desired.json", file=sys.stderr)
        return 2
    path = args[0]
    data = json.loads(sys.stdin.read(MAX_CONFIG_BYTES))
    want = Desired(data["single"], data["exact_lists"], data["include_lists"], tuple(data["absent"]))
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        new = apply_desired(LxcConfig.parse(f.read(MAX_CONFIG_BYTES + 1)), want).render()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".config.saline-")
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(new)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
