"""OpenVZ container configs (``/etc/vz/conf/CTID.conf``, "ve.conf"): read, and translate
into ``lxc.present`` arguments for the seed's OpenVZ → LXC migration.

ve.conf is shell variable syntax (``KEY="value"``), written by ``vzctl set … --save``.
What is translated: memory (``PHYSPAGES``, else the old UBC ``PRIVVMPAGES``) and swap
(``SWAPPAGES``) limits, ``CPUUNITS`` → cpu shares, ``CPUS``, ``HOSTNAME``, a 32-bit
``OSTEMPLATE`` → ``lxc.arch = x86``. ``IP_ADDRESS`` is reported (the guest keeps its own
network config, with venet0 renamed eth0). Every other key is reported by name as not
translated, never silently dropped.
"""

from __future__ import annotations

import re
import shlex

PAGE = 4096
UNLIMITED = {"unlimited", "9223372036854775807", "2147483647", "LONG_MAX"}
MAX_VECONF = 256 * 1024
# Keys that have no LXC equivalent and need none (quota/UBC accounting, vzctl's own state).
_IGNORED = re.compile(r"^(VE_ROOT|VE_PRIVATE|VE_LAYOUT|ORIGIN_SAMPLE|ONBOOT|BOOTORDER|NAME|DESCRIPTION|DISKINODES|QUOTATIME"
                      r"|QUOTAUGIDLIMIT|KMEMSIZE|LOCKEDPAGES|SHMPAGES|NUMPROC|VMGUARPAGES|OOMGUARPAGES|NUMTCPSOCK|NUMFLOCK"
                      r"|NUMPTY|NUMSIGINFO|TCPSNDBUF|TCPRCVBUF|OTHERSOCKBUF|DGRAMRCVBUF|NUMOTHERSOCK|DCACHESIZE|NUMFILE"
                      r"|AVNUMPROC|NUMIPTENT|IOPRIO|IOLIMIT|IOPSLIMIT|CPULIMIT|NETFILTER|VEID|DISKSPACE|NAMESERVER|SEARCHDOMAIN"
                      r"|FEATURES|CAPABILITY|DISABLED)$")


class VeConfError(ValueError):
    pass


def parse(text: str) -> dict[str, str]:
    if len(text) > MAX_VECONF:
        raise VeConfError(f"ve.conf is {len(text)} bytes, more than {MAX_VECONF}")
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", stripped)
        if not m:
            raise VeConfError(f"ve.conf line {number} is not KEY=\"value\": {line[:120]!r}")
        try:
            words = shlex.split(m.group(2), comments=True)
        except ValueError as exc:
            raise VeConfError(f"ve.conf line {number}: {exc}") from None
        values[m.group(1)] = " ".join(words)
    return values


def _limit_bytes(value: str) -> int | None:
    """``barrier:limit`` in pages (or with a K/M/G suffix, vzctl 4) → the limit in bytes."""
    limit = value.split(":")[-1].strip()
    if limit in UNLIMITED or not limit:
        return None
    m = re.match(r"^(\d+)([KMGT]?)$", limit, re.IGNORECASE)
    if not m:
        raise VeConfError(f"not a vzctl limit: {value!r}")
    number, unit = int(m.group(1)), m.group(2).upper()
    if not unit:
        return number * PAGE
    return number * 1024 ** ("KMGT".index(unit) + 1)


def _mib(size: int) -> str:
    return f"{max(1, size // 1024**2)}M"


def translate(ve: dict[str, str]) -> tuple[dict, dict[str, str], list[str]]:
    """(lxc.present arguments, notes for the operator, keys not translated)."""
    args: dict = {}
    notes: dict[str, str] = {}
    used: set[str] = set()
    memory = None
    for key in ("PHYSPAGES", "PRIVVMPAGES"):
        if key in ve:
            used.add(key)
            memory = memory or _limit_bytes(ve[key])
    if memory:
        args["memory"] = _mib(memory)
    if "SWAPPAGES" in ve:
        used.add("SWAPPAGES")
        swap = _limit_bytes(ve["SWAPPAGES"])
        if swap and memory:
            args["swap"] = _mib(swap)
    if "CPUUNITS" in ve:
        used.add("CPUUNITS")
        # OpenVZ's default weight is 1000, cgroup v1's 1024: keep the ratio to the default.
        args["cpu_shares"] = max(2, min(262144, round(int(ve["CPUUNITS"]) * 1024 / 1000)))
    if "CPUS" in ve and ve["CPUS"] not in UNLIMITED and ve["CPUS"] != "0":
        used.add("CPUS")
        count = int(ve["CPUS"])
        args["cpus"] = "0" if count == 1 else f"0-{count - 1}"
    if "HOSTNAME" in ve:
        used.add("HOSTNAME")
        args["config"] = {"lxc.uts.name": ve["HOSTNAME"]}
    if "OSTEMPLATE" in ve:
        used.add("OSTEMPLATE")
        template = ve["OSTEMPLATE"]
        if re.search(r"(x86|i[3-6]86)$", template) and not template.endswith("x86_64"):
            args["arch"] = "x86"
            notes["arch"] = f"OSTEMPLATE {template} is 32-bit: lxc.arch = x86"
    if "IP_ADDRESS" in ve:
        used.add("IP_ADDRESS")
        notes["ip_address"] = (f"the guest had venet addresses {ve['IP_ADDRESS']}: its /etc/network/interfaces "
                               "is moved from venet0 to eth0 on br0; check netmask and gateway there")
    untranslated = sorted(k for k in ve if k not in used and not _IGNORED.match(k))
    return args, notes, untranslated
