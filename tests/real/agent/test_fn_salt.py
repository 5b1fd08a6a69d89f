"""Salt's day-one execution functions on the agent, called as a job would call them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saline.agent.functions import FunctionContext, FunctionError, bind_args, load_functions

pytestmark = pytest.mark.real


def call(name: str, *args, root: Path = Path("/"), functions=("*",), **kwargs):
    fn = load_functions()[name]
    ctx = FunctionContext(agent_id="node1", version="test",
                          settings={"state_root": str(root), "state_env": {}, "functions": list(functions)})
    return fn.run(bind_args(fn, list(args), kwargs), ctx)


def test_grains_by_salt_names() -> None:
    assert call("grains.get", "id") == "node1"
    assert call("grains.get", "os_family") == "Debian"
    assert call("grains.get", "no:such", default="d") == "d"
    assert call("grains.item", "os")["os"] == "Debian"
    items = call("grains.items")
    assert items["id"] == "node1" and "osfinger" in items and "osfinger" in call("grains.ls")


def test_cmd_functions_without_a_shell_unless_asked() -> None:
    assert call("cmd.run", "echo hello") == "hello"
    assert call("cmd.retcode", "sh -c 'exit 3'") == 3
    result = call("cmd.run_all", "sh -c 'echo out; echo err >&2; exit 4'")
    assert result.success is False and {k: result.data[k] for k in ("retcode", "stdout", "stderr")} == \
        {"retcode": 4, "stdout": "out", "stderr": "err"}
    assert call("cmd.run", "echo $HOME", shell="/bin/sh") == os.environ["HOME"]
    with pytest.raises(FunctionError, match=r"shell syntax \(\$\)"):
        call("cmd.run", "echo $HOME")


def test_pkg_version_and_service_status(tmp_path: Path) -> None:
    assert call("pkg.version", "bash").startswith("5.")
    assert call("pkg.version", ["bash", "no-such-package-saline"])["no-such-package-saline"] == ""
    init = tmp_path / "etc/init.d"
    init.mkdir(parents=True)
    for name, rc in (("up", 0), ("down", 3)):
        (init / name).write_text(f"#!/bin/sh\nexit {rc}\n")
        (init / name).chmod(0o755)
    assert call("service.status", "up", root=tmp_path) is True
    assert call("service.status", "down", root=tmp_path) is False
    with pytest.raises(FunctionError, match="not a service name"):
        call("service.status", "../x", root=tmp_path)


def test_list_functions_applies_the_allow_list() -> None:
    listed = call("sys.list_functions", functions=["grains.*", "test.ping"])
    assert "grains.get" in listed and "test.ping" in listed and "cmd.run" not in listed
    assert call("sys.list_functions", "grains.i*", functions=["*"]) == ["grains.item", "grains.items"]


def test_state_single_validates_and_runs_one_state(tmp_path: Path) -> None:
    dry = call("state.single", "file.managed", "/motd", contents="hi", test=True, root=tmp_path)
    assert dry.success and dry.data["results"][0]["result"] is None and not (tmp_path / "motd").exists()
    done = call("state.single", "file.managed", "/motd", contents="hi", mode="0640", root=tmp_path)
    assert done.success and (tmp_path / "motd").read_text() == "hi\n"
    with pytest.raises(FunctionError, match="mdoe"):
        call("state.single", "file.managed", "/motd", mdoe="0640", root=tmp_path)
