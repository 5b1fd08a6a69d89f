"""The node's facts (Salt calls them grains), with Salt's grain names and shapes where Salt has
one (``os_family``, ``osfinger``, ``osmajorrelease``, ``ipv4``, ``mem_total`` in MiB, ``init`` …).

One gatherer for every consumer: the agent's ``facts.items`` and its hello to the master
(the master renders SLS templates with them), and masterless ``saline call``.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

OS_RELEASE = Path("/etc/os-release")


def parse_os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` (KEY=value, shell quoting) → dict."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            continue
        values[key.strip()] = parts[0] if parts else ""
    return values


def _major(release: str) -> int | str:
    head = release.split(".", 1)[0]
    return int(head) if head.isdigit() else head


def osfinger(os_name: str, fullname: str, release: str) -> str:
    """Salt's osfinger: ``Debian-12``, ``Ubuntu-22.04``, ``CentOS Stream-9``."""
    name = os_name if os_name in ("Debian", "FreeBSD", "OpenBSD", "NetBSD", "Mac", "Raspbian", "AlmaLinux") else fullname
    version = release if os_name in ("Ubuntu", "Pop", "NixOS") else _major(release)
    return f"{name}-{version}"


def facts_from(os_release: dict[str, str], hostname: str, kernel: str, kernelrelease: str) -> dict[str, Any]:
    """The OS and host facts, named and shaped as Salt's grains (``os_family``, ``osfinger`` …)."""
    os_name = os_release.get("NAME", "").split(" ", 1)[0] or kernel
    release = os_release.get("VERSION_ID", "")
    family = _OS_FAMILY.get(os_release.get("ID", ""), _OS_FAMILY.get(os_release.get("ID_LIKE", "").split(" ")[0], os_name))
    return {
        "hostname": hostname,
        "host": hostname.split(".", 1)[0],
        "localhost": hostname,
        "nodename": hostname,
        "fqdn": hostname,
        "domain": hostname.partition(".")[2],
        "os": os_name,
        "os_id": os_release.get("ID", ""),
        "os_family": family,
        "osfullname": os_release.get("NAME", ""),
        "osrelease": release,
        "osrelease_info": [int(p) if p.isdigit() else p for p in release.split(".")] if release else [],
        "osmajorrelease": _major(release) if release else "",
        "osfinger": osfinger(os_name, os_release.get("NAME", ""), release),
        "oscodename": os_release.get("VERSION_CODENAME", ""),
        "lsb_distrib_id": os_release.get("NAME", ""),
        "lsb_distrib_release": release,
        "lsb_distrib_codename": os_release.get("VERSION_CODENAME", ""),
        "kernel": kernel,
        "kernelrelease": kernelrelease,
    }


# Salt's os_family for the distributions it knows by their os-release ID (or ID_LIKE).
_OS_FAMILY = {"debian": "Debian", "ubuntu": "Debian", "raspbian": "Debian", "linuxmint": "Debian",
              "devuan": "Debian", "rhel": "RedHat", "centos": "RedHat", "fedora": "RedHat", "rocky": "RedHat",
              "almalinux": "RedHat", "amzn": "RedHat", "ol": "RedHat", "sles": "Suse", "opensuse-leap": "Suse",
              "suse": "Suse", "arch": "Arch", "alpine": "Alpine", "gentoo": "Gentoo"}
# Salt's osarch is the package architecture (dpkg's names on Debian).
_DPKG_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386", "ppc64le": "ppc64el",
              "s390x": "s390x", "riscv64": "riscv64"}


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _mem_total_mib() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def _addresses() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """IPv4 and IPv6 addresses per interface, from ``ip -json addr`` (Salt: ip4_interfaces, ip6_interfaces)."""
    try:
        proc = subprocess.run(["ip", "-json", "addr", "show"], capture_output=True, text=True, timeout=5)
        links = json.loads(proc.stdout) if proc.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        links = []
    v4: dict[str, list[str]] = {}
    v6: dict[str, list[str]] = {}
    for link in links:
        name = link.get("ifname", "")
        v4[name] = [a["local"] for a in link.get("addr_info", []) if a.get("family") == "inet" and "local" in a]
        v6[name] = [a["local"] for a in link.get("addr_info", []) if a.get("family") == "inet6" and "local" in a]
    return v4, v6


def init_system(proc1_cmdline: str | None, run_systemd: bool, which=shutil.which) -> str:
    """Salt's ``init`` grain: systemd when /run/systemd/system exists, else what PID 1 is."""
    if run_systemd:
        return "systemd"
    words = (proc1_cmdline or "").replace("\x00", " ").split()
    if not words:
        return "unknown"
    binary = which(words[0])
    if binary is not None and binary.endswith("bin/init"):
        try:
            data = Path(binary).read_bytes().lower()
        except OSError:
            return "unknown"
        return next((name for name in ("upstart", "sysvinit", "systemd") if name.encode() in data), "unknown")
    for name in ("supervisord", "dumb-init", "tini"):
        path = which(name)
        if path is not None and path in words:
            return name
    if words == ["runit"] or "/sbin/my_init" in words:
        return "runit"
    return "unknown"


def _interfaces() -> dict[str, dict[str, Any]]:
    base = Path("/sys/class/net")
    out: dict[str, dict[str, Any]] = {}
    for dev in sorted(base.iterdir()) if base.is_dir() else []:
        out[dev.name] = {
            "hwaddr": _read(f"{dev}/address"),
            "operstate": _read(f"{dev}/operstate"),
            "bridge": (dev / "bridge").is_dir(),
        }
    return out


def fq_hostname() -> str:
    """Salt's fqdn: the canonical name the resolver gives the hostname, else getfqdn()."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), 0, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                   socket.SOL_TCP, socket.AI_CANONNAME)
        return next((info[3] for info in infos if info[3]), "") or socket.getfqdn()
    except OSError:
        return socket.getfqdn()


def _mem_total_mib_of(key: str) -> int:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return 0


def gather(os_release_path: Path = OS_RELEASE) -> dict[str, Any]:
    try:
        os_release = parse_os_release(os_release_path.read_text())
    except OSError:
        os_release = {}
    uname = os.uname()
    facts = facts_from(os_release, socket.gethostname(), platform.system(), uname.release)
    fqdn = fq_hostname()
    v4, v6 = _addresses()
    interfaces = _interfaces()
    facts.update({
        "fqdn": fqdn,
        "domain": fqdn.partition(".")[2],
        "os_pretty": os_release.get("PRETTY_NAME", ""),
        "cpuarch": uname.machine,
        "osarch": _DPKG_ARCH.get(uname.machine, uname.machine),
        "kernelversion": uname.version,
        "num_cpus": os.cpu_count(),
        "mem_total": _mem_total_mib(),
        "swap_total": _mem_total_mib_of("SwapTotal"),
        "machine_id": _read("/etc/machine-id") or "",
        "boot_id": _read("/proc/sys/kernel/random/boot_id"),
        "init": init_system(_read("/proc/1/cmdline"), Path("/run/systemd/system").is_dir()),
        "shell": os.environ.get("SHELL", "/bin/sh"),
        "path": os.environ.get("PATH", ""),
        "interfaces": interfaces,
        "hwaddr_interfaces": {name: dev["hwaddr"] for name, dev in interfaces.items() if dev["hwaddr"]},
        "ip4_interfaces": v4,
        "ip6_interfaces": v6,
        "ip_interfaces": {name: v4.get(name, []) + v6.get(name, []) for name in {**v4, **v6}},
        "ipv4": sorted({a for addrs in v4.values() for a in addrs}),
        "ipv6": sorted({a for addrs in v6.values() for a in addrs}),
    })
    return facts


def node_facts(agent_id: str, version: str) -> dict[str, Any]:
    """What an agent reports (``facts.items``, its hello) and what ``saline call`` renders with:
    the same facts, so a template renders the same masterless and through the master."""
    return {**gather(), "id": agent_id, "saline_version": version}
