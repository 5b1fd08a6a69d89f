"""Reading a node's dpkg database: which database, what it says about packages, what a .deb holds.

``DpkgTarget`` decides which database every dpkg/apt command works on, so facts and
steps never disagree: the node's own (``/var/lib/dpkg``), a private ``admindir``
(a node path, mapped under the runner's root), or — when the runner has a root other
than ``/`` — the database inside that root (``dpkg --root``), which is how tests
install real packages without touching the host's database. Without either, dpkg
itself still honours ``DPKG_ADMINDIR`` from the runner's environment.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel

from saline.states.engine.runner import CommandError, Runner

# Debian policy §5.6.1 (plus an optional :arch); a leading '-' can never reach argv as an option.
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")
# Debian policy §5.6.12: [epoch:]upstream[-revision]
_VERSION = re.compile(r"^([0-9]+:)?[A-Za-z0-9][A-Za-z0-9.+~:-]*$")

QUERY_FORMAT = r"${Package}\t${db:Status-Want}\t${db:Status-Status}\t${db:Status-Eflag}\t${Version}\n"
NOT_FOUND = re.compile(r"no packages found matching (\S+)")


def check_package_name(name: str) -> str:
    if not _PACKAGE.match(name):
        raise ValueError(f"{name!r} is not a Debian package name")
    return name


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise ValueError(f"{version!r} is not a Debian version")
    return version


PackageName = Annotated[str, AfterValidator(check_package_name)]
PackageVersion = Annotated[str, AfterValidator(check_version)]


class PackageState(BaseModel):
    """One package as dpkg's database records it."""

    name: str
    want: str  # unknown | install | hold | deinstall | purge
    status: str  # not-installed | installed | config-files | unpacked | half-configured | ...
    eflag: str = "ok"  # ok | reinstreq
    version: str | None = None

    @property
    def installed(self) -> bool:
        return self.status == "installed" and self.eflag == "ok"

    @property
    def present(self) -> bool:
        """Files of the package are (at least partly) on the node."""
        return self.status not in ("not-installed", "config-files")


class DpkgTarget(BaseModel):
    """Host paths of the installation root and the dpkg database the commands act on."""

    root: str | None = None
    admindir: str | None = None

    @classmethod
    def for_runner(cls, runner: Runner, admindir: str | None = None) -> DpkgTarget:
        root = None if str(runner.root) == "/" else str(runner.root)
        return cls(root=root, admindir=str(runner.path(admindir)) if admindir else None)

    def dpkg_opts(self) -> list[str]:
        # --root first: it also sets the admindir, which an explicit --admindir then overrides.
        opts = [f"--root={self.root}"] if self.root else []
        return opts + ([f"--admindir={self.admindir}"] if self.admindir else [])

    def database(self) -> str | None:
        """The admindir in use, when it is not the node's default."""
        if self.admindir:
            return self.admindir
        return f"{self.root}/var/lib/dpkg" if self.root else None

    def apt_opts(self) -> list[str]:
        database = self.database()
        if database is None:
            return []
        return ["-o", f"Dir::State::status={database}/status"] + [
            arg for opt in self.dpkg_opts() for arg in ("-o", f"DPkg::Options::={opt}")
        ]


def parse_query(stdout: str) -> dict[str, PackageState]:
    """``dpkg-query -W -f=QUERY_FORMAT`` output → states by package name."""
    states = {}
    for row in stdout.splitlines():
        if not row.strip():
            continue
        name, want, status, eflag, version = (row.split("\t") + [""] * 5)[:5]
        states[name] = PackageState(name=name, want=want, status=status, eflag=eflag or "ok", version=version or None)
    return states


def query(runner: Runner, target: DpkgTarget, names: list[str]) -> dict[str, PackageState]:
    """States of the named packages; unknown packages are simply absent from the result."""
    result = runner.run(["dpkg-query", *target.dpkg_opts(), "-W", f"-f={QUERY_FORMAT}", *names])
    # rc 1 with "no packages found matching X" is dpkg-query's answer for unknown packages.
    unexplained = [ln for ln in result.stderr.splitlines() if ln.strip() and not NOT_FOUND.search(ln)]
    if result.rc not in (0, 1) or unexplained:
        raise CommandError(result)
    return parse_query(result.stdout)


def parse_deb_fields(stdout: str) -> dict[str, str]:
    """``dpkg-deb -f FILE Package Version`` output ("Field: value" lines) → fields."""
    fields = {}
    for row in stdout.splitlines():
        key, sep, value = row.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
