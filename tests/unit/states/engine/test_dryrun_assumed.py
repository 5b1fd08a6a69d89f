"""Dry runs behind a requisite that would change: a state refused only for what that requisite
makes (a parent directory, an owner) shows the changes it would make, as Salt does; without
such a requisite the refusal stands."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from saline.states.compile.compiler import compile_file
from saline.states.engine.base import StateContext
from saline.states.engine.run import run
from saline.states.engine.runner import Runner


def dry_run(tmp_path: Path, sls: str) -> dict:
    (tmp_path / "states").mkdir(exist_ok=True)
    (tmp_path / "states" / "case.sls").write_text(textwrap.dedent(sls))
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    compiled = compile_file(tmp_path / "states" / "case.sls", {}, {}, "node1")
    result = run(compiled, StateContext(runner=Runner(root=root, env=os.environ), test=True))
    assert not any(root.iterdir()), "a dry run changed the tree"
    return {r.id: r for r in result.results}


def test_a_file_in_a_directory_still_to_be_made_shows_newfile(tmp_path: Path) -> None:
    res = dry_run(tmp_path, """
        d:
          file.directory: [{name: /srv/new}, {makedirs: true}]
        /srv/new/f:
          file.managed: [{contents: x}, {require: [{file: d}]}]
        /srv/new/sub:
          file.directory: [{require: [{file: d}]}]
        /srv/new/l:
          file.symlink: [{target: /etc/hostname}, {require: [{file: d}]}]
    """)
    assert res["/srv/new/f"].result is None and res["/srv/new/f"].changes == {"newfile": "/srv/new/f"}
    assert res["/srv/new/sub"].changes == {"/srv/new/sub": {"directory": "new"}}
    assert res["/srv/new/l"].changes == {"new": "/srv/new/l"}
    assert res["/srv/new/f"].comment.startswith("Would change once d is applied (dry run); now: refused: parent")
    assert "assumed" not in res["/srv/new/f"].model_dump()  # never part of a return


def test_without_a_requisite_that_makes_it_the_refusal_stands(tmp_path: Path) -> None:
    res = dry_run(tmp_path, """
        /srv/none/f:
          file.managed: [{contents: x}]
        other:
          file.managed: [{name: /f2}, {contents: y}]
        /srv/none/g:
          file.managed: [{contents: x}, {require: [{file: other}]}]
    """)
    assert res["/srv/none/f"].result is False and res["/srv/none/f"].changes == {}
    assert "parent directory of /srv/none/f does not exist" in res["/srv/none/f"].comment
    # a pending requisite that does not make the parent: a dry run cannot tell, and says on what it depends
    assert res["/srv/none/g"].result is None and res["/srv/none/g"].changes == {"newfile": "/srv/none/g"}


def test_cmd_wait_whose_watch_fires_shows_the_command_as_salt(tmp_path: Path) -> None:
    res = dry_run(tmp_path, """
        conf:
          file.managed: [{name: /c}, {contents: x}]
        w:
          cmd.wait: [{name: touch /never}, {watch: [{file: conf}]}]
    """)
    assert res["w"].result is None and res["w"].changes == {"cmd": "touch /never"}
