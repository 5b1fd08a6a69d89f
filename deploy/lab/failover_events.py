"""A failover on the lab, seen as events: kill the node running a resource, wait for the
resource's start event from the peer at the master and for its reactions.

Used by the demo (a step of its own), ``bench/events.py`` (latency over several
failovers) and the lab tests. The agents are configured with the alert socket and the
alert agent in the node's own ``/run/saline`` (``AGENT_ALERT_SETTINGS``), the same path on
both nodes as Pacemaker's alert configuration needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any, Callable

from .lab import Lab

AGENT_ALERT_SETTINGS = {"alert_socket": "/run/saline/agent-events.sock",
                        "alert_agent_path": "/run/saline/pacemaker-alert"}
GARP_HOST = 100  # {public_net}.100: the address the demo's "container" owns

# One JSON line per ARP packet on br0 (run inside a node's netns with ``ip netns exec``).
ARP_LISTENER = r"""
import json, socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("br0", 0))
s.settimeout(0.5)
print("ready", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        frame = s.recv(2048)
    except socket.timeout:
        continue
    op, sha, spa, tha, tpa = struct.unpack("!6xH6s4s6s4s", frame[14:42])
    print(json.dumps({"op": op, "spa": socket.inet_ntoa(spa), "tpa": socket.inet_ntoa(tpa),
                      "sha": sha.hex(":"), "at": time.time()}), flush=True)
"""


def garp_address(lab: Lab) -> str:
    return f"{lab.public_net}.{GARP_HOST}"


def reactions(lab: Lab, rsc: str) -> dict[str, Any]:
    """The reactor file: gratuitous ARP for ``rsc``'s address wherever it starts."""
    return {
        "clusters": {lab.cluster_name: list(lab.nodes)},
        "reactions": [{"name": "garp", "match": {"tag": "pacemaker/resource/start", "rsc": rsc, "rc": 0},
                       "garp": {"interface": "br0", "addresses": {rsc: [garp_address(lab)]}}}],
    }


def _poll(what: str, ready: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def arp_listener(lab: Lab, node: str, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen(["ip", "netns", "exec", lab.netns(node), sys.executable, "-c", ARP_LISTENER, str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def failover(lab: Lab, events: Callable[[], list[dict]], rsc: str, timeout: float = 60.0) -> dict[str, Any]:
    """Kill the node running ``rsc``; return the start event on the peer (with its settled
    reactions) and the timings: kill → event stored, → first gratuitous ARP seen on the
    killed node's bridge (its namespaces outlive its processes; its br0 is the peer's LAN).
    ``events()`` is ``saline --json events`` as a list. The killed node is left down."""
    [node] = _poll(f"{rsc} running on one node", lambda: lab.resource_location(lab.nodes[0], rsc) or
                   lab.resource_location(lab.nodes[1], rsc), timeout)
    peer = next(n for n in lab.nodes if n != node)
    before = max((e["id"] for e in events()), default=0)
    killed_at = time.time()
    lab.kill(node)
    listener = arp_listener(lab, node, timeout)

    def started() -> dict | None:
        for e in events():
            if e["id"] > before and e["tag"] == "pacemaker/resource/start" and e["data"].get("rsc") == rsc:
                if e["reactions"] and all(r["status"] != "running" for r in e["reactions"]):
                    return e
        return None

    try:
        ev = _poll(f"{rsc}'s start event from {peer} and its reactions", started, timeout, 0.2)
        time.sleep(0.5)  # the last of the ARP packets
    finally:
        listener.terminate()
        out, _ = listener.communicate(timeout=10)
    addr = garp_address(lab)
    garps = [p for p in map(json.loads, (line for line in out.splitlines() if line.startswith("{")))
             if p["spa"] == addr and p["tpa"] == addr]
    return {"killed": node, "event": ev, "kill_to_event": ev["received_at"] - killed_at,
            "reaction_latency": min(r["latency"] for r in ev["reactions"] if r.get("latency") is not None),
            "kill_to_garp": (min(p["at"] for p in garps) - killed_at) if garps else None, "garps": len(garps)}
