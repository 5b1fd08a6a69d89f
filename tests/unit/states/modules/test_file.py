"""file.*: argument validation, the pure line edits, and plans from given facts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from saline.states.engine.base import MkdirStep, Refuse, RemoveStep, SetAttrsStep, WriteFileStep
from saline.states.system.lineedit import EditError, comment, keyvalue, line, uncomment
from saline.states.engine.modes import parse_mode
from saline.states.modules import file as mod
from saline.states.modules import file_tree
from tests.paths import FIXTURES

FIXTURES = FIXTURES / "file"
UDEV_RULE = (FIXTURES / "85-lvm2.rules").read_text()
GRUB = (FIXTURES / "grub.default").read_text()
LVM_RULE_REGEX = r'^SUBSYSTEM=="block", ACTION=="add\|change", ENV\{ID_FS_TYPE\}=="lvm'


def facts(kind="file", content: bytes | None = b"", mode=0o644, user="root", group="root", **kw) -> mod.FileFacts:
    if kind == "missing":
        return mod.FileFacts(path="/etc/x", kind="missing", **kw)
    return mod.FileFacts(path="/etc/x", kind=kind, content=content if kind == "file" else None,
                         mode=mode, user=user, group=group, **kw)


# ---- argument validation ------------------------------------------------------------------


@pytest.mark.parametrize("given,expected", [("0644", 0o644), ("644", 0o644), (644, 0o644), ("0o755", 0o755),
                                            ("4755", 0o4755), (600, 0o600)])
def test_mode_accepts_salt_forms(given, expected):
    assert parse_mode(given) == expected


@pytest.mark.parametrize("bad", ["0999", "rw-r--r--", 493, "77777", True, 1.5, ""])
def test_mode_refuses_non_octal(bad):
    with pytest.raises(ValueError, match="mode"):
        parse_mode(bad)


def test_yaml_decimal_mode_gets_a_quoting_hint():
    with pytest.raises(ValidationError, match="write 0755, not 493"):
        mod.ManagedArgs(name="/etc/x", mode=493)


@pytest.mark.parametrize("path,msg", [("etc/x", "not an absolute path"), ("/etc/../shadow", "contains '..'"),
                                      ("", "empty")])
def test_paths_must_be_absolute_without_dotdot(path, msg):
    with pytest.raises(ValidationError, match=msg):
        mod.ManagedArgs(name=path)


def test_unknown_argument_is_an_error():
    with pytest.raises(ValidationError, match="source"):
        mod.ManagedArgs(name="/etc/x", source="salt://x")


@pytest.mark.parametrize("root", ["/", "//", "/./", "//."])
def test_absent_refuses_root(root):
    # "//" is what "/{{ dir }}/" renders to with an empty dir; pathlib keeps it as "//".
    with pytest.raises(ValidationError, match="refusing to make '/' absent"):
        mod.AbsentArgs(name=root)


def test_node_paths_are_normalised():
    assert mod.ManagedArgs(name="//etc//x/").name == "/etc/x"


def test_keyvalue_needs_keys_one_way():
    with pytest.raises(ValidationError, match="key_values"):
        mod.KeyValueArgs(name="/etc/x")
    with pytest.raises(ValidationError, match="not both"):
        mod.KeyValueArgs(name="/etc/x", key="A", value=1, key_values={"B": 2})
    assert mod.KeyValueArgs(name="/x", key="A", value=True).rendered() == {"A": "true"}
    with pytest.raises(ValidationError, match="span lines"):
        mod.KeyValueArgs(name="/x", key_values={"A": "1\nB=2"})


@pytest.mark.parametrize("args,msg", [
    ({"mode": "ensure", "content": "x"}, "before and/or after"),
    ({"mode": "insert"}, "needs content"),
    ({"mode": "delete"}, "needs match or content"),
    ({"mode": "replace", "content": "x", "match": "("}, "not a valid regular expression"),
    ({"mode": "insert", "content": "a\nb"}, "single line"),
    ({"mode": "frobnicate", "content": "x"}, "mode"),
    ({"mode": "delete", "match": "x", "location": "end"}, "location"),
])
def test_line_arguments_fit_the_mode(args, msg):
    with pytest.raises(ValidationError, match=msg):
        mod.LineArgs(name="/etc/x", **args)


# ---- pure edits ---------------------------------------------------------------------------


def test_comment_covers_the_whole_continued_udev_rule():
    out = comment(UDEV_RULE, LVM_RULE_REGEX)
    # Exactly what the seed shows: both physical lines of the rule commented, the tab kept.
    assert out.splitlines()[-2:] == [
        '#SUBSYSTEM=="block", ACTION=="add|change", ENV{ID_FS_TYPE}=="lvm*|LVM*", \\',
        "#\tRUN+=\"watershed sh -c '/sbin/lvm vgscan; /sbin/lvm vgchange -a y'\"",
    ]
    assert out.splitlines()[:4] == UDEV_RULE.splitlines()[:4]
    assert comment(out, LVM_RULE_REGEX) == out  # idempotent
    assert uncomment(out, LVM_RULE_REGEX) == UDEV_RULE  # exact round trip


def test_comment_regex_matches_from_the_line_start_as_salts():
    """Salt's comment_line uses re.match: ``pam_motd`` is not found in ``session … pam_motd.so``
    (Salt fails the state "Pattern not found"); indentation and the comment char are skipped."""
    text = "session optional pam_motd.so\n  indented yes\n# spaced = 1\n"
    with pytest.raises(EditError, match="not found"):
        comment(text, "pam_motd")
    assert comment(text, "session.*pam_motd") == "#session optional pam_motd.so\n  indented yes\n# spaced = 1\n"
    assert comment(text, "indented") == "session optional pam_motd.so\n#  indented yes\n# spaced = 1\n"
    assert uncomment(text, "spaced") == "session optional pam_motd.so\n  indented yes\n spaced = 1\n"
    with pytest.raises(EditError, match="not found"):
        uncomment(text, "= 1")


def test_comment_matching_the_continuation_line_comments_the_whole_rule():
    out = comment(UDEV_RULE, r"RUN\+=\"watershed")
    assert [ln.startswith("#") for ln in out.splitlines()[-2:]] == [True, True]


def test_comment_finishes_a_half_commented_rule():
    half = UDEV_RULE.replace("SUBSYSTEM==", "#SUBSYSTEM==")
    out = comment(half, LVM_RULE_REGEX)
    assert out == comment(UDEV_RULE, LVM_RULE_REGEX)


def test_comment_missing_pattern_is_an_error_unless_ignored():
    with pytest.raises(EditError, match="not found"):
        comment("a\n", "^zzz")
    assert comment("a\n", "^zzz", ignore_missing=True) == "a\n"


def test_comment_with_another_char():
    assert comment("x = 1\ny = 2\n", r"^y", ";") == "x = 1\n;y = 2\n"


def test_uncomment_pattern_not_present_at_all():
    with pytest.raises(EditError, match="not found"):
        uncomment("#a\n", "^b")


def test_keyvalue_on_debian_grub_default():
    out = keyvalue(GRUB, {"GRUB_TIMEOUT": "10", "GRUB_DISABLE_OS_PROBER": "true", "GRUB_TERMINAL": "console"},
                   uncomment="#")
    assert "GRUB_TIMEOUT=10\n" in out and "GRUB_TIMEOUT=5\n" not in out
    assert "\nGRUB_TERMINAL=console\n" in out and "#GRUB_TERMINAL" not in out
    assert out.count("GRUB_DISABLE_OS_PROBER=true") == 1
    assert len(out.splitlines()) == len(GRUB.splitlines())
    # Unwanted commented keys stay commented.
    assert "#GRUB_GFXMODE=640x480" in out


def test_keyvalue_keeps_commented_keys_commented_without_uncomment():
    with pytest.raises(EditError, match="GRUB_TERMINAL"):
        keyvalue(GRUB, {"GRUB_TERMINAL": "console"})
    out = keyvalue(GRUB, {"GRUB_TERMINAL": "console"}, append_if_not_found=True)
    assert out.endswith("GRUB_TERMINAL=console\n") and "#GRUB_TERMINAL=console" in out


def test_keyvalue_appends_after_a_last_line_without_newline():
    assert keyvalue("A=1", {"B": "2"}, append_if_not_found=True) == "A=1\nB=2\n"
    assert keyvalue("", {"B": "2"}, append_if_not_found=True) == "B=2\n"


def test_keyvalue_other_separator_and_unchanged_spacing():
    text = "Port 22\nPermitRootLogin yes\n"
    assert keyvalue(text, {"Port": "22"}, " ") == text
    assert keyvalue(text, {"PermitRootLogin": "no"}, " ") == "Port 22\nPermitRootLogin no\n"


def test_line_modes():
    text = "a\n  b\nc\n"
    assert line(text, "replace", content="B", match="^ *b") == "a\n  B\nc\n"
    assert line(text, "replace", content="B", match="^ *b", indent=False) == "a\nB\nc\n"
    assert line(text, "delete", match="^c") == "a\n  b\n"
    assert line(text, "delete", content="a") == "  b\nc\n"
    assert line(text, "insert", content="z", location="start") == "z\na\n  b\nc\n"
    assert line(text, "insert", content="z") == "a\n  b\nc\nz\n"
    assert line(text, "insert", content="z", after="b") == "a\n  b\n  z\nc\n"
    assert line(text, "insert", content="c") == text
    assert line(text, "ensure", content="z", before="^c") == "a\n  b\nz\nc\n"
    assert line(text, "ensure", content="c", after="b") == text


def test_line_ensure_between_anchors():
    assert line("a\nc\n", "ensure", content="b", after="^a", before="^c") == "a\nb\nc\n"
    assert line("a\nb\nc\n", "ensure", content="b", after="^a", before="^c") == "a\nb\nc\n"
    with pytest.raises(EditError, match="none is"):
        line("a\nx\nc\n", "ensure", content="b", after="^a", before="^c")
    with pytest.raises(EditError, match="not below"):
        line("c\na\n", "ensure", content="b", after="^a", before="^c")
    with pytest.raises(EditError, match="no line matches after"):
        line("a\n", "ensure", content="b", after="^q")


# ---- plans from facts --------------------------------------------------------------------


def test_managed_plans_a_new_file_with_diff_and_mode():
    plan = mod.managed(mod.ManagedArgs(name="/etc/x", contents="hi\n", mode="0600"), facts("missing"))
    (step,) = plan.steps
    assert isinstance(step, WriteFileStep) and step.content == b"hi\n" and step.mode == 0o600
    assert plan.changes == {"diff": "New file", "mode": "0600"}  # Salt's shapes
    assert plan.test_changes == {"newfile": "/etc/x"}


def test_managed_in_state_plans_nothing():
    plan = mod.managed(mod.ManagedArgs(name="/etc/x", contents="hi\n", mode=644), facts(content=b"hi\n"))
    assert plan.empty and plan.changes == {} and "correct state" in plan.comment


def test_managed_mode_only_is_a_setattrs_step():
    plan = mod.managed(mod.ManagedArgs(name="/etc/x", contents="hi\n", mode="0600"), facts(content=b"hi\n"))
    (step,) = plan.steps
    assert isinstance(step, SetAttrsStep) and step.mode == 0o600
    assert plan.changes == {"mode": "0600"}


def test_managed_content_change_keeps_the_other_owner_field():
    plan = mod.managed(mod.ManagedArgs(name="/etc/x", contents="new\n", group="daemon"),
                       facts(content=b"old\n", user="bin", group="root"))
    (step,) = plan.steps
    assert isinstance(step, WriteFileStep) and (step.user, step.group) == ("bin", "daemon")
    assert "-old\n+new\n" in plan.changes["diff"] and plan.changes["group"] == "daemon"


def test_managed_replace_false_leaves_content():
    plan = mod.managed(mod.ManagedArgs(name="/etc/x", contents="new\n", replace=False), facts(content=b"old\n"))
    assert plan.empty


@pytest.mark.parametrize("f,msg", [
    (facts("directory"), "is a directory, not a file"),
    (facts("symlink"), "is a symlink"),
    (facts("missing", parent_exists=False), "makedirs"),
    (facts("missing", unknown_owners=["user 'nosuch'"]), "unknown user"),
])
def test_managed_refusals(f, msg):
    with pytest.raises(Refuse, match=msg):
        mod.managed(mod.ManagedArgs(name="/etc/x", contents="x"), f)


def tree(kind="directory", entries=(), **kw) -> file_tree.TreeFacts:
    return file_tree.TreeFacts(**facts(kind, **kw).model_dump(), entries=list(entries))


def test_directory_plans():
    plan = file_tree.directory(file_tree.DirectoryArgs(name="/etc/x", mode="0750", makedirs=True), tree("missing"))
    (step,) = plan.steps
    assert isinstance(step, MkdirStep) and step.parents and step.mode == 0o750
    assert plan.changes == {"/etc/x": {"directory": "new"}}
    assert file_tree.directory(file_tree.DirectoryArgs(name="/etc/x", mode="0755"), tree(mode=0o755)).empty
    with pytest.raises(Refuse, match="not a directory"):
        file_tree.directory(file_tree.DirectoryArgs(name="/etc/x"), tree("file"))


def test_absent_plans():
    plan = mod.absent(mod.AbsentArgs(name="/etc/x"), facts("directory"))
    (step,) = plan.steps
    assert isinstance(step, RemoveStep) and step.recursive and plan.changes == {"removed": "/etc/x"}
    assert mod.absent(mod.AbsentArgs(name="/etc/x"), facts("missing")).empty


def test_keyvalue_plan_diff_and_missing_file():
    args = mod.KeyValueArgs(name="/etc/x", key_values={"GRUB_TIMEOUT": 5})
    plan = mod.keyvalue(args, facts(content=b"GRUB_TIMEOUT=2\n"))
    assert "-GRUB_TIMEOUT=2\n+GRUB_TIMEOUT=5\n" in plan.changes["diff"]
    with pytest.raises(Refuse, match="does not exist"):
        mod.keyvalue(args, facts("missing"))
    created = mod.keyvalue(args.model_copy(update={"create_if_missing": True}), facts("missing"))
    assert created.steps[0].content == b"GRUB_TIMEOUT=5\n"


def test_comment_plan_refuses_binary_and_missing():
    args = mod.CommentArgs(name="/etc/x", regex="^a")
    with pytest.raises(Refuse, match="not UTF-8"):
        mod.comment(args, facts(content=b"\xff\xfe"))
    with pytest.raises(Refuse, match="does not exist"):
        mod.comment(args, facts("missing"))
    assert mod.comment(args.model_copy(update={"ignore_missing": True}), facts("missing")).empty


def test_managed_checks_source_hash():
    """The master hashes every file it inlines; contents that do not match are refused before anything runs."""
    import hashlib

    from saline.states.engine.apply import StateArgsError, lookup, validate_args

    fn = lookup("file.managed")
    good = "sha256=" + hashlib.sha256(b"hello\n").hexdigest()
    assert validate_args(fn, {"name": "/etc/x", "contents": "hello\n", "source_hash": good}).source_hash == good
    with pytest.raises(StateArgsError, match="do not match source_hash"):
        validate_args(fn, {"name": "/etc/x", "contents": "tampered\n", "source_hash": good})
    with pytest.raises(StateArgsError, match="source_hash"):
        validate_args(fn, {"name": "/etc/x", "contents": "x", "source_hash": "md5=abc"})
