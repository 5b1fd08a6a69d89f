"""Runs inside the Salt venv's python: one warm ``salt.client.LocalClient`` that
answers one JSON command per stdin line with one JSON line on stdout.

Commands: {"op": "ping", "tgt", "expect"}, {"op": "apply", "tgt", "sls", "test"},
{"op": "wait_ping", "tgt", "deadline"} (loops test.ping until the minion answers;
reports the wall-clock time it did), {"op": "quit"}.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    # Answers go to a private copy of stdout; anything Salt prints lands on stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import salt.client

    master_conf = sys.argv[1]
    client = salt.client.LocalClient(c_path=master_conf)
    print(json.dumps({"ready": True}), file=answers, flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        try:
            out = run(client, cmd)
        except Exception as exc:  # e.g. SaltClientError while the master is still starting
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), file=answers, flush=True)


def run(client, cmd: dict) -> dict:
    op = cmd["op"]
    if op == "ping":
        t0 = time.perf_counter()
        ret = client.cmd(cmd["tgt"], "test.ping", timeout=30, tgt_type=cmd.get("tgt_type", "glob"))
        dt = time.perf_counter() - t0
        ok = len(ret) == cmd["expect"] and all(v is True for v in ret.values())
        return {"seconds": dt, "ok": ok, "returned": len(ret)}
    if op == "apply":
        t0 = time.perf_counter()
        ret = client.cmd(cmd["tgt"], "state.apply", [cmd["sls"]], kwarg={"test": cmd["test"]}, timeout=300)
        dt = time.perf_counter() - t0
        return {"seconds": dt, **summarize(ret)}
    if op == "wait_ping":
        while time.time() < cmd["deadline"]:
            try:
                ret = client.cmd(cmd["tgt"], "test.ping", timeout=1)
            except Exception:
                ret = {}
            if ret.get(cmd["tgt"]) is True:
                return {"answered_at": time.time()}
            time.sleep(0.05)
        return {"answered_at": None}
    return {"error": f"unknown op {op}"}


def summarize(ret: dict) -> dict:
    if len(ret) != 1:
        return {"error": f"{len(ret)} minions returned"}
    (states,) = ret.values()
    if not isinstance(states, dict):
        return {"error": f"not a state return: {str(states)[:500]}"}
    return {
        "states": len(states),
        "changed": sum(1 for s in states.values() if s.get("changes")),
        "would_change": sum(1 for s in states.values() if s.get("result") is None),
        "failed": sum(1 for s in states.values() if s.get("result") is False),
    }


if __name__ == "__main__":
    main()
