"""Salt's inspection views compiled for one agent (the shapes are salt-call 3008.5's; the parity
suite compares them with Salt itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.compile.compiler import CompileError
from saline.states.compile.show import Views
from tests.unit.states.compile.test_compiler import NODE, tree
from tests.unit.states.engine import test_statefns  # noqa: F401  (registers etest.*)


@pytest.fixture
def views(tmp_path: Path) -> Views:
    tree(tmp_path, {
        "top.sls": "base:\n  'node1':\n    - web\n  'other':\n    - lib\ndev:\n  '*':\n    - lib\n",
        "lib.sls": "lib: {etest.file: [{contents: '{{ pillar.role }}'}]}\nspare: etest.file\n",
        "web.sls": "include: [lib]\nexclude: [{id: spare}]\n"
                   "web:\n  etest.file:\n    - contents: w\n    - require: [{etest: lib}]\n"
                   "first:\n  etest:\n    - file\n    - order: first\n    - contents: f\n"
                   "alone: {etest.file: [{contents: a}]}\n",
    })
    return Views([tmp_path], {"role": "db"}, NODE, "node1")


def test_show_top_per_environment(views: Views) -> None:
    assert views.top() == {"base": ["web"], "dev": ["lib"]}
    assert views.top("dev") == {"dev": ["lib"]}


def test_show_sls_is_the_high_data_as_written_with_salts_auto_order(views: Views) -> None:
    high = views.show_sls("web")
    assert high["lib"] == {"etest": [{"contents": "db"}, "file", {"order": 10000}], "__sls__": "lib",
                           "__env__": "base", "__sls_included_from__": ["web"]}
    assert high["spare"]["etest"] == ["file", {"order": 10001}]  # shown: exclude is applied later, as in Salt
    assert high["web"]["etest"][-2:] == ["file", {"order": 10002}]
    assert high["first"]["etest"] == ["file", {"order": "first"}, {"contents": "f"}]  # no auto order
    assert high["alone"]["etest"][-1] == {"order": 10003}
    assert high["__exclude__"] == [{"id": "spare"}]
    assert views.show_sls("lib,web", saltenv="dev")["lib"]["__env__"] == "dev"


def test_show_lowstate_in_run_order_after_exclude(views: Views) -> None:
    low = views.show_lowstate(saltenv="base")
    assert [(c["__id__"], c["order"]) for c in low] == [("first", 0), ("lib", 10000), ("web", 10002), ("alone", 10003)]
    assert low[2]["require"] == [{"etest": "lib"}] and low[2]["fun"] == "file" and low[2]["state"] == "etest"


def test_sls_id_keeps_the_id_and_its_requisites_depth_first(views: Views) -> None:
    run = views.sls_id("web", "web")
    assert [s.id for s in run.ordered()] == ["lib", "web"]
    assert [s.id for s in views.sls_id("alone", "web").states] == ["alone"]
    with pytest.raises(CompileError, match="No matches for ID 'nope' found in SLS 'web' within saltenv 'base'"):
        views.sls_id("nope", "web")
    with pytest.raises(CompileError, match="no SLS named"):
        views.show_sls(" , ")


def test_highstate_views_need_a_matching_top(tmp_path: Path) -> None:
    tree(tmp_path, {"top.sls": "base:\n  'other':\n    - x\n", "x.sls": "x: etest.file\n"})
    with pytest.raises(CompileError, match="no states in the top file match agent 'node1'"):
        Views([tmp_path], {}, NODE, "node1").show_highstate()


@pytest.mark.parametrize("mods", [123, {"a": 1}, ["web", 5]])
def test_odd_sls_arguments_are_compile_errors_not_crashes(views: Views, mods) -> None:
    with pytest.raises(CompileError, match="not a valid SLS name|not found"):
        views.show_sls(mods)
