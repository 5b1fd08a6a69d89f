"""clean: true keeps the paths of the file states it requires (require or require_in), as Salt."""

from __future__ import annotations

from pathlib import Path

from tests.unit.states.compile.test_compiler import by_id, compile_one


def test_clean_keeps_required_file_states_by_require_and_require_in(tmp_path: Path) -> None:
    run = compile_one(tmp_path, """
        /srv/www:
          file.directory:
            - clean: true
            - require:
              - file: /srv/www/index.html
              - cmd: unrelated
        /srv/www/index.html:
          file.managed: [{contents: hi}]
        other:
          file.managed:
            - name: /srv/www/other.html
            - contents: o
            - require_in:
              - file: /srv/www
        unrelated:
          cmd.run: [{name: 'true'}]
        /srv/plain:
          file.directory:
            - require:
              - file: /srv/www/index.html
    """)
    states = by_id(run)
    assert states["/srv/www"].args["keep"] == ["/srv/www/index.html", "/srv/www/other.html"]
    assert "keep" not in states["/srv/plain"].args  # no clean: nothing to keep
