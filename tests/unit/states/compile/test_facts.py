"""Agent-reported facts in templates: the id comes from the key, every other fact is data."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.compile.compiler import CompileError, compile_file, compile_highstate
from saline.states.compile.facts import FactStr, node_facts, plain
from saline.states.compile.pillar import load_pillar
from tests.unit.states.compile.test_compiler import by_id, tree
from tests.unit.states.engine import test_statefns  # noqa: F401  (registers etest.*)

INJECTED_HOST = "x\n/stolen:\n  etest.file:\n    - contents: {{ pillar }}\n"


def test_the_key_bound_id_wins_over_the_reported_one(tmp_path: Path) -> None:
    """Salt's master overwrites the minion's id grain; a spoofed one must not pick another node's pillar."""
    tree(tmp_path, {
        "top.sls": "base:\n  '*':\n    - nodes.{{ grains['id'] }}\n",
        "nodes/alpha.sls": "secret: alpha-secret\n",
        "nodes/mallory.sls": "secret: mallory-secret\n",
        "who.sls": "me: {{ grains.id }} {{ facts['id'] }} {{ agent_id }}\n",
    })
    spoofed = {"id": "alpha", "hostname": "alpha"}
    assert load_pillar([tmp_path], "mallory", spoofed) == {"secret": "mallory-secret"}
    assert node_facts(spoofed, "mallory")["id"] == "mallory"
    assert load_pillar([tmp_path / "nodes"], "mallory", spoofed) == {}
    tree(tmp_path / "p2", {"top.sls": "base: {'*': [who]}\n", "who.sls": "me: {{ grains.id }} {{ facts['id'] }} {{ agent_id }}\n"})
    assert load_pillar([tmp_path / "p2"], "mallory", spoofed) == {"me": "mallory mallory mallory"}


def test_a_newline_in_a_fact_cannot_add_a_state(tmp_path: Path) -> None:
    tree(tmp_path, {"main.sls": "/etc/hostname:\n  etest.file:\n    - contents: {{ grains['hostname'] }}\n"})
    run = compile_file(tmp_path / "main.sls", {"secret": "s3cret"}, {"hostname": INJECTED_HOST}, "node1")
    assert list(by_id(run)) == ["/etc/hostname"]
    assert run.states[0].args["contents"] == INJECTED_HOST  # the fact, verbatim, as one string


@pytest.mark.parametrize("template", [
    "- name: /f/{{ grains['host'] }}",                       # inside a larger scalar
    "- name: \"/f/{{ grains['host'] }}\"",                    # inside double quotes
    "- name: /f/{{ grains['host'] | upper | lower }}",        # through filters
    "- name: /f/{{ grains['fqdn'].rsplit('.', 1)[0] }}",          # through a method
    "- name: {{ '/f/%s' % grains['host'] }}",                 # through % formatting
    "- name: {{ '/f/{}'.format(grains['host']) }}",           # through str.format on a literal
    "- name: {{ '/f/' ~ grains['host'] }}",                   # through ~
])
def test_facts_stay_one_string_however_they_are_printed(tmp_path: Path, template: str) -> None:
    host = "a: b\n/evil:\n  etest.file: [{contents: x}]\n# "
    tree(tmp_path, {"main.sls": f"s:\n  etest.file:\n    {template}\n    - contents: c\n"})
    run = compile_file(tmp_path / "main.sls", {}, {"host": host, "fqdn": host + ".example"}, "node1")
    assert list(by_id(run)) == ["s"]
    assert run.states[0].args["name"] == "/f/" + host


def test_facts_in_lists_and_keys_and_the_top_file(tmp_path: Path) -> None:
    evil = "eth0', '/etc/shadow"
    tree(tmp_path, {
        "top.sls": "base:\n  '{{ grains.host }}':\n    - main\n  '*':\n    - main\n",
        "main.sls": "s:\n  etest.file:\n    - name: /x\n    - contents: {{ grains['ifaces'] | join(' ') }}\n"
                    "{% for i in grains['ifaces'] %}\n/if/{{ i }}:\n  etest.file: [{contents: c}]\n{% endfor %}\n",
    })
    node = {"host": "*\n  '*': [other]", "ifaces": ["eth0", evil]}
    run = compile_highstate([tmp_path], {}, node, "node1")
    assert sorted(by_id(run)) == ["/if/eth0", f"/if/{evil}", "s"]
    assert by_id(run)["s"].args["contents"] == f"eth0 {evil}"
    tree(tmp_path / "pillar", {"top.sls": "base: {'*': [p]}\n", "p.sls": "ifaces: {{ grains['ifaces'] }}\n"})
    assert load_pillar([tmp_path / "pillar"], "node1", node) == {"ifaces": ["eth0", evil]}


def test_plain_facts_render_exactly_as_before(tmp_path: Path) -> None:
    tree(tmp_path, {"main.sls": "s:\n  etest.file:\n    - name: /f/{{ grains.os }}-{{ grains.osrelease }}\n"
                                "    - contents: '{{ grains.pretty }}'\n"})
    run = compile_file(tmp_path / "main.sls", {}, {"os": "Debian", "osrelease": "12", "pretty": "Debian GNU/Linux 12 (bookworm)"}, "node1")
    assert run.states[0].args == {"name": "/f/Debian-12", "contents": "Debian GNU/Linux 12 (bookworm)"}


def test_source_templates_get_the_fact_text(tmp_path: Path) -> None:
    tree(tmp_path, {"main.sls": "/etc/motd:\n  file.managed:\n    - source: motd\n    - template: jinja\n",
                    "motd": "host={{ grains.host }}\n"})
    run = compile_file(tmp_path / "main.sls", {}, {"host": "a: b\n#c"}, "node1")
    assert run.states[0].args["contents"] == "host=a: b\n#c\n"


def test_plain_and_marks() -> None:
    assert plain("node1.example.com") and plain("Debian GNU/Linux 12 (bookworm)") and plain("")
    assert not any(plain(s) for s in ("a: b", "a\nb", "- x", "x #y", "[a]", "{a}", "'q'", "a,b", "x ", "&a", "*a", "!t"))
    f = FactStr("a.b")
    assert all(isinstance(v, FactStr) for v in (f.upper(), f.split(".")[0], "x" + f, f + "x", "%s" % f, f[1:], str(f)))


def test_top_file_restricts_sources_per_agent(tmp_path: Path) -> None:
    tree(tmp_path, {
        "top.sls": "base:\n  '*':\n    - app\n    - sources: ['salt://files/common/*']\n"
                   "  node1:\n    - sources: ['files/node1/*']\n  other:\n    - app\n",
        "app.sls": "/etc/app:\n  file.managed:\n    - source: salt://files/{{ pillar['file'] }}\n",
        "files/common/a": "common\n", "files/node1/key": "node1 key\n", "files/node2/key": "node2 key\n",
        "files/common/link": "",
    })
    (tmp_path / "files/common/link").unlink()
    (tmp_path / "files/common/link").symlink_to("../node2/key")

    def contents(agent: str, file: str) -> str:
        return compile_highstate([tmp_path], {"file": file}, {}, agent).states[0].args["contents"]

    assert contents("node1", "common/a") == "common\n"
    assert contents("node1", "node1/key") == "node1 key\n"  # the union of node1's matching targets
    with pytest.raises(CompileError, match=r"'salt://files/node2/key' \(files/node2/key\) is not among the sources the top file allows"):
        contents("node1", "node2/key")
    with pytest.raises(CompileError, match="not among the sources"):
        contents("node2", "node1/key")
    with pytest.raises(CompileError, match=r"\(files/node2/key\) is not among"):  # a link in an allowed folder
        contents("node1", "common/link")
    # Named SLS runs are held to the same list; without any '- sources:' every file is allowed.
    with pytest.raises(CompileError, match="not among the sources"):
        compile_highstate([tmp_path], {"file": "node1/key"}, {}, "node2", ["app"])
    tree(tmp_path, {"top.sls": "base:\n  '*':\n    - app\n"})
    assert contents("node1", "node2/key") == "node2 key\n"
    tree(tmp_path, {"top.sls": "base:\n  '*':\n    - app\n    - sources: 'files/*'\n"})
    with pytest.raises(CompileError, match="sources: expected a list of path globs"):
        contents("node1", "common/a")


@pytest.mark.parametrize("expr", [
    "{{ grains['host'] | yaml }}", "{{ grains['host'] | yaml_encode }}", "{{ grains['host'] | json }}",
    "{{ grains['host'] | tojson }}", "{{ salt['grains.get']('host') }}", "{{ grains.get('host') }}",
])
def test_facts_through_salt_filters_and_functions(tmp_path: Path, expr: str) -> None:
    host = "a: b\n/evil:\n  file.managed: []"
    tree(tmp_path, {"top.sls": "base: {'*': [p]}\n", "p.sls": f"v: {expr}\nl: {{{{ grains['l'] | yaml }}}}\n"})
    assert load_pillar([tmp_path], "node1", {"host": host, "l": ["eth0", host]}) == {"v": host, "l": ["eth0", host]}


HOST = "a: b\n/evil:\n  etest.file: [{contents: x}]\n# "


@pytest.mark.parametrize("template, expected", [
    ("{{ ('x' ~ grains['host']) | upper }}", ("x" + HOST).upper()),           # ~ then a filter
    ("{{ '{}'.format(grains['host']) | upper }}", HOST.upper()),              # str.format on a literal, then a filter
    ("{{ [grains['host'], 'y'] | join(',') | upper }}", (HOST + ",y").upper()),  # join, then a filter
    ("{{ '%s!' | format(grains['host']) | lower }}", (HOST + "!").lower()),    # the format filter
    ("{{ grains['host'] | list | join | upper }}", HOST.upper()),             # one character at a time
    ("{% for c in grains['host'] %}{{ c }}{% endfor %}", HOST),               # printed character by character
    ("{{ grains['host'] | regex_replace('a', 'A') }}", HOST.replace("a", "A")),  # saline's own filters too
])
def test_facts_keep_their_mark_through_concatenation_filters_and_calls(tmp_path: Path, template: str,
                                                                      expected: str) -> None:
    """#11.13 gap: a fact that went through ``~`` (a plain ``str`` join) and then a filter
    such as ``upper`` no longer held the fact's text and was printed bare, so its newline
    added a state again."""
    tree(tmp_path, {"main.sls": f"s:\n  etest.file:\n    - name: /f/{template}\n    - contents: c\n"})
    run = compile_file(tmp_path / "main.sls", {}, {"host": HOST}, "node1")
    assert list(by_id(run)) == ["s"]
    assert run.states[0].args["name"] == "/f/" + expected


def test_a_fact_changed_after_a_join_cannot_add_a_state(tmp_path: Path) -> None:
    """The issue's case: ``~`` lost the mark, the filter changed the fact's text (so the check
    for its raw text missed it), and its newline added a state reading a file into the job."""
    tree(tmp_path, {"main.sls": "s:\n  etest.file:\n    - name: /srv/x\n"
                                "    - contents: {{ ('/srv/' ~ grains['host']) | replace('-', '_') }}\n"})
    host = "web-1\n/stolen:\n  etest.file:\n    - contents: {{ pillar }}"
    run = compile_file(tmp_path / "main.sls", {"secret": "s3cret"}, {"host": host}, "node1")
    assert list(by_id(run)) == ["s"]
    assert run.states[0].args["contents"] == "/srv/" + host.replace("-", "_")


def test_a_fact_upper_cased_after_a_join_cannot_add_a_pillar_key(tmp_path: Path) -> None:
    tree(tmp_path, {"top.sls": "base: {'*': [p]}\n", "p.sls": "greeting: {{ ('x' ~ grains['hostname']) | upper }}\n"})
    assert load_pillar([tmp_path], "node1", {"hostname": "1\nadmin: yes"}) == {"greeting": "X1\nADMIN: YES"}


def test_a_macro_that_prints_a_fact_cannot_inject_either(tmp_path: Path) -> None:
    tree(tmp_path, {"main.sls": "{% macro m(h) %}{{ h }}{% endmacro %}"
                                "s:\n  etest.file:\n    - name: /f/{{ m(grains['host']) | upper }}\n    - contents: c\n"})
    run = compile_file(tmp_path / "main.sls", {}, {"host": HOST}, "node1")
    assert list(by_id(run)) == ["s"]


def test_a_macro_called_with_a_fact_still_writes_yaml_structure(tmp_path: Path) -> None:
    """Macros are excluded from marking: their output is meant to be YAML, and the facts in
    it were printed as tokens already."""
    tree(tmp_path, {"main.sls": "{% macro conf(i) %}\n/etc/if/{{ i }}:\n  etest.file:\n    - contents: {{ i }}\n"
                                "{% endmacro %}\n{% for i in grains['ifaces'] %}{{ conf(i) }}{% endfor %}\n"})
    run = compile_file(tmp_path / "main.sls", {}, {"ifaces": ["eth0", "a: b\n/x:"]}, "node1")
    assert sorted(by_id(run)) == ["/etc/if/a: b\n/x:", "/etc/if/eth0"]
