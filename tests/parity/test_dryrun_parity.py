"""Dry runs of requisite chains through Salt 3008.5 and saline: a dependent of a state that
would change shows the changes it would make (a file in a directory still to be made, a
cmd.wait whose watch would fire), with the same result, changes and run order as Salt's."""

from __future__ import annotations

import pytest

from tests.parity.test_parity import _explain, same_everywhere

pytestmark = pytest.mark.parity

CHAIN = """
    conf:
      file.managed:
        - name: {out}/conf
        - contents: v1
    dependent:
      file.managed:
        - name: {out}/dependent
        - contents: dep
        - require:
          - file: conf
    watcher:
      cmd.run:
        - name: touch {out}/ran
        - creates: {out}/ran
        - watch:
          - file: conf
    waiter:
      cmd.wait:
        - name: touch {out}/waited
        - watch:
          - file: conf
    onch:
      cmd.run:
        - name: touch {out}/onch
        - onchanges:
          - file: conf
    newdir:
      file.directory:
        - name: {out}/newdir
    {out}/newdir/inner:
      file.managed:
        - contents: inner
        - require:
          - file: newdir
    {out}/newdir/sub:
      file.directory:
        - require:
          - file: newdir
    {out}/newdir/link:
      file.symlink:
        - target: /etc/hostname
        - require:
          - file: newdir
"""


def test_dependents_of_changing_states_show_their_changes(sides) -> None:
    # the dry run in full first: the same changes, not only the same presence of changes
    for side in sides:
        side.write(CHAIN, {}, {})
    dry = {s.name: s.apply(test=True) for s in sides}
    changes = {name: {key: state["changes"] for key, state in run.items()} for name, run in dry.items()}
    assert changes["saline"] == changes["salt"], _explain(dry)
    assert changes["salt"]["file_|-OUT/newdir/inner_|-OUT/newdir/inner_|-managed"] == {"newfile": "OUT/newdir/inner"}
    assert changes["salt"]["cmd_|-waiter_|-touch OUT/waited_|-wait"] == {"cmd": "touch OUT/waited"}
    # then dry run, apply, re-apply: results, changes presence, order and file trees
    same_everywhere(sides, CHAIN)


def test_an_edit_of_a_file_still_to_be_made_differs_on_purpose(sides) -> None:
    """Salt's dry run fails file.replace on a file a required state would create ("file not
    found", False); saline says it cannot be planned before that state applies (None), as
    the real run succeeds on both."""
    sls = """
        conf:
          file.managed: [{name: {out}/conf}, {contents: v1}]
        edit:
          file.replace: [{name: {out}/conf}, {pattern: v1}, {repl: v2}, {require: [{file: conf}]}]
    """
    for side in sides:
        side.write(sls, {}, {})
    salt, saline = (s.apply(test=True)["file_|-edit_|-OUT/conf_|-replace"] for s in sides)
    assert (salt["result"], salt["comment"]) == (False, "OUT/conf: file not found")
    assert saline["result"] is None and saline["comment"].startswith("Cannot be planned before conf is applied")
    applied = {s.name: s.apply()["file_|-edit_|-OUT/conf_|-replace"] for s in sides}
    assert applied["salt"]["result"] is applied["saline"]["result"] is True
