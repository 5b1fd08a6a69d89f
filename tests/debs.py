"""Tiny real .deb packages and empty dpkg databases for tests (the host's dpkg db is never touched)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def build_deb(out_dir: Path, package: str, version: str, depends: str | None = None) -> Path:
    tree = out_dir / f"{package}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr/share" / package).mkdir(parents=True)
    (tree / "usr/share" / package / "VERSION").write_text(version + "\n")
    control = f"Package: {package}\nVersion: {version}\nArchitecture: all\nMaintainer: saline tests <t@example.org>\n"
    control += (f"Depends: {depends}\n" if depends else "") + "Description: saline test package\n"
    (tree / "DEBIAN/control").write_text(control)
    deb = out_dir / f"{package}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)], check=True,
                   capture_output=True)
    shutil.rmtree(tree)
    return deb


def empty_dpkg_db(admindir: Path) -> None:
    for sub in ("updates", "info"):
        (admindir / sub).mkdir(parents=True, exist_ok=True)
    (admindir / "status").touch()
