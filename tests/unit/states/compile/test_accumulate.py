"""file.accumulated: its text lands in the content of the file.blockreplace it is tied to."""

from __future__ import annotations

from pathlib import Path

from tests.unit.states.compile.test_compiler import by_id, compile_one


def test_accumulated_text_joins_the_blockreplace_content(tmp_path: Path) -> None:
    run = compile_one(tmp_path, """
        hosts-block:
          file.blockreplace:
            - name: /etc/hosts
            - marker_start: '# BEGIN'
            - marker_end: '# END'
            - content: own line
        node1-line:
          file.accumulated:
            - name: cluster
            - filename: /etc/hosts
            - text: 10.0.0.1 node1
            - require_in:
              - file: hosts-block
        node2-lines:
          file.accumulated:
            - name: cluster
            - filename: /etc/hosts
            - text: [10.0.0.2 node2, 10.0.0.1 node1]
            - require_in:
              - file: hosts-block
        other-file:
          file.blockreplace:
            - name: /etc/other
        orphan:
          file.accumulated:
            - name: lonely
            - filename: /etc/other
            - text: never
    """)
    states = by_id(run)
    assert states["hosts-block"].args["content"] == "own line\n10.0.0.1 node1\n10.0.0.2 node2"
    assert states["orphan"].error == "Orphaned accumulator lonely in main:orphan"
    assert states["other-file"].args.get("content", "") == ""
