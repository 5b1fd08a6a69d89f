"""pkg.*: installed, removed, held, unheld — Debian packages through dpkg and apt-get.

Facts come from ``dpkg-query -W`` (want/status/error flag/version per package) and,
for ``sources``, from ``dpkg-deb -f`` on the .deb files. Every command is pointed at
the same dpkg database (:class:`saline.states.system.dpkg.DpkgTarget`).

* ``pkg.installed`` with names installs through ``apt-get install -y
  --no-install-recommends name[=version]``; with Salt's ``sources`` (``[{name:
  /path/to.deb}]``, node paths) it runs ``dpkg -i`` — the seed installs a fixed
  ``screen`` this way — and compares the installed version with the .deb's.
* ``pkg.removed`` runs ``dpkg --remove`` on exactly the named packages: if another
  installed package depends on one, dpkg fails and the state fails, instead of apt
  quietly removing more than was named (on a cluster node that could be Pacemaker).
  A held package is refused until it is unheld.
* ``pkg.held``/``pkg.unheld`` set the dpkg selection (``dpkg --set-selections``, what
  ``apt-mark hold`` does underneath and what the seed runs by hand). Holding a
  package that is not installed is refused: dpkg would accept it with only a warning
  and nothing would be held.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from saline.states.engine.base import CommandStep, Facts, Plan, Refuse, StateArgs, StateContext, state_function
from saline.states.system.dpkg import (
    DpkgTarget,
    PackageName,
    PackageState,
    PackageVersion,
    check_package_name,
    parse_deb_fields,
    query,
)
from saline.states.engine.paths import NodePath
from saline.states.engine.runner import CommandError

NONINTERACTIVE = {"DEBIAN_FRONTEND": "noninteractive"}


# ---- arguments --------------------------------------------------------------------------------


class PkgArgs(StateArgs):
    """``name`` or Salt's ``pkgs`` list; ``admindir`` picks a private dpkg database (a node path)."""

    pkgs: list[PackageName] | None = Field(default=None, min_length=1)
    admindir: NodePath | None = None

    @model_validator(mode="after")
    def _name_is_a_package_when_used(self):
        if self.name_is_the_package():
            check_package_name(self.name)
        return self

    def name_is_the_package(self) -> bool:
        """Salt ignores ``name`` when a list is given; then it is just the state's label."""
        return self.pkgs is None

    def names(self) -> list[str]:
        return list(self.pkgs) if self.pkgs is not None else [self.name]


class InstalledArgs(PkgArgs):
    # Salt's pkgs entries may pin a version: ["lxc", {"screen": "4.1.0~20120320gitdb59704-5"}].
    pkgs: list[PackageName | dict[PackageName, PackageVersion]] | None = Field(default=None, min_length=1)
    version: PackageVersion | None = None
    sources: list[dict[PackageName, NodePath]] | None = Field(default=None, min_length=1)
    refresh: bool = False

    @model_validator(mode="after")
    def _one_way_to_name_packages(self):
        if self.sources is not None and (self.pkgs is not None or self.version is not None):
            raise ValueError("sources takes the versions from the .deb files: do not combine it with pkgs or version")
        if self.pkgs is not None and self.version is not None:
            raise ValueError("version applies to name only; pin versions inside pkgs ({name: version})")
        for entry in (self.pkgs or []) + (self.sources or []):
            if isinstance(entry, dict) and len(entry) != 1:
                raise ValueError(f"each pkgs/sources entry maps one package, got {entry!r}")
        return self

    def wanted(self) -> dict[str, str | None]:
        """Package → pinned version (None = any)."""
        if self.sources is not None:
            return {name: None for entry in self.sources for name in entry}
        if self.pkgs is None:
            return {self.name: self.version}
        out: dict[str, str | None] = {}
        for entry in self.pkgs:
            out.update({entry: None} if isinstance(entry, str) else entry)
        return out

    def names(self) -> list[str]:
        return list(self.wanted())

    def name_is_the_package(self) -> bool:
        return self.pkgs is None and self.sources is None


# ---- facts ------------------------------------------------------------------------------------


class DebFile(BaseModel):
    path: str  # host path, as dpkg gets it
    package: str
    version: str


class PkgFacts(Facts):
    target: DpkgTarget
    packages: dict[str, PackageState]
    debs: dict[str, DebFile] = Field(default_factory=dict)
    # dpkg's own answer to a dry-run removal, when it would fail (dependency problems).
    removal_blocked: str | None = None


def _read_deb(ctx: StateContext, name: str, node_path: str) -> DebFile:
    path = ctx.runner.path(node_path)
    if not path.is_file():
        raise Refuse(f"source {node_path} for {name} does not exist")
    result = ctx.runner.run(["dpkg-deb", "-f", str(path), "Package", "Version"])
    if not result.ok:
        raise CommandError(result)
    fields = parse_deb_fields(result.stdout)
    return DebFile(path=str(path), package=fields.get("Package", ""), version=fields.get("Version", ""))


def pkg_facts(args: PkgArgs, ctx: StateContext) -> PkgFacts:
    target = DpkgTarget.for_runner(ctx.runner, args.admindir)
    database = target.database()
    # dpkg-query on a missing database answers "no packages found": a typo would read as "not installed".
    if database is not None and not Path(database, "status").is_file():
        raise Refuse(f"no dpkg database at {database} (its status file is missing)")
    sources = getattr(args, "sources", None) or []
    debs = {name: _read_deb(ctx, name, path) for entry in sources for name, path in entry.items()}
    return PkgFacts(target=target, packages=query(ctx.runner, target, args.names()), debs=debs)


def removal_facts(args: PkgArgs, ctx: StateContext) -> PkgFacts:
    """Facts plus a ``dpkg --no-act --remove`` dry run: a failed removal would still leave the
    selection at ``deinstall`` (a later apt run would remove the package), so it is refused up front."""
    facts = pkg_facts(args, ctx)
    present = [n for n in args.names() if n in facts.packages and facts.packages[n].present]
    if present:
        dry = ctx.runner.run(["dpkg", *facts.target.dpkg_opts(), "--no-act", "--remove", *present])
        if not dry.ok:
            facts.removal_blocked = (dry.stderr or dry.stdout).strip()
    return facts


def _old_version(state: PackageState | None) -> str:
    return state.version or "" if state is not None and state.present else ""


# ---- pkg.installed -------------------------------------------------------------------------------


def _install_debs(args: InstalledArgs, facts: PkgFacts) -> Plan:
    changes, paths = {}, []
    for name, deb in facts.debs.items():
        if deb.package != name:
            raise Refuse(f"{deb.path} contains package {deb.package!r}, not {name!r}")
        state = facts.packages.get(name)
        if state is not None and state.installed and state.version == deb.version:
            continue
        changes[name] = {"old": _old_version(state), "new": deb.version}
        paths.append(deb.path)
    if not paths:
        return Plan(comment="All packages from sources are installed at their .deb versions")
    step = CommandStep(description=f"Install {', '.join(changes)} from .deb files",
                       argv=["dpkg", *facts.target.dpkg_opts(), "-i", *paths], env=NONINTERACTIVE)
    return Plan(steps=[step], changes=changes)


@state_function("pkg.installed", InstalledArgs, facts=pkg_facts)
def installed(args: InstalledArgs, facts: PkgFacts) -> Plan:
    """Packages installed (at the pinned version, if one is given)."""
    if args.sources is not None:
        return _install_debs(args, facts)
    changes, specs = {}, []
    for name, version in args.wanted().items():
        state = facts.packages.get(name)
        if state is not None and state.installed and version in (None, state.version):
            continue
        changes[name] = {"old": _old_version(state), "new": version or "latest available"}
        specs.append(f"{name}={version}" if version else name)
    if not specs:
        return Plan(comment="All packages are installed")
    apt = ["apt-get", *facts.target.apt_opts()]
    steps = [CommandStep(description="Refresh the apt package lists", argv=[*apt, "update"], env=NONINTERACTIVE)] \
        if args.refresh else []
    steps.append(CommandStep(description=f"Install {', '.join(specs)} with apt-get",
                             argv=[*apt, "install", "-y", "--no-install-recommends", *specs], env=NONINTERACTIVE))
    return Plan(steps=steps, changes=changes)


# ---- pkg.removed -------------------------------------------------------------------------------


@state_function("pkg.removed", PkgArgs, facts=removal_facts)
def removed(args: PkgArgs, facts: PkgFacts) -> Plan:
    """Packages not installed (configuration files may stay, as with ``apt-get remove``)."""
    present = [n for n in args.names() if n in facts.packages and facts.packages[n].present]
    held = [n for n in present if facts.packages[n].want == "hold"]
    if held:
        raise Refuse(f"{', '.join(held)} held: unhold before removing (pkg.unheld)")
    if not present:
        return Plan(comment="None of the packages is installed")
    if facts.removal_blocked:
        raise Refuse(f"dpkg would not remove {', '.join(present)}: {facts.removal_blocked}")
    step = CommandStep(description=f"Remove {', '.join(present)}",
                       argv=["dpkg", *facts.target.dpkg_opts(), "--remove", *present], env=NONINTERACTIVE)
    return Plan(steps=[step], changes={n: {"old": _old_version(facts.packages[n]), "new": ""} for n in present})


# ---- pkg.held / pkg.unheld ------------------------------------------------------------------------


def _selection_plan(facts: PkgFacts, names: list[str], selection: str, verb: str) -> Plan:
    changes = {n: {"old": facts.packages[n].want, "new": selection} for n in names}
    if not names:
        return Plan(comment=f"Packages are already {verb}")
    step = CommandStep(description=f"Set dpkg selection {selection} for {', '.join(names)}",
                       argv=["dpkg", *facts.target.dpkg_opts(), "--set-selections"],
                       stdin="".join(f"{n} {selection}\n" for n in names))
    return Plan(steps=[step], changes=changes)


@state_function("pkg.held", PkgArgs, facts=pkg_facts)
def held(args: PkgArgs, facts: PkgFacts) -> Plan:
    """Installed packages on hold (dpkg selection ``hold``): apt will not upgrade or remove them."""
    missing = [n for n in args.names() if n not in facts.packages or not facts.packages[n].present]
    if missing:
        raise Refuse(f"{', '.join(missing)} not installed: cannot hold (require a pkg.installed state)")
    return _selection_plan(facts, [n for n in args.names() if facts.packages[n].want != "hold"], "hold", "held")


@state_function("pkg.unheld", PkgArgs, facts=pkg_facts)
def unheld(args: PkgArgs, facts: PkgFacts) -> Plan:
    """Packages not on hold (selection back to ``install``); unknown packages are not held."""
    todo = [n for n in args.names() if n in facts.packages and facts.packages[n].want == "hold"]
    return _selection_plan(facts, todo, "install", "not held")
