"""cmd.*: command splitting without a shell, guard and env arguments, plans from facts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saline.states.engine.base import REGISTRY
from saline.states.modules import cmd as mod


def test_strings_are_split_like_a_shell_would_but_never_run_by_one():
    assert mod.split_command("sh -c 'echo a > /tmp/x'") == ["sh", "-c", "echo a > /tmp/x"]
    assert mod.split_command(["printf", "%s\n", "a b"]) == ["printf", "%s\n", "a b"]


@pytest.mark.parametrize("bad,msg", [
    ("echo hi > /tmp/x", "shell syntax"),
    ("make && make install", "shell syntax"),
    ("ls | wc -l", "shell syntax"),
    ("echo 'unbalanced", "cannot split"),
    ("   ", "empty command"),
])
def test_commands_refused_with_a_reason(bad, msg):
    with pytest.raises(ValueError, match=msg):
        mod.split_command(bad)
    with pytest.raises(ValidationError, match=msg):
        mod.RunArgs(name=bad)


def test_guards_accept_a_string_or_a_list_of_strings_and_argv_lists():
    args = mod.RunArgs(name="true", unless="test -e /x", onlyif=["true", ["test", "-d", "/"]], creates="/a")
    assert args.unless == ["test -e /x"] and args.argv(args.unless[0]) == ["test", "-e", "/x"]
    assert args.onlyif == ["true", ["test", "-d", "/"]]
    assert args.creates == ["/a"]


def test_env_as_salt_writes_it():
    assert mod.RunArgs(name="true", env=[{"A": 1}, {"B": True}]).env == {"A": "1", "B": "true"}
    assert mod.RunArgs(name="true", env={"LANG": "C"}).env == {"LANG": "C"}
    with pytest.raises(ValidationError, match="env"):
        mod.RunArgs(name="true", env="A=1")


@pytest.mark.parametrize("args,msg", [
    ({"creates": "relative"}, "not an absolute path"),
    ({"cwd": "/tmp/../etc"}, "'..'"),
    ({"runas": ""}, "runas"),
    ({"shell": "bash"}, "not an absolute path"),
    ({"unless": "test -e $HOME/x"}, "shell syntax"),
    ({"output_loglevel": "loud"}, "output_loglevel"),
    ({"unless": []}, "non-empty"),
    ({"timeout": 0}, "greater than 0"),
])
def test_argument_errors(args, msg):
    with pytest.raises(ValidationError, match=msg):
        mod.RunArgs(name="true", **args)


def test_plan_runs_the_command_with_cwd_env_and_retcodes():
    args = mod.RunArgs(name="make install", cwd="/src", env={"DESTDIR": "/x"}, success_retcodes=[2], timeout=60)
    facts = mod.CmdFacts(argv=mod.in_cwd(args.argv(), "/root/src"), env=args.env)
    (step,) = mod.run(args, facts).steps
    assert step.argv == ["env", "-C", "/root/src", "--", "make", "install"]
    assert (step.env, step.ok_rc, step.timeout) == ({"DESTDIR": "/x"}, [0, 2], 60)
    assert mod.run(args, facts).changes == {"cmd": "make install"}  # Salt's test=True changes


def test_plan_with_a_guard_holding_is_empty():
    plan = mod.run(mod.RunArgs(name="true", creates="/a"), mod.CmdFacts(argv=["true"], skip="/a exists"))
    assert plan.empty and plan.comment == "Skipped: /a exists"


def test_unguarded_run_is_declared_non_converging_and_wait_only_runs_on_watch():
    assert REGISTRY["cmd.run"].converges is False
    args, facts = mod.RunArgs(name="true"), mod.CmdFacts(argv=["true"])
    assert mod.wait(args, facts).empty
    assert [s.argv for s in mod.run_on_watch(args, facts)] == [["true"]]
    assert mod.run_on_watch(args, facts.model_copy(update={"skip": "x"})) == []
