"""The real two-node cluster lab, brought up once per test session.

Torn down by the fixture's finalizer even when tests fail; the prefix and state dir
carry the pid so a lab someone else runs (default ``/run/saline-lab``) is untouched.
"""

from __future__ import annotations

import os
import shutil

import pytest

from saline.lab.lab import Lab

pytestmark = pytest.mark.cluster


def _missing_tools() -> list[str]:
    return [t for t in ("corosync", "pacemakerd", "cibadmin", "crm_mon", "nsenter", "unshare", "ip")
            if shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]


def make_lab(tag: str) -> Lab:
    pid = os.getpid()
    return Lab(state_dir=f"/run/saline-lab-{tag}-{pid}", prefix=f"sl{tag}{pid}",
               token=int(os.environ.get("SALINE_LAB_TOKEN", "1000")))


@pytest.fixture(scope="session")
def lab():
    missing = _missing_tools()
    if missing:
        pytest.skip(f"cluster tools missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts)")
    the_lab = make_lab("t")
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()
