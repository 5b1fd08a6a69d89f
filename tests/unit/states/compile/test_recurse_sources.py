"""file.recurse's source: walked, selected and rendered on the master; bounded; unsafe trees refused."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from saline.states.compile import recurse_sources
from saline.states.compile.compiler import CompileError
from tests.unit.states.compile.test_compiler import by_id, compile_one, tree

WEB = {"web/index.html": "id={{ grains['id'] }} {{ word | default('-') }}\n", "web/sub/a.txt": "a\n", "web/sub/deep/d.txt": "d\n",
       "web/skip.bak": "b\n"}


def test_files_selected_rendered_and_inlined(tmp_path: Path) -> None:
    tree(tmp_path, WEB)
    (tmp_path / "web/empty").mkdir()
    run = compile_one(tmp_path, """
        /srv/site:
          file.recurse:
            - source: salt://web/
            - template: jinja
            - defaults: {word: default}
            - context: {word: hi}
            - exclude_pat: '*.bak'
            - include_empty: true
        /srv/shallow:
          file.recurse:
            - source: [salt://nothere, salt://web]
            - maxdepth: 1
            - include_pat: 'E@\\.(html|txt)$'
    """)
    states = by_id(run)
    site = states["/srv/site"].args
    assert site["files"] == {"index.html": "id=node1 hi\n", "sub/a.txt": "a\n", "sub/deep/d.txt": "d\n"}
    assert site["dirs"] == ["empty", "sub", "sub/deep"] and site["exclude_pat"] == "*.bak"
    assert not {"source", "template", "context", "defaults", "include_empty"} & set(site)
    assert states["/srv/shallow"].args["files"] == {"index.html": WEB["web/index.html"], "sub/a.txt": "a\n"}


def test_a_missing_source_fails_only_that_state(tmp_path: Path) -> None:
    run = compile_one(tmp_path, "/srv/x:\n  file.recurse:\n    - source: salt://nothere\n")
    assert "none of the specified sources were found" in by_id(run)["/srv/x"].error


@pytest.mark.parametrize("sls, match", [
    ("- source: /etc", "must be a salt:// URI"),
    ("- source: salt://../etc", "outside the state roots"),
    ("- source: salt://web\n    - keep_symlinks: true", "keep_symlinks"),
    ("- source: salt://web\n    - template: mako", "only jinja"),
    ("- source: salt://web\n    - mode: '0644'", "'mode' is not allowed"),
    ("- source: salt://web\n    - maxdepth: -1", "maxdepth"),
])
def test_bad_arguments_are_compile_errors(tmp_path: Path, sls: str, match: str) -> None:
    tree(tmp_path, WEB)
    with pytest.raises(CompileError, match=match):
        compile_one(tmp_path, f"/srv/site:\n  file.recurse:\n    {sls}\n")


def test_links_leaving_the_roots_binary_files_and_size_are_refused(tmp_path: Path, monkeypatch) -> None:
    tree(tmp_path, WEB)
    sls = "/srv/site:\n  file.recurse:\n    - source: salt://web\n"
    os.symlink("/etc/passwd", tmp_path / "web/passwd")
    with pytest.raises(CompileError, match="outside the state roots"):
        compile_one(tmp_path, sls)
    os.unlink(tmp_path / "web/passwd")
    os.symlink(tmp_path / "web/sub", tmp_path / "web/linkdir")
    with pytest.raises(CompileError, match="link to a directory"):
        compile_one(tmp_path, sls)
    os.unlink(tmp_path / "web/linkdir")
    os.symlink("sub/a.txt", tmp_path / "web/alias.txt")  # inside the root: followed, as Salt's file server
    assert by_id(compile_one(tmp_path, sls))["/srv/site"].args["files"]["alias.txt"] == "a\n"
    (tmp_path / "web/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff{{ x }}")
    args = by_id(compile_one(tmp_path, sls + "    - template: jinja\n"))["/srv/site"].args
    assert base64.b64decode(args["binary_files"]["logo.png"]) == b"\x89PNG\r\n\x1a\n\xff{{ x }}"  # not rendered
    assert "logo.png" not in args["files"]
    os.unlink(tmp_path / "web/logo.png")
    monkeypatch.setattr(recurse_sources, "MAX_FILES", 3)
    with pytest.raises(CompileError, match="5 files, over file.recurse's limit of 3"):
        compile_one(tmp_path, sls)
    monkeypatch.setattr(recurse_sources, "MAX_FILES", 10)
    monkeypatch.setattr(recurse_sources, "MAX_BYTES", 4)
    with pytest.raises(CompileError, match="more than 0 MiB"):
        compile_one(tmp_path, sls)


def test_clean_elsewhere_keeps_a_required_recurse_s_files(tmp_path: Path) -> None:
    tree(tmp_path, WEB)
    run = compile_one(tmp_path, """
        /srv:
          file.directory:
            - clean: true
            - require:
              - file: /srv/site
        /srv/site:
          file.recurse: [{source: salt://web}]
    """)
    assert by_id(run)["/srv"].args["keep"] == ["/srv/site/index.html", "/srv/site/skip.bak", "/srv/site/sub/a.txt",
                                               "/srv/site/sub/deep/d.txt"]
