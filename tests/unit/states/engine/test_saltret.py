"""Salt-keyed return: keys, run numbers, __sls__, __state_ran__, as salt-call --out json prints them."""

from __future__ import annotations

from saline.states.engine.apply import StateResult
from saline.states.engine.run import RunResult
from saline.states.engine.saltret import salt_keyed


def test_keys_and_fields_as_salt_prints_them() -> None:
    run = RunResult(results=[
        StateResult(id="/etc/x", name="/etc/x", fun="file.managed", result=True,
                    changes={"diff": "New file"}, comment="ok", duration_ms=1.5, sls="web"),
        StateResult(id="nginx (service)", name="nginx", fun="service.running", result=False, comment="One or more",
                    sls="web", ran=False),
    ])
    keyed = salt_keyed(run.model_dump())
    assert list(keyed) == ["file_|-/etc/x_|-/etc/x_|-managed", "service_|-nginx_|-nginx_|-running"]
    assert keyed["file_|-/etc/x_|-/etc/x_|-managed"] == {
        "__id__": "/etc/x", "__run_num__": 0, "__sls__": "web", "changes": {"diff": "New file"},
        "comment": "ok", "duration": 1.5, "name": "/etc/x", "result": True,
    }
    failed = keyed["service_|-nginx_|-nginx_|-running"]
    assert failed["__id__"] == "nginx" and failed["__run_num__"] == 1 and failed["__state_ran__"] is False
