"""What a Salt user's SLS means, applied for real: unquoted modes and leading-zero values,
the final newline of ``contents``, and the parents ``makedirs`` creates (issue #17, #12.1).

Each case compiles an SLS text with the real compiler and applies it to a temp root with
the real engine: dry run (nothing changes), apply, re-apply (no changes).
"""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from saline.states.compile.compiler import compile_file
from saline.states.engine.base import StateContext
from saline.states.engine.run import RunResult, run
from saline.states.engine.runner import Runner

pytestmark = pytest.mark.real


def apply_sls(tmp_path: Path, text: str, *, test: bool = False, pillar: dict | None = None) -> RunResult:
    (tmp_path / "tree").mkdir(exist_ok=True)
    sls = tmp_path / "tree" / "main.sls"
    sls.write_text(textwrap.dedent(text))
    compiled = compile_file(sls, pillar or {}, {"id": "node1"}, "node1")
    return run(compiled, StateContext(runner=Runner(root=tmp_path / "root"), test=test))


def cycle(tmp_path: Path, text: str, **kw) -> RunResult:
    """Dry run changes nothing; apply succeeds with changes; re-apply has none."""
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    dry = apply_sls(tmp_path, text, test=True, **kw)
    assert dry.ok and dry.summary.changed, dry
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before, "test=True changed the tree"
    first = apply_sls(tmp_path, text, **kw)
    assert first.ok and first.summary.changed, first
    again = apply_sls(tmp_path, text, **kw)
    assert again.ok and again.summary.changed == 0, again
    return first


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_unquoted_quoted_and_bare_modes_all_mean_octal(tmp_path: Path) -> None:
    # Before the fix, YAML read 0640 as 416 and saline wrote -r----xrw- (0416).
    first = cycle(tmp_path, """
        /a: {file.managed: [{contents: a}, {mode: 0640}]}
        /b: {file.managed: [{contents: b}, {mode: 644}]}
        /c: {file.managed: [{contents: c}, {mode: '0600'}]}
        /d: {file.directory: [{mode: 0750}]}
        /e: {file.managed: [{contents: e}, {mode: 04755}]}
    """)
    root = tmp_path / "root"
    assert [mode_of(root / n) for n in "abcde"] == [0o640, 0o644, 0o600, 0o750, 0o4755]
    by_name = {r.name: r for r in first.results}
    assert by_name["/a"].changes == {"diff": "New file", "mode": "0640"}


@pytest.mark.parametrize("mode", ["0999", "rwxr-xr-x", "07777777"])
def test_a_mode_that_is_not_octal_is_a_compile_error(tmp_path: Path, mode: str) -> None:
    from saline.states.compile.compiler import CompileError

    with pytest.raises(CompileError, match="octal file mode"):
        apply_sls(tmp_path, f"/a: {{file.managed: [{{contents: a}}, {{mode: {mode}}}]}}\n")


def test_leading_zero_values_are_written_as_typed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/login.defs").write_text("UMASK 077\n")
    (root / "etc/default").mkdir()
    (root / "etc/default/nice").write_text("NICE=0\n")
    cycle(tmp_path, """
        /etc/default/nice: {file.keyvalue: [{key_values: {NICE: 010}}]}
        /etc/login.defs: {file.keyvalue: [{key: UMASK}, {value: 022}, {separator: ' '}]}
    """)
    assert (root / "etc/default/nice").read_text() == "NICE=010\n"
    assert (root / "etc/login.defs").read_text() == "UMASK 022\n"


def test_leading_zero_pillar_values_render_as_typed(tmp_path: Path) -> None:
    pillar_file = tmp_path / "pillar.sls"
    pillar_file.write_text("umask: 022\nport: 8080\n")
    from saline.states.call import read_pillar_file

    pillar = read_pillar_file(pillar_file)
    assert pillar == {"umask": "022", "port": 8080}
    cycle(tmp_path, "/etc.umask: {file.managed: [{contents: \"umask {{ pillar['umask'] }}\"}]}\n", pillar=pillar)
    assert (tmp_path / "root/etc.umask").read_text() == "umask 022\n"


def test_contents_get_a_final_newline_like_salt(tmp_path: Path) -> None:
    source = tmp_path / "tree" / "raw.txt"
    source.parent.mkdir()
    source.write_bytes(b"no newline at the end")
    cycle(tmp_path, """
        /one: {file.managed: [{contents: one line}]}
        /kept: {file.managed: [{contents: "two\\n"}]}
        /off: {file.managed: [{contents: no newline}, {contents_newline: false}]}
        /list: {file.managed: [{contents: [first, second]}]}
        /pillar: {file.managed: [{contents_pillar: motd}]}
        /source: {file.managed: [{source: salt://raw.txt}]}
    """, pillar={"motd": "hello"})
    root = tmp_path / "root"
    assert (root / "one").read_bytes() == b"one line\n"
    assert (root / "kept").read_bytes() == b"two\n"
    assert (root / "off").read_bytes() == b"no newline"
    assert (root / "list").read_bytes() == b"first\nsecond\n"
    assert (root / "pillar").read_bytes() == b"hello\n"
    assert (root / "source").read_bytes() == b"no newline at the end"  # a source is copied byte for byte


def test_a_file_salt_wrote_is_not_rewritten(tmp_path: Path) -> None:
    # A node Salt managed before has "one line\n": the first saline apply must leave it alone.
    root = tmp_path / "root"
    root.mkdir()
    (root / "motd").write_text("one line\n")
    result = apply_sls(tmp_path, "/motd: {file.managed: [{contents: one line}]}\n")
    assert result.ok and result.summary.changed == 0, result


def test_makedirs_parents_get_user_group_and_dir_mode(tmp_path: Path) -> None:
    (tmp_path / "root/srv").mkdir(parents=True)
    cycle(tmp_path, """
        /srv/app/conf/secret: {file.managed: [{contents: s}, {mode: 0640}, {user: nobody}, {group: nogroup}, {makedirs: true}]}
        /srv/other/x/y: {file.managed: [{contents: y}, {mode: 0600}, {dir_mode: 0700}, {makedirs: true}]}
        /srv/d1/d2/d3: {file.directory: [{mode: 0710}, {user: nobody}, {makedirs: true}]}
    """)
    root = tmp_path / "root"
    for rel in ("srv/app", "srv/app/conf"):
        st = (root / rel).stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o750, 65534, 65534), rel
    assert mode_of(root / "srv/other/x") == 0o700
    for rel in ("srv/d1", "srv/d1/d2", "srv/d1/d2/d3"):
        st = (root / rel).stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o710, 65534), rel
    # A parent that existed keeps its owner and mode.
    assert (root / "srv").stat().st_uid == os.getuid()


def test_show_changes_false_keeps_the_diff_out_of_the_return(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "secret").write_text("old-password\n")
    result = apply_sls(tmp_path, "/secret: {file.managed: [{contents: new-password}, {show_changes: false}]}\n")
    assert result.ok and result.results[0].changes == {"diff": "<show_changes=False>"}
    assert "password" not in str(result.model_dump())
    assert (root / "secret").read_text() == "new-password\n"
