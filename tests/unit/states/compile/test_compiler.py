"""The compiler: Jinja + YAML rendering with pillar, include, top file, validation, sources, requisites."""

from __future__ import annotations

import hashlib
import re

import os
import textwrap
from pathlib import Path

import pytest

from saline.states.compile.compiler import CompileError, compile_file, compile_highstate
from saline.states.compile.pillar import deep_merge, load_pillar
from tests.unit.states.engine import test_statefns  # noqa: F401  (registers etest.*)

from tests.paths import FIXTURES

FIXTURE = FIXTURES / "trees" / "basic"
NODE = {"hostname": "node1", "os": "Debian", "osrelease": "12"}


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def compile_one(root: Path, text: str, pillar: dict | None = None, name: str = "main"):
    tree(root, {f"{name}.sls": text})
    return compile_file(root / f"{name}.sls", pillar or {}, NODE, "node1")


def by_id(run) -> dict:
    return {s.id: s for s in run.states}


# ---- the fixture tree: top file, pillar, include, source template -----------------------


def test_highstate_of_the_fixture_tree_for_node1() -> None:
    pillar = load_pillar([FIXTURE / "pillar"], "node1", NODE)
    run = compile_highstate([FIXTURE / "states"], pillar, NODE, "node1")
    assert run.agent_id == "node1"
    # top order (common, web); web's include (.packages) before web itself
    assert [s.id for s in run.states] == ["motd", "/etc/web/packages.list", "web-config"]
    s = by_id(run)
    assert s["motd"].args["contents"] == "Welcome to node1 (lab)\n"
    assert s["/etc/web/packages.list"].args["contents"] == "nginx\ncurl\n"
    assert s["/etc/web/packages.list"].sls == "web.packages"
    web = s["web-config"]
    assert web.fun == "file.managed" and web.name == "/etc/web/app.conf" and web.sls == "web"
    assert web.require == ["motd"]
    assert web.args["contents"] == "# managed by saline for node1\nlisten = 8080\nworkers = 4\nsite = lab\n"
    assert not {"source", "template", "context", "require"} & set(web.args)


def test_other_agents_get_only_their_states_and_pillar() -> None:
    pillar = load_pillar([FIXTURE / "pillar"], "node2", NODE)
    assert pillar == {"site": {"name": "lab"}, "web": {"port": 80, "packages": ["nginx"]}}
    run = compile_highstate([FIXTURE / "states"], pillar, NODE, "node2")
    assert [s.id for s in run.states] == ["motd"]
    assert run.states[0].args["contents"] == "Welcome to node2 (lab)\n"


def test_named_states_instead_of_the_top_file() -> None:
    pillar = load_pillar([FIXTURE / "pillar"], "node1", NODE)
    run = compile_highstate([FIXTURE / "states"], pillar, NODE, "node1", states=["common", "web"])
    assert {s.id for s in run.states} == {"motd", "/etc/web/packages.list", "web-config"}
    # web alone requires file: motd from common, which is not part of the run
    with pytest.raises(CompileError, match=r"init.sls: state 'web-config': require: no state matches 'file: motd'"):
        compile_highstate([FIXTURE / "states"], pillar, NODE, "node1", states=["web"])


def test_top_file_problems(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="no top file"):
        compile_highstate([tmp_path], {}, NODE, "node1")
    tree(tmp_path, {"top.sls": "base:\n  'db*':\n    - x\n"})
    with pytest.raises(CompileError, match="no states in the top file match agent 'node1'"):
        compile_highstate([tmp_path], {}, NODE, "node1")
    tree(tmp_path, {"top.sls": "dev:\n  '*': [x]\n"})
    with pytest.raises(CompileError, match="no environment 'base' in the top file"):
        compile_highstate([tmp_path], {}, NODE, "node1", saltenv="base")


def test_top_yaml_list_match_and_grains_in_top(tmp_path: Path) -> None:
    tree(tmp_path, {
        "top.yaml": """\
            base:
              'node1,node2':
                - match: list
                - a
              '{{ grains.hostname }}':
                - b
        """,
        "a.sls": "a: {etest.file: [{name: /a}, {contents: a}]}\n",
        "b.sls": "b: {etest.file: [{name: /b}, {contents: b}]}\n",
    })
    assert [s.id for s in compile_highstate([tmp_path], {}, NODE, "node1").states] == ["a", "b"]
    assert [s.id for s in compile_highstate([tmp_path], {}, {"hostname": "x"}, "node2").states] == ["a"]


# ---- pillar --------------------------------------------------------------------------------


def test_pillar_deep_merge_replaces_lists_and_keeps_inputs() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = deep_merge(base, {"a": {"c": [3], "e": 2}})
    assert merged == {"a": {"b": 1, "c": [3], "e": 2}, "d": 1}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_pillar_without_top_is_empty_and_pillar_sls_sees_grains(tmp_path: Path) -> None:
    assert load_pillar([tmp_path], "node1", NODE) == {}
    tree(tmp_path, {"top.sls": "base: {'*': [p]}\n", "p.sls": "os: {{ grains.os }}\nme: {{ agent_id }}\n"})
    assert load_pillar([tmp_path], "node1", NODE) == {"os": "Debian", "me": "node1"}


# ---- rendering and the SLS shapes ----------------------------------------------------------


def test_salt_shapes_name_default_and_several_modules_per_id(tmp_path: Path) -> None:
    run = compile_one(tmp_path, """\
        /etc/a:
          etest.file:
            - contents: "{{ pillar.x }}"
        long-form:
          etest:
            - file
            - name: /etc/b
            - contents: b
        /run/svc:
          etest.service:
            - log: /var/log/svc
          file.managed:
            - contents: pid
        8080:
          etest.file:
            - contents: port
    """, pillar={"x": "from pillar"})
    s = by_id(run)
    assert s["/etc/a"].name == "/etc/a" and s["/etc/a"].args == {"name": "/etc/a", "contents": "from pillar"}
    assert s["long-form"].fun == "etest.file" and s["long-form"].name == "/etc/b"
    assert s["/run/svc (etest)"].fun == "etest.service" and s["/run/svc (file)"].fun == "file.managed"
    assert s["/run/svc (file)"].name == "/run/svc"
    assert s["8080"].name == "8080"
    assert [st.order for st in run.states] == list(range(5))


def test_undefined_pillar_key_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match=r"main.sls: Jinja: .*'nope'"):
        compile_one(tmp_path, "a: {etest.file: [{contents: '{{ pillar.nope }}'}]}\n")


def test_jinja_syntax_and_yaml_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match=r"main.sls: line 1: Jinja syntax error"):
        compile_one(tmp_path, "{% if %}\n")
    with pytest.raises(CompileError, match=r"main.sls: invalid YAML"):
        compile_one(tmp_path, "a: [\n")
    with pytest.raises(CompileError, match=r"duplicate key 'a'"):
        compile_one(tmp_path, "a: {etest.file: [{contents: x}]}\na: {etest.file: [{contents: y}]}\n")


@pytest.mark.parametrize(
    "body,match",
    [
        ("a: {etest.file: [{contents: x}, {mdoe: '0644'}]}",
         r"main.sls: state 'a': etest.file: unknown argument 'mdoe' \(a misspelling, or a Salt argument saline does "
         r"not take; etest.file takes: contents, name\)"),
        ("a: {file.managed: [{name: /x}, {contents: x}, {unless: 'test -e /y'}]}",
         r"file.managed: Salt's argument 'unless' is not supported \(saline takes unless/onlyif only on cmd.run"),
        ("a: {cmd.run: [{name: 'true'}, {retry: {attempts: 2}}]}", r"cmd.run: Salt's argument 'retry' is not supported"),
        ("a: {file.managed: [{name: /x}, {contents: x}, {user: 65534}]}",
         r"file.managed: user: a number; saline takes a user name here \(user: nobody, group: nogroup\), not an id"),
        ("a: {file.managed: [{name: /x}, {contents: x}, {mdoe: '0644'}]}", r"main.sls: state 'a': file.managed: unknown argument 'mdoe' .*takes: .*mode, name"),
        ("a: {etest.file: [{contents: x}, {contents: y}]}", r"state 'a': etest.file: argument 'contents' given twice"),
        ("a: {etest: [{contents: x}]}", r"state 'a': 'etest': no function named"),
        ("a: {etest.file: [{contents: x}], etest.cmd: [{argv: [true]}]}", r"more than one function of module 'etest'"),
        ("a: {etest.file: [{contents: x}, {prereq: [b]}]}", r"state 'a': prereq: no state matches 'b'"),
        ("a: {etest.file: [{contents: 2024-01-01}]}", r"state 'a': contents is a date .*quote it"),
        ("a: [1, 2]", r"state 'a': must map 'module.function'"),
        ("extend: {b: {etest: [{contents: y}]}}", r"extend: 'b': cannot extend ID 'b' \(etest\): it is not part of the run"),
        ("a: {etest.file: [{contents: x}, {order: soon}]}", r"state 'a': order must be a number, 'first' or 'last'"),
    ],
)
def test_bad_states_are_compile_errors_naming_file_id_and_key(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(CompileError, match=match):
        compile_one(tmp_path, body + "\n")


def test_include_relative_missing_and_beyond_top(tmp_path: Path) -> None:
    tree(tmp_path, {
        "app/init.sls": "include: [.db, app.web]\napp: {etest.file: [{contents: app}]}\n",
        "app/db.sls": "include: [.web]\ndb: {etest.file: [{contents: db}]}\n",
        "app/web.sls": "include: [app.db]\nweb: {etest.file: [{contents: web}]}\n",
    })
    run = compile_highstate([tmp_path], {}, NODE, "node1", states=["app"])
    assert [s.id for s in run.states] == ["web", "db", "app"]  # mutual include allowed, each file once
    tree(tmp_path, {"bad.sls": "include: [missing.thing]\n"})
    with pytest.raises(CompileError, match=r"bad.sls: include: SLS 'missing.thing' not found"):
        compile_highstate([tmp_path], {}, NODE, "node1", states=["bad"])
    tree(tmp_path, {"up.sls": "include: ['..x']\n"})
    with pytest.raises(CompileError, match="goes beyond the top"):
        compile_highstate([tmp_path], {}, NODE, "node1", states=["up"])
    with pytest.raises(CompileError, match="not a valid SLS name"):
        compile_highstate([tmp_path], {}, NODE, "node1", states=["../etc/passwd"])


# ---- requisites ------------------------------------------------------------------------------


def test_requisite_forms_resolve_to_state_ids(tmp_path: Path) -> None:
    tree(tmp_path, {"lib.sls": "lib1: {etest.file: [{name: /lib1}, {contents: x}]}\nlib2: {etest.file: [{name: /lib2}, {contents: x}]}\n"})
    run = compile_one(tmp_path, """\
        include: [lib]
        conf:
          etest.file:
            - name: /etc/app.conf
            - contents: x
            - watch_in:
              - etest: svc
        svc:
          etest.service:
            - log: /log
            - require:
              - sls: lib
              - conf
            - onchanges:
              - etest: /etc/app.conf
        rescue:
          etest.cmd:
            - argv: ['true']
            - onfail: [{etest: svc}]
            - require_in: [late]
        late:
          etest.file:
            - contents: x
    """)
    s = by_id(run)
    assert s["svc"].require == ["lib1", "lib2", "conf"]
    assert s["svc"].watch == ["conf"] and s["svc"].onchanges == ["conf"]
    assert s["rescue"].onfail == ["svc"]
    assert s["late"].require == ["rescue"]


@pytest.mark.parametrize(
    "body,match",
    [
        ("a: {etest.file: [{contents: x}, {require: [{etest: ghost}]}]}", r"main.sls: state 'a': require: no state matches 'etest: ghost'"),
        ("a: {etest.file: [{contents: x}, {require: [{file: a}]}]}", r"state 'a': require: no state matches 'file: a'"),
        ("a: {etest.file: [{contents: x}, {onchanges: [{sls: other}]}]}", r"onchanges: no state matches SLS 'other'"),
        ("a: {etest.file: [{contents: x}, {watch_in: [nothing]}]}", r"watch_in: no state matches 'nothing'"),
    ],
)
def test_missing_requisite_targets(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(CompileError, match=match):
        compile_one(tmp_path, body + "\n")


def test_requisite_cycles_are_compile_errors(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match=r"recursive requisite found: 'a' \(sls main\) -> 'b' \(sls main\) -> 'a'"):
        compile_one(tmp_path, """\
            a: {etest.file: [{contents: x}, {require: [b]}]}
            b: {etest.file: [{contents: x}, {watch: [{etest: a}]}]}
        """)
    with pytest.raises(CompileError, match="recursive requisite"):
        compile_one(tmp_path, "a: {etest.file: [{contents: x}, {require: [a]}]}\n")
    with pytest.raises(CompileError, match="recursive requisite"):
        compile_one(tmp_path, """\
            a: {etest.file: [{contents: x}, {require_in: [b]}]}
            b: {etest.file: [{contents: x}, {onchanges_in: [a]}]}
        """)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    tree(tmp_path, {"other.sls": "a: {etest.file: [{contents: x}]}\n"})
    with pytest.raises(CompileError, match=r"state ID 'a' is also defined in .*"):
        compile_one(tmp_path, "include: [other]\na: {etest.file: [{contents: y}]}\n")


# ---- sources resolved on the master ----------------------------------------------------------


def test_source_relative_and_list_first_existing(tmp_path: Path) -> None:
    tree(tmp_path, {"files/b.txt": "plain {{ not rendered }}\n"})
    run = compile_one(tmp_path, "f: {file.managed: [{name: /f}, {source: [salt://files/a.txt, files/b.txt]}]}\n")
    text = "plain {{ not rendered }}\n"
    assert run.states[0].args == {"name": "/f", "contents": text,
                                  "source_hash": "sha256=" + hashlib.sha256(text.encode()).hexdigest()}


def test_source_template_sees_pillar_grains_defaults_and_context(tmp_path: Path) -> None:
    tree(tmp_path, {"t.j2": "{{ pillar.a }} {{ grains.os }} {{ d }} {{ c }}\n{% include 'inc.j2' %}", "inc.j2": "included\n"})
    run = compile_one(tmp_path, """\
        f:
          file.managed:
            - name: /f
            - source: salt://t.j2
            - template: jinja
            - defaults: {d: default, c: overridden}
            - context: {c: context}
    """, pillar={"a": "P"})
    assert run.states[0].args["contents"] == "P Debian default context\nincluded\n"


def test_contents_pillar(tmp_path: Path) -> None:
    run = compile_one(tmp_path, "f: {file.managed: [{name: /f}, {contents_pillar: 'ssh:key'}]}\n", pillar={"ssh": {"key": "AAA\n"}})
    assert run.states[0].args["contents"] == "AAA\n"
    with pytest.raises(CompileError, match="pillar key 'ssh:nope' does not exist"):
        compile_one(tmp_path, "f: {file.managed: [{name: /f}, {contents_pillar: 'ssh:nope'}]}\n", pillar={"ssh": {}})


@pytest.mark.parametrize(
    "source,match",
    [
        ("salt://../secret.txt", "outside the state roots"),
        ("../secret.txt", "outside the state roots"),
        ("salt://files/../../secret.txt", "outside the state roots"),
        ("/etc/passwd", "outside the state roots"),
        ("salt://escape.txt", "outside the state root"),
        ("salt://files", "not a regular file"),
    ],
)
def test_source_path_traversal_is_refused(tmp_path: Path, source: str, match: str) -> None:
    (tmp_path / "secret.txt").write_text("secret\n")
    root = tmp_path / "root"
    tree(root, {"files/ok.txt": "ok\n"})
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    with pytest.raises(CompileError, match=rf"main.sls: state 'f': source: .*{match}"):
        compile_one(root, f"f: {{file.managed: [{{name: /f}}, {{source: '{source}'}}]}}\n")


def test_jinja_include_cannot_escape_the_root(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret\n")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path / "secret.txt", root / "link.j2")
    with pytest.raises(CompileError, match="outside the state roots"):
        compile_one(root, "{% include '../secret.txt' %}\n")
    with pytest.raises(CompileError, match="outside the state root"):
        compile_one(root, "{% include 'link.j2' %}\n")


def test_symlink_inside_the_root_is_fine(tmp_path: Path) -> None:
    tree(tmp_path, {"real.txt": "real\n"})
    os.symlink(tmp_path / "real.txt", tmp_path / "alias.txt")
    run = compile_one(tmp_path, "f: {file.managed: [{name: /f}, {source: alias.txt}]}\n")
    assert run.states[0].args["contents"] == "real\n"


@pytest.mark.parametrize(
    "extra,match",
    [
        ("{contents: x}, {source: salt://t}", "use only one of contents, source"),
        ("{template: jinja}", "template: needs a source"),
        ("{source: salt://t}, {template: mako}", "'mako' is not supported"),
        ("{source: salt://t}, {context: [1]}", "context: expected a mapping"),
    ],
)
def test_source_argument_conflicts(tmp_path: Path, extra: str, match: str) -> None:
    tree(tmp_path, {"t": "x\n"})
    with pytest.raises(CompileError, match=match):
        compile_one(tmp_path, f"f: {{file.managed: [{{name: /f}}, {extra}]}}\n")


def test_compile_file_requires_an_sls_name(tmp_path: Path) -> None:
    tree(tmp_path, {"a.b.sls": "{}\n", "x.yaml": "{}\n"})
    with pytest.raises(CompileError, match="cannot contain '.'"):
        compile_file(tmp_path / "a.b.sls", {}, NODE, "node1")
    with pytest.raises(CompileError, match="must end in .sls"):
        compile_file(tmp_path / "x.yaml", {}, NODE, "node1")


def test_corosync_config_runs_after_the_authkey_even_when_listed_first(tmp_path: Path) -> None:
    """The README lists corosync.config before corosync.authkey; written in that order on a
    running cluster, the config's reload (with crypto) split the lab. The key goes first."""
    key = "A" * 344  # base64 of 258 bytes
    run = compile_one(tmp_path, f"""\
        corosync_conf:
          corosync.config:
            - cluster_name: ha1
            - nodes: [{{name: node1, ring0_addr: 10.77.0.1}}, {{name: node2, ring0_addr: 10.77.0.2}}]
        corosync_key:
          corosync.authkey:
            - key: {key}
    """)
    assert by_id(run)["corosync_conf"].require == ["corosync_key"]
    assert [s.id for s in run.ordered()] == ["corosync_key", "corosync_conf"]


@pytest.mark.parametrize("body,error", [
    ("a: {nosuch.thing: [{name: x}]}", r"State 'nosuch.thing' was not found in SLS 'main': unknown state function 'nosuch.thing'"),
    ("a: {etest.fiel: [{contents: x}]}", r"State 'etest.fiel' was not found .*\(module 'etest' has: .*etest.file"),
    ("a: {file.managed: [{name: /f}, {source: 'salt://nothing.txt'}]}", r"source: none of salt://nothing.txt exists"),
    ("a: {file.managed: [{name: /f}, {source: 'salt://bad.j2'}, {template: jinja}]}", r"source .*bad.j2.*Jinja"),
])
def test_runtime_errors_fail_only_their_state_as_in_salt(tmp_path: Path, body: str, error: str) -> None:
    """An unknown function or a missing/broken source file fails that state when the run
    applies (Salt's granularity); the rest of the run compiles."""
    tree(tmp_path, {"bad.j2": "{{ nope.nope }}"})
    run = compile_one(tmp_path, body + "\nb: {etest.file: [{contents: fine}]}\n")
    states = by_id(run)
    assert re.search(error, states["a"].error) and states["b"].error is None
