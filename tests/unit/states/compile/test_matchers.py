"""Salt's target matchers: top files with match types and environments, compound expressions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from saline.states.compile.compiler import CompileError, compile_highstate
from saline.states.compile.matchers import MatchError, Subject, compound, match

NODE = Subject("node1", {"os": "Debian", "os_family": "Debian", "osmajorrelease": 12, "roles": ["web", "db"],
                         "ipv4": ["127.0.0.1", "192.0.2.7"], "lsb": {"codename": "bookworm"}},
               {"role": "primary", "drbd": {"r0": {"port": 7789}}}, {"webs": "L@node1,node2", "all": ["node1"]})


@pytest.mark.parametrize("kind,target,expected", [
    ("glob", "node*", True), ("glob", "web*", False),
    ("pcre", r"node\d", True), ("list", "a, node1", True), ("list", "node2", False),
    ("grain", "os:Debian", True), ("grain", "os:Deb*", True), ("grain", "os:RedHat", False),
    ("grain", "roles:db", True), ("grain", "lsb:codename:book*", True), ("grain", "osmajorrelease:12", True),
    ("grain_pcre", "os:^Deb", True), ("pillar", "role:primary", True), ("pillar", "drbd:r0:port:7789", True),
    ("pillar_pcre", "role:prim.*", True), ("ipcidr", "192.0.2.0/24", True), ("ipcidr", "10.0.0.0/8", False),
    ("nodegroup", "webs", True), ("nodegroup", "all", True),
])
def test_matchers(kind: str, target: str, expected: bool) -> None:
    assert match(kind, target, NODE) is expected


@pytest.mark.parametrize("expr,expected", [
    ("G@os:Debian and I@role:primary", True),
    ("G@os:Debian and not I@role:primary", False),
    ("web* or ( G@os:Debian and L@node1,node3 )", True),
    ("not ( E@node.* or G@os:RedHat )", False),
    ("N@webs and S@192.0.2.0/24 and P@os_family:^Deb and J@drbd:r0:port:77.*", True),
])
def test_compound(expr: str, expected: bool) -> None:
    assert compound(NODE, expr) is expected


@pytest.mark.parametrize("expr,msg", [("G@os:Debian and", "ends too early"), ("( node1", "missing"),
                                      ("X@x", "unknown matcher"), ("N@nope", "no nodegroup"), ("and node1", "unexpected")])
def test_compound_errors(expr: str, msg: str) -> None:
    with pytest.raises(MatchError, match=msg):
        compound(NODE, expr)


def test_top_file_match_types_and_environments(tmp_path: Path) -> None:
    (tmp_path / "top.sls").write_text(textwrap.dedent("""
        base:
          'os:Debian':
            - match: grain
            - debian
          'role:primary':
            - match: pillar
            - primary
          'G@os:RedHat or I@role:standby':
            - match: compound
            - never
          'node[0-9]':
            - match: pcre
            - pcre
        dev:
          'node1':
            - devstuff
    """))
    for name in ("debian", "primary", "never", "pcre", "devstuff"):
        (tmp_path / f"{name}.sls").write_text(f"{name}:\n  etest.file:\n    - contents: x\n")
    from tests.unit.states.engine import test_statefns  # noqa: F401  (registers etest.*)

    def ids(**kw):
        return [s.id for s in compile_highstate([tmp_path], {"role": "primary"}, {"os": "Debian"}, "node1", **kw).states]

    assert ids() == ["debian", "primary", "pcre", "devstuff"]  # every environment, base first
    assert ids(saltenv="dev") == ["devstuff"]
    with pytest.raises(CompileError, match="no environment 'prod'"):
        ids(saltenv="prod")
