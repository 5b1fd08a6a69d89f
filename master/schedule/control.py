"""``saline schedule …`` requests on the control socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from saline.protocol.control import ControlReply, ScheduleRequest

from .scheduler import ScheduleError

if TYPE_CHECKING:
    from saline.master.interface import MasterAPI


def schedule_request(m: "MasterAPI", req: ScheduleRequest) -> ControlReply:
    d = m.drift
    try:
        if req.action == "list":
            return ControlReply(ok=True, data=d.list())
        if not req.name:
            return ControlReply(ok=False, code="bad_request", error=f"schedule {req.action} needs a name")
        if req.action == "add":
            if not req.target or not req.trigger:
                return ControlReply(ok=False, code="bad_request", error="schedule add needs a target and --every or --cron")
            return ControlReply(ok=True, data=d.add(req.name, req.target, req.states, req.policy, req.trigger))
        if req.action == "remove":
            d.remove(req.name)
            return ControlReply(ok=True, data={"removed": req.name})
        if req.action == "pause":
            return ControlReply(ok=True, data=d.pause(req.name))
        if req.action == "resume":
            return ControlReply(ok=True, data=d.resume(req.name))
        d.describe(req.name)  # exists?
        jid = d.run(req.name, "run-now")
        return ControlReply(ok=True, data={"schedule": req.name, "jid": jid})
    except ScheduleError as exc:
        code = "not_found" if str(exc).startswith("no schedule") else "bad_request"
        return ControlReply(ok=False, code=code, error=str(exc))
