"""Salt's top-level ``exclude:``: states of an excluded SLS, or an excluded ID, leave the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from saline.states.compile.compiler import CompileError, compile_highstate
from tests.unit.states.compile.test_compiler import NODE, tree
from tests.unit.states.engine import test_statefns  # noqa: F401  (registers etest.*)


def ids(root: Path, names: list[str]) -> list[str]:
    return [s.id for s in compile_highstate([root], {}, NODE, "node1", states=names).states]


def test_exclude_by_id_and_by_sls_after_include(tmp_path: Path) -> None:
    tree(tmp_path, {
        "base/init.sls": "include: [base.extra, base.more]\nmain: {etest.file: [{contents: m}]}\n",
        "base/extra.sls": "keep: {etest.file: [{contents: k}]}\ndrop-me: {etest.file: [{contents: d}]}\n",
        "base/more.sls": "more1: {etest.file: [{contents: x}]}\nmore2: {etest.file: [{contents: y}]}\n",
        "site.sls": "include: [base]\nexclude:\n  - id: drop-me\n  - sls: base.more\nsite: {etest.file: [{contents: s}]}\n",
    })
    assert ids(tmp_path, ["base"]) == ["keep", "drop-me", "more1", "more2", "main"]
    assert ids(tmp_path, ["site"]) == ["keep", "main", "site"]


def test_exclude_sls_is_a_glob_and_a_bare_string_is_an_sls(tmp_path: Path) -> None:
    tree(tmp_path, {
        "a/one.sls": "one: {etest.file: [{contents: '1'}]}\n",
        "a/two.sls": "two: {etest.file: [{contents: '2'}]}\n",
        "b.sls": "b: {etest.file: [{contents: b}]}\n",
        "all.sls": "include: [a.one, a.two, b]\nexclude: ['a.*']\nz: {etest.file: [{contents: z}]}\n",
    })
    assert ids(tmp_path, ["all"]) == ["b", "z"]


def test_exclude_applies_after_extend(tmp_path: Path) -> None:
    tree(tmp_path, {
        "lib.sls": "x: {etest.file: [{contents: a}]}\n",
        "main.sls": "include: [lib]\nextend: {x: {etest: [{contents: b}]}}\nexclude: [{id: x}]\n"
                    "y: {etest.file: [{contents: c}]}\n",
    })
    assert ids(tmp_path, ["main"]) == ["y"]


def test_a_requisite_on_an_excluded_state_is_a_compile_error(tmp_path: Path) -> None:
    tree(tmp_path, {
        "lib.sls": "x: {etest.file: [{contents: a}]}\n",
        "main.sls": "include: [lib]\nexclude: [{id: x}]\ny: {etest.file: [{contents: c}, {require: [x]}]}\n",
    })
    with pytest.raises(CompileError, match=r"state 'y': require: no state matches 'x'"):
        ids(tmp_path, ["main"])


@pytest.mark.parametrize("body", ["exclude: {id: x}\n", "exclude: [{file: x}]\n", "exclude: [{id: [x]}]\n",
                                  "exclude: [{id: x, sls: y}]\n"])
def test_bad_exclude_says_what_to_write(tmp_path: Path, body: str) -> None:
    tree(tmp_path, {"main.sls": body + "y: {etest.file: [{contents: c}]}\n"})
    with pytest.raises(CompileError, match=r"main.sls: exclude.*'- sls: NAME' or '- id: ID'"):
        ids(tmp_path, ["main"])
