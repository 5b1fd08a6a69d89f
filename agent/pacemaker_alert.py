#!/usr/bin/python3 -I
"""saline's Pacemaker alert agent: forward the CRM_alert_* variables to the local saline-agent.

Pacemaker runs this as ``hacluster`` for every alert, with the recipient (the agent's
socket, default /run/saline/agent-events.sock) in CRM_alert_recipient. It sends one
datagram and exits at once: it never waits for the agent, so it cannot block the
cluster. Standard library only and no imports from saline (``-I``: no site, no
environment), so it starts in milliseconds under any user; the saline-agent installs
this very file (``alert_agent_path``) so it always matches the agent's version.
Everything it sends is validated again by the agent; the bounds here only keep the
datagram under the socket's limit.
"""

import json
import os
import socket
import sys

DEFAULT_SOCKET = "/run/saline/agent-events.sock"
# The CRM_alert_* variables forwarded (Pacemaker Explained, "Alert Agents"); anything
# else in the environment stays here.
INT_FIELDS = ("nodeid", "interval", "rc", "target_rc", "status", "exec_time", "node_sequence", "timestamp_epoch",
              "timestamp_usec")
TEXT_FIELDS = ("kind", "node", "rsc", "task", "desc", "timestamp", "attribute_name", "attribute_value", "version")
MAX_VALUE = 1024
MAX_DATAGRAM = 60000  # under the kernel's default Unix datagram limit even when every byte is escaped


def collect(environ) -> dict:
    fields = {}
    for name in INT_FIELDS + TEXT_FIELDS:
        value = environ.get("CRM_alert_" + name)
        if value is not None:
            fields[name] = value[:MAX_VALUE]
    return fields


def main() -> int:
    path = os.environ.get("CRM_alert_recipient") or DEFAULT_SOCKET
    fields = collect(os.environ)
    payload = json.dumps(fields).encode()
    if len(payload) > MAX_DATAGRAM:  # hostile or broken values: keep the alert, cut the values
        payload = json.dumps({k: v[:100] for k, v in fields.items()}).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setblocking(False)  # a full queue is an error now, never a wait
    try:
        sock.sendto(payload, path)
    except OSError as exc:
        print(f"saline alert: not delivered to {path}: {exc}", file=sys.stderr)
        return 1
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
