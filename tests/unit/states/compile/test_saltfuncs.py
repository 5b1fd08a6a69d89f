"""The salt object and Salt's Jinja additions in templates; node functions refused at render."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from saline.states.compile.compiler import CompileError, compile_file
from saline.states.compile.saltfuncs import SaltFunctions, traverse


def render(tmp_path: Path, body: str, pillar: dict | None = None, node: dict | None = None,
           files: dict | None = None) -> str:
    for rel, text in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "main.sls").write_text("/x:\n  file.managed:\n    - contents: |\n" + textwrap.indent(
        textwrap.dedent(body).strip() + "\n", " " * 8))
    run = compile_file(tmp_path / "main.sls", pillar or {}, node or {}, "node1")
    return run.states[0].args["contents"]


def test_pillar_get_colon_paths_defaults_merge_and_list_indexes() -> None:
    salt = SaltFunctions({"a": {"b": {"c": 1}, "l": ["x", "y"]}, "top": [1]}, {"os_family": "Debian"})
    assert salt["pillar.get"]("a:b:c") == 1
    assert salt["pillar.get"]("a:l:1") == "y"
    assert salt["pillar.get"]("a:nope", "dflt") == "dflt"
    assert salt["pillar.get"]("a:nope") == ""  # Salt's default default
    assert salt["pillar.get"]("a/b/c", delimiter="/") == 1
    assert salt["pillar.get"]("a:b", default={"c": 0, "d": 2}, merge=True) == {"c": 1, "d": 2}
    assert salt["pillar.get"]("top", default=[0, 1], merge=True) == [0, 1]
    assert salt.pillar.get("a:b:c") == 1 and salt.grains.get("os_family") == "Debian"
    assert traverse({"a": "s"}, "a:b", "d") == "d"


def test_filter_by_and_config_get() -> None:
    salt = SaltFunctions({"port": 1, "os_family": "from-pillar"}, {"os_family": "Debian", "osfinger": "Debian-12"})
    lookup = {"Debian": {"pkg": "apache2"}, "RedHat": {"pkg": "httpd"}, "default": {"pkg": "web"}}
    assert salt["grains.filter_by"](lookup) == {"pkg": "apache2"}
    assert salt["grains.filter_by"](lookup, grain="osfinger") == {"pkg": "web"}
    assert salt["grains.filter_by"]({"Debian-*": {"v": 1}}, grain="osfinger", merge={"w": 2}) == {"v": 1, "w": 2}
    assert salt["grains.filter_by"]({"base": {"a": 1, "b": 1}, "Debian": {"b": 2}}, base="base") == {"a": 1, "b": 2}
    assert salt["config.get"]("os_family") == "Debian"  # grains before pillar, as Salt
    assert salt["config.get"]("port") == 1 and salt["config.get"]("nope", 5) == 5


@pytest.mark.parametrize("call", ["salt['cmd.run']('rm -rf /x')", "salt['file.file_exists']('/etc/x')",
                                  "salt.pkg.version('vim')", "saline['state.apply']()"])
def test_node_functions_are_refused_at_render_with_a_hint(tmp_path: Path, call: str) -> None:
    with pytest.raises(CompileError, match=r"is not available in templates: templates render on the master.*guard"):
        render(tmp_path, "{{ " + call + " }}")


def test_salt_jinja_tags_and_filters(tmp_path: Path) -> None:
    text = render(tmp_path, """
        {%- import_yaml "defaults.yaml" as d %}
        {%- import_json "x.json" as j %}
        {%- import_text "t.txt" as t %}
        {%- load_yaml as y %}
        n: 010
        l: [b, a, b]
        {%- endload %}
        {%- load_json as lj %}{"k": [1]}{% endload %}
        {%- set acc = [] %}{% do acc.append(d.port) %}
        {{ acc | json }} {{ j.k }} {{ t | trim }} {{ y.n }} {{ y.l | unique | json }} {{ lj | json }}
        {{ {"b": 1, "a": 2} | yaml }} {{ "it's" | yaml_squote }} {{ "x" | yaml_dquote }} {{ "yes" | to_bool }}
        {{ "a-b" | regex_replace("-", "_") }} {{ {"z": 1, "a": 1} | json }}
    """, files={"defaults.yaml": "port: 0080\n", "x.json": '{"k": "jv"}', "t.txt": "text\n"})
    assert text == (
        '["0080"] jv text 010 ["b", "a"] {"k": [1]}\n'
        "{a: 2, b: 1} 'it''s' \"x\" True\n"
        'a_b {"a": 1, "z": 1}\n'
    )


def test_sls_location_variables(tmp_path: Path) -> None:
    (tmp_path / "web" / "conf").mkdir(parents=True)
    (tmp_path / "web" / "conf" / "init.sls").write_text(
        "/x:\n  file.managed:\n    - contents: '{{ sls }} {{ slspath }} {{ slsdotpath }} {{ slscolonpath }} "
        "{{ sls_path }} {{ tplfile }} {{ tpldir }} {{ tplroot }}'\n")
    from saline.states.compile.compiler import compile_sls

    run = compile_sls([tmp_path], ["web.conf"], {}, {}, "node1")
    assert run.states[0].args["contents"] == (
        "web.conf web/conf web.conf web:conf web_conf web/conf/init.sls web/conf web")
