"""The same SLS through Salt 3008.5 (``salt-call --local``) and saline: same per-state result,
same changes presence, same run order and the same file tree (modes, owners, bytes), for a
dry run, the first apply and the converged re-apply. Skipped, saying why, without Salt.

The cases are written from Salt's documentation of each feature; where saline differs on
purpose, the test says so and asserts the difference (README: "Porting from Salt").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.parity.saltside import Side, outcome, tree

pytestmark = pytest.mark.parity


def same_everywhere(sides: tuple[Side, Side], sls: str, *, pillar: dict | None = None, files: dict | None = None,
                    setup: Callable[[Path], None] | None = None,
                    salt_dry_run_shows_nothing: bool = False) -> dict[str, dict[str, Any]]:
    """Dry run, apply, re-apply on both sides; returns the applying run of each side by name.
    ``salt_dry_run_shows_nothing``: Salt's dry run of these states reports no changes (only a
    comment) where saline's says what would change; results and order are still compared."""
    for side in sides:
        side.write(sls, pillar or {}, files or {})
        if setup:
            setup(side.out)
    salt, saline = sides
    before = tree(salt.out)
    assert tree(saline.out) == before, "the two sides start from different trees"

    dry = {s.name: s.apply(test=True) for s in sides}
    if salt_dry_run_shows_nothing:
        assert without_changes(outcome(dry["saline"])) == without_changes(outcome(dry["salt"])), _explain(dry)
        assert all(not state["changes"] for state in dry["salt"].values())
    else:
        assert outcome(dry["saline"]) == outcome(dry["salt"]), _explain(dry)
    assert tree(salt.out) == tree(saline.out) == before, "a dry run changed the tree"

    applied = {s.name: s.apply() for s in sides}
    assert outcome(applied["saline"]) == outcome(applied["salt"]), _explain(applied)
    assert tree(saline.out) == tree(salt.out)

    again = {s.name: s.apply() for s in sides}
    assert outcome(again["saline"]) == outcome(again["salt"]), _explain(again)
    assert tree(saline.out) == tree(salt.out)
    return applied


def without_changes(outcomes: dict[str, tuple]) -> dict[str, tuple]:
    return {key: (result, order) for key, (result, _, order) in outcomes.items()}


def _explain(runs: dict[str, dict[str, Any]]) -> str:
    lines = []
    for key in sorted(set(runs["salt"]) | set(runs["saline"])):
        a, b = runs["salt"].get(key, {}), runs["saline"].get(key, {})
        lines.append(f"{key}\n   salt:   {a.get('result')} {a.get('changes')} {a.get('comment')!r}"
                     f"\n   saline: {b.get('result')} {b.get('changes')} {b.get('comment')!r}")
    return "\n".join(lines)


def test_file_managed_modes_newlines_makedirs_and_owners(sides) -> None:
    def setup(out: Path) -> None:
        (out / "drifted").write_text("old\n")
        (out / "drifted").chmod(0o600)
        (out / "salt-wrote").write_text("one line\n")

    applied = same_everywhere(sides, """
        {out}/unquoted:
          file.managed: [{contents: a}, {mode: 0640}]
        {out}/bare:
          file.managed: [{contents: b}, {mode: 644}]
        {out}/quoted:
          file.managed: [{contents: c}, {mode: '0600'}]
        {out}/list:
          file.managed: [{contents: [first, second]}]
        {out}/no-newline:
          file.managed: [{contents: x}, {contents_newline: false}]
        {out}/from-pillar:
          file.managed: [{contents_pillar: motd}]
        {out}/drifted:
          file.managed: [{contents: new}, {mode: 0644}, {user: nobody}]
        {out}/salt-wrote:
          file.managed: [{contents: one line}]
        {out}/not-created:
          file.managed: [{contents: x}, {create: false}]
        {out}/deep/er/secret:
          file.managed: [{contents: s}, {mode: 0640}, {user: nobody}, {group: nogroup}, {makedirs: true}]
        {out}/d1/d2:
          file.directory: [{mode: 0710}, {makedirs: true}]
        {out}/from-source:
          file.managed: [{source: salt://raw.txt}, {mode: 0600}]
    """, pillar={"motd": "hello"}, files={"raw.txt": "no final newline"}, setup=setup)
    salt, saline = applied["salt"], applied["saline"]
    key = "file_|-OUT/unquoted_|-OUT/unquoted_|-managed"
    assert saline[key]["changes"] == salt[key]["changes"] == {"diff": "New file", "mode": "0640"}


def test_cmd_run_shell_guards_requisites_and_return_shape(sides) -> None:
    applied = same_everywhere(sides, """
        greet:
          cmd.run:
            - name: echo "$GREETING" > {out}/greeting
            - shell: /bin/sh
            - env: {GREETING: hello}
            - creates: {out}/greeting
        broken:
          cmd.run:
            - name: sh -c 'echo partial; echo oops >&2; exit 3'
        after-broken:
          cmd.run:
            - name: touch {out}/never
            - require:
              - cmd: broken
        on-failure:
          cmd.run:
            - name: touch {out}/cleanup
            - creates: {out}/cleanup
            - onfail:
              - cmd: broken
        tolerated:
          cmd.run:
            - name: sh -c 'exit 2'
            - success_retcodes: [2]
            - unless: test -e {out}/greeting-done
        {out}/conf:
          file.managed: [{contents: v1}]
        restart:
          cmd.wait:
            - name: touch {out}/restarted
            - watch:
              - file: {out}/conf
        when-changed:
          cmd.run:
            - name: touch {out}/changed
            - onchanges:
              - file: {out}/conf
    """)
    salt, saline = applied["salt"], applied["saline"]
    key = "cmd_|-broken_|-sh -c 'echo partial; echo oops >&2; exit 3'_|-run"
    for side in (salt, saline):
        assert {k: side[key]["changes"][k] for k in ("retcode", "stdout", "stderr")} == \
            {"retcode": 3, "stdout": "partial", "stderr": "oops"}
        assert side[key]["comment"] == """Command "sh -c 'echo partial; echo oops >&2; exit 3'" run"""
        assert side["cmd_|-after-broken_|-touch OUT/never_|-run"].get("__state_ran__") is False


def test_leading_zero_values_differ_on_purpose(sides) -> None:
    """Salt's loader drops a leading zero (``UMASK: 022`` is written ``UMASK=22``, which is
    not the umask meant); saline keeps what was typed. The only deliberate difference here."""
    salt, saline = sides
    sls = "{out}/login.defs:\n  file.keyvalue:\n    - key_values: {UMASK: 022, NICE: 010}\n    - append_if_not_found: true\n"
    for side in sides:
        side.write(sls, {}, {})
        (side.out / "login.defs").write_text("UMASK=077\n")
        side.apply()
    assert (salt.out / "login.defs").read_text() == "UMASK=22\nNICE=10\n"
    assert (saline.out / "login.defs").read_text() == "UMASK=022\nNICE=010\n"


MAP_JINJA = """
{%- set tplroot = tpldir.split('/')[0] %}
{%- import_yaml tplroot ~ "/defaults.yaml" as defaults %}
{%- import_json tplroot ~ "/extra.json" as extra %}
{%- set os_map = salt['grains.filter_by']({'Debian': {'pkg': 'apache2'}, 'RedHat': {'pkg': 'httpd'}}) %}
{%- do defaults.formula.update(os_map) %}
{%- do defaults.formula.update(extra) %}
{%- set formula = salt['pillar.get']('formula', default=defaults.formula, merge=True) %}
"""

FORMULA = """
{%- from tpldir ~ "/map.jinja" import formula with context %}
{%- load_yaml as more %}
k: v
list: [1, 2]
{%- endload %}
{{ "{out}" }}/formula.conf:
  file.managed:
    - mode: {{ formula.mode }}
    - contents: |
        pkg={{ formula.pkg }} port={{ formula.port }} users={{ formula.users | json }} extra={{ formula.extra }}
        more={{ more | json }} yaml={{ {'b': 1, 'a': [1, 2]} | yaml }} tojson={{ "a'<b" | tojson }}
        sls={{ sls }} slspath={{ slspath }} tpldir={{ tpldir }} tplfile={{ tplfile }} slsdotpath={{ slsdotpath }}
        colon={{ salt['pillar.get']('formula:port') }} attr={{ salt.pillar.get('formula:users:0') }}
        missing={{ salt['pillar.get']('no:such:key', 'fallback') }} config={{ salt['config.get']('formula:port') }}
        id={{ grains['id'] }} os_family={{ salt['grains.get']('os_family') }} osfinger={{ grains['osfinger'] }}
"""


def test_map_jinja_formula_renders_the_same(sides) -> None:
    """A formula in the usual shape (map.jinja, defaults.yaml, grains.filter_by, pillar.get
    with merge, import_yaml/import_json/load_yaml, do, json/yaml/tojson, tpldir/sls …)."""
    same_everywhere(sides, "include:\n  - formula\n", pillar={"formula": {"port": 8080, "users": ["alice"]}}, files={
        "formula/defaults.yaml": "formula:\n  port: 80\n  mode: '0640'\n  users: [root]\n",
        "formula/extra.json": '{"extra": "from-json"}',
        "formula/map.jinja": MAP_JINJA,
        "formula/init.sls": FORMULA,
    })
    salt, saline = sides
    text = (saline.out / "formula.conf").read_text()
    assert "pkg=apache2 port=8080 users=[\"alice\"] extra=from-json" in text and "sls=formula " in text


def test_declarations_requisites_order_and_runtime_errors(sides) -> None:
    """names, order (first/N/last), extend, use, listen/listen_in, require_any, watch_any,
    onchanges_any, onfail_any/onfail_all, prereq; a target defined after its dependent runs
    just before it; an unknown function and a missing source fail only their state."""
    same_everywhere(sides, """
        include:
          - more
        dependent:
          file.managed:
            - name: {out}/dependent
            - contents: d
            - require:
              - file: defined-later
        in-between:
          file.managed: [{name: {out}/in-between}, {contents: i}]
        defined-later:
          file.managed: [{name: {out}/later}, {contents: l}]
        many:
          file.managed:
            - contents: same
            - mode: '0600'
            - names:
              - {out}/n1
              - {out}/n2:
                - contents: other
        last-one:
          file.managed: [{name: {out}/last}, {contents: z}, {order: last}]
        first-one:
          file.managed: [{name: {out}/first}, {contents: a}, {order: first}]
        numbered:
          file.managed: [{name: {out}/numbered}, {contents: n}, {order: 1}]
        template-args:
          file.managed: [{name: {out}/template}, {contents: t}, {mode: '0640'}]
        user-of-template:
          file.managed:
            - name: {out}/used
            - contents: u
            - use:
              - file: template-args
        broken:
          cmd.run: [{name: 'false'}]
        any-ok:
          file.managed:
            - name: {out}/any-ok
            - contents: x
            - require_any:
              - cmd: broken
              - file: in-between
        any-changed:
          file.managed:
            - name: {out}/any-changed
            - contents: x
            - onchanges_any:
              - cmd: broken
              - file: in-between
        onfail-any:
          file.managed:
            - name: {out}/onfail-any
            - contents: x
            - onfail_any:
              - cmd: broken
              - file: in-between
        onfail-all:
          file.managed:
            - name: {out}/onfail-all
            - contents: x
            - onfail_all:
              - cmd: broken
              - file: in-between
        listener:
          cmd.wait:
            - name: touch {out}/listened
            - listen:
              - file: in-between
        before-change:
          cmd.run:
            - name: touch {out}/prereq-ran
            - prereq:
              - file: guarded
        guarded:
          file.managed: [{name: {out}/guarded}, {contents: g}]
        no-such-function:
          file.manged: [{name: {out}/typo}]
        missing-source:
          file.managed: [{name: {out}/missing}, {source: salt://not-there.txt}]
        after-missing:
          file.managed:
            - name: {out}/after-missing
            - contents: x
            - require:
              - file: missing-source
    """, files={"more.sls": """
        extended:
          file.managed: [{name: {out}/extended}, {contents: before}]
        extend:
          extended:
            file:
              - contents: after
              - mode: '0600'
    """})


def test_failhard_stops_the_run(sides) -> None:
    applied = same_everywhere(sides, """
        ok-first:
          file.managed: [{name: {out}/ok}, {contents: ok}]
        fails-hard:
          cmd.run: [{name: 'false'}, {failhard: true}]
        never:
          file.managed: [{name: {out}/never}, {contents: never}]
    """)
    assert not any("never" in key for key in applied["saline"])


def test_file_append_replace_symlink(sides) -> None:
    """Also file.comment/uncomment, which keep the old file as NAME.bak by default and match
    the regex from a line's start, as Salt's (``pam_motd`` alone fails the state); file.exists
    and file.missing."""
    def setup(out: Path) -> None:
        (out / "profile").write_text("export A=1\nexport B=2\n")
        (out / "sshd").write_text("PermitRootLogin yes\nX 1\n")
        (out / "fstab").write_text("#tmpfs /tmp tmpfs 0 0\n/dev/sda1 / ext4 0 1\n")
        (out / "login").write_text("session optional pam_motd.so\n")
        (out / "nobackup").write_text("session optional pam_motd.so\n")

    same_everywhere(sides, """
        {out}/profile:
          file.append:
            - text:
              - export B=2
              - export C=3
        {out}/new-list:
          file.append:
            - text: one
        {out}/sshd:
          file.replace:
            - pattern: ^PermitRootLogin .*$
            - repl: PermitRootLogin no
        banner:
          file.replace:
            - name: {out}/sshd
            - pattern: ^Banner .*$
            - repl: Banner /etc/issue
            - append_if_not_found: true
        {out}/link:
          file.symlink:
            - target: /usr/bin/vim
        {out}/fstab:
          file.uncomment:
            - regex: tmpfs
        {out}/login:
          file.comment:
            - regex: ^session.*pam_motd
        {out}/nobackup:
          file.comment:
            - regex: session.*pam_motd
            - backup: false
        unanchored:
          file.comment:
            - name: {out}/nobackup
            - regex: pam_motd
            - order: 1
        profile-exists:
          file.exists: [{name: {out}/profile}]
        nothing-there:
          file.missing: [{name: {out}/nothing}]
        profile-not-missing:
          file.missing: [{name: {out}/profile}]
    """, setup=setup)


def test_file_blockreplace(sides) -> None:
    """Marked blocks replaced, appended, prepended and inserted after a match; the old file kept
    as NAME.bak (Salt's default backup); a missing marker and a missing file fail only their state."""
    def setup(out: Path) -> None:
        (out / "hosts").write_text("127.0.0.1 localhost\n# BEGIN cluster\nold line\n# END cluster\ntail\n")
        (out / "append").write_text("no final newline")
        (out / "prepend").write_text("first\n")
        (out / "insert").write_text("a\n[section]\nb\n")
        (out / "nomarker").write_text("x\n")
        (out / "quiet").write_text("#-- start managed zone --\n#-- end managed zone --\n")

    applied = same_everywhere(sides, """
        {out}/hosts:
          file.blockreplace:
            - marker_start: '# BEGIN cluster'
            - marker_end: '# END cluster'
            - content: |
                10.0.0.1 node1
                10.0.0.2 node2
        {out}/append:
          file.blockreplace:
            - content: appended
            - append_if_not_found: true
            - backup: false
        {out}/prepend:
          file.blockreplace:
            - marker_start: '## start'
            - marker_end: '## end'
            - content: top
            - prepend_if_not_found: true
        {out}/insert:
          file.blockreplace:
            - content: inserted
            - insert_after_match: '^\\[section\\]'
        {out}/nomarker:
          file.blockreplace:
            - content: never
        {out}/missing:
          file.blockreplace:
            - content: never
            - append_if_not_found: true
        {out}/quiet:
          file.blockreplace:
            - content: secret
            - show_changes: false
    """, setup=setup)
    salt, saline = applied["salt"], applied["saline"]
    for name in ("hosts", "append", "prepend", "insert"):
        key = f"file_|-OUT/{name}_|-OUT/{name}_|-blockreplace"
        assert saline[key]["changes"] == salt[key]["changes"], key
    key = "file_|-OUT/quiet_|-OUT/quiet_|-blockreplace"
    assert saline[key]["changes"] == salt[key]["changes"] == {"diff": True}


def test_file_directory_recurse_and_clean(sides) -> None:
    """recurse [user, group, mode] (a symlink's owner changes, its target does not), ignore_dirs,
    max_depth, clean keeping a required file and what exclude_pat matches."""
    def setup(out: Path) -> None:
        for top in ("owned", "shallow", "cleaned"):
            (out / top / "a/b").mkdir(parents=True)
            (out / top / "a/f").write_text("f\n")
            (out / top / "g").write_text("g\n")
        (out / "owned/link").symlink_to("/etc/passwd")
        (out / "cleaned/keep.me").write_text("k\n")
        (out / "cleaned/keepdir").mkdir()
        (out / "cleaned/keepdir/z").write_text("z\n")

    applied = same_everywhere(sides, """
        {out}/owned:
          file.directory:
            - user: nobody
            - group: nogroup
            - dir_mode: 0750
            - file_mode: 0640
            - recurse: [user, group, mode]
        {out}/shallow:
          file.directory:
            - file_mode: '0600'
            - recurse: [mode, ignore_dirs]
            - max_depth: 1
        {out}/cleaned:
          file.directory:
            - clean: true
            - exclude_pat: 'E@^keep'
            - require:
              - file: {out}/cleaned/managed
        {out}/cleaned/managed:
          file.managed:
            - contents: m
        {out}/new/deep:
          file.directory:
            - makedirs: true
            - recurse: [mode]
            - dir_mode: 0700
    """, setup=setup)
    salt, saline = applied["salt"], applied["saline"]
    for key in ("file_|-OUT/owned_|-OUT/owned_|-directory", "file_|-OUT/shallow_|-OUT/shallow_|-directory"):
        assert saline[key]["changes"] == salt[key]["changes"], key
    key = "file_|-OUT/cleaned_|-OUT/cleaned_|-directory"
    assert sorted(saline[key]["changes"]["removed"]) == sorted(salt[key]["changes"]["removed"])
    assert {k: v for k, v in saline[key]["changes"].items() if k != "removed"} == \
        {k: v for k, v in salt[key]["changes"].items() if k != "removed"}


def test_archive_extracted(sides) -> None:
    import io
    import tarfile

    def setup(out: Path) -> None:
        (out / "src").mkdir()
        with tarfile.open(out / "src" / "app-1.0.tar.gz", "w:gz") as tar:
            for name, data in (("app-1.0/", None), ("app-1.0/bin/", None), ("app-1.0/bin/run", b"#!/bin/sh\n"),
                               ("app-1.0/README", b"hello\n")):
                info = tarfile.TarInfo(name.rstrip("/"))
                info.mtime, info.mode = 1_700_000_000, 0o755 if data is None else 0o644
                if data is None:
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                else:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        (out / "flat.txt").write_text("already here\n")

    applied = same_everywhere(sides, """
        {out}/apps:
          archive.extracted:
            - source: {out}/src/app-1.0.tar.gz
            - user: nobody
            - group: nogroup
        {out}/flat:
          archive.extracted:
            - source: {out}/src/app-1.0.tar.gz
            - options: --strip-components=1
            - enforce_toplevel: false
        {out}/skipped:
          archive.extracted:
            - source: {out}/src/app-1.0.tar.gz
            - if_missing: {out}/flat.txt
    """, setup=setup, salt_dry_run_shows_nothing=True)
    key = "archive_|-OUT/apps_|-OUT/apps_|-extracted"
    assert applied["saline"][key]["changes"] == applied["salt"][key]["changes"]


RECURSE_FILES = {
    "web/index.html": "hello {{ grains['id'] }} {{ greeting }}\n",
    "web/sub/a.txt": "a\n",
    "web/sub/deeper/d.txt": "d\n",
    "web/sub/skip.bak": "skipped\n",
    "web/empty/.placeholder": "",
    "conf/one.conf": "one\n",
    "conf/two.txt": "two\n",
}


def test_file_recurse(sides) -> None:
    """file.recurse from salt://: template with context, modes and owners, exclude_pat (also for
    clean), include_pat, maxdepth, replace: false, clean; a missing source fails only its state."""
    def setup(out: Path) -> None:
        (out / "site/sub").mkdir(parents=True)
        (out / "site/sub/a.txt").write_text("stale\n")
        (out / "site/old").mkdir()
        (out / "site/old/o").write_text("o\n")
        (out / "site/local.bak").write_text("mine\n")
        (out / "kept").mkdir()
        (out / "kept/one.conf").write_text("edited by hand\n")

    applied = same_everywhere(sides, """
        {out}/site:
          file.recurse:
            - source: salt://web
            - user: nobody
            - group: nogroup
            - dir_mode: 0750
            - file_mode: 0640
            - template: jinja
            - context: {greeting: hi}
            - exclude_pat: '*.bak'
            - clean: true
        {out}/shallow:
          file.recurse:
            - source: salt://web
            - maxdepth: 1
            - include_pat: 'E@(index|a\\.txt)'
        {out}/kept:
          file.recurse:
            - source: salt://conf
            - replace: false
            - include_pat: '*.conf'
        {out}/none:
          file.recurse:
            - source: salt://not-there
    """, files=RECURSE_FILES, setup=setup)
    salt, saline = applied["salt"], applied["saline"]
    key = "file_|-OUT/site_|-OUT/site_|-recurse"
    assert saline[key]["changes"] == salt[key]["changes"]
    assert (sides[1].out / "site/index.html").read_text() == "hello node1 hi\n"
    assert (sides[1].out / "kept/one.conf").read_text() == "edited by hand\n"


def test_file_managed_check_cmd_backup_and_symlinks(sides) -> None:
    """check_cmd passing and failing (the file left as it was), backup: minion (the old file in
    the backup directory, Salt's name), and a root-owned link followed to its target."""
    def setup(out: Path) -> None:
        (out / "sudoers").write_text("old\n")
        (out / "checked").write_text("old\n")
        (out / "real.conf").write_text("before\n")
        (out / "link.conf").symlink_to("real.conf")

    applied = same_everywhere(sides, """
        {out}/sudoers:
          file.managed:
            - contents: root ALL=(ALL) ALL
            - check_cmd: grep -q ALL=
            - backup: minion
        {out}/checked:
          file.managed:
            - contents: broken
            - check_cmd: grep -q ALL=
        {out}/link.conf:
          file.managed:
            - contents: after
    """, setup=setup)
    for side in sides:
        (kept,) = [p for p in side.backups.rglob("sudoers_*")]
        assert kept.read_text() == "old\n" and kept.parent.name == side.out.name
        assert (side.out / "link.conf").is_symlink() and (side.out / "real.conf").read_text() == "after\n"
    key = "file_|-OUT/checked_|-OUT/checked_|-managed"
    assert applied["saline"][key]["comment"] == applied["salt"][key]["comment"] == "check_cmd execution failed"


def test_file_accumulated_into_blockreplace(sides) -> None:
    """Accumulated lines from several states (one repeated) join the block's content; an
    accumulator tied to no file state fails only itself."""
    def setup(out: Path) -> None:
        (out / "hosts").write_text("127.0.0.1 localhost\n# BEGIN cluster\n# END cluster\n")

    applied = same_everywhere(sides, """
        hosts-block:
          file.blockreplace:
            - name: {out}/hosts
            - marker_start: '# BEGIN cluster'
            - marker_end: '# END cluster'
            - content: '# nodes'
            - backup: false
        node1-line:
          file.accumulated:
            - name: cluster
            - filename: {out}/hosts
            - text: 10.0.0.1 node1
            - require_in:
              - file: hosts-block
        node2-lines:
          file.accumulated:
            - name: cluster
            - filename: {out}/hosts
            - text: [10.0.0.2 node2, 10.0.0.1 node1]
            - require_in:
              - file: hosts-block
        orphan:
          file.accumulated:
            - name: lonely
            - filename: {out}/hosts
            - text: never
    """, setup=setup)
    assert (sides[1].out / "hosts").read_text() == \
        "127.0.0.1 localhost\n# BEGIN cluster\n# nodes\n10.0.0.1 node1\n10.0.0.2 node2\n# END cluster\n"
    key = "file_|-hosts-block_|-OUT/hosts_|-blockreplace"
    assert applied["saline"][key]["changes"] == applied["salt"][key]["changes"]


def test_sysctl_present_config_file(sides) -> None:
    """sysctl.present with its own config file: the running value is kept as it is (the test
    changes no kernel setting), the new file gets Salt's header and the line, as sysctl.persist."""
    value = Path("/proc/sys/vm/swappiness").read_text().strip()
    same_everywhere(sides, f"""
        vm.swappiness:
          sysctl.present:
            - value: {value}
            - config: {{out}}/sysctl.conf
    """, salt_dry_run_shows_nothing=True)
    salt, saline = sides
    assert (saline.out / "sysctl.conf").read_text() == f"#\n# Kernel sysctl configuration\n#\nvm.swappiness = {value}\n"
