"""The alert socket's validation, and the alert agent script's collection (pure)."""

import json

import pytest

from saline.agent.alert_listener import AlertListener, AlertRefused, alert_tag, escape, parse_alert
from saline.agent.pacemaker_alert import collect

# A line of a real alert (shared/lab/NOTES.md, "Alert sample", run 4 cycle 1).
REAL = {"desc": "ok", "exec_time": "9", "interval": "0", "kind": "resource", "node": "node2", "node_sequence": "2",
        "rc": "0", "rsc": "rA", "status": "0", "target_rc": "0", "task": "start", "version": "2.1.5",
        "timestamp": "20:30:35.103", "timestamp_epoch": "1733257835", "timestamp_usec": "103000"}


def test_real_alert_parses():
    tag, data = parse_alert(json.dumps(REAL).encode())
    assert tag == "pacemaker/resource/start"
    assert data["rsc"] == "rA" and data["rc"] == 0 and data["crm_node_sequence"] == 2 and "node_sequence" not in data


@pytest.mark.parametrize("fields, tag", [
    ({"kind": "node", "desc": "lost", "node": "node1"}, "pacemaker/node/lost"),
    ({"kind": "node", "desc": "Lost\nx"}, "pacemaker/node/other"),
    ({"kind": "fencing", "desc": "Operation reboot of node1 by node2: OK"}, "pacemaker/fencing"),
    ({"kind": "attribute", "attribute_name": "master-r1", "attribute_value": "10000"}, "pacemaker/attribute"),
    ({"kind": "resource", "task": "migrate_to"}, "pacemaker/resource/migrate_to"),
    ({"kind": "resource", "task": "../../x"}, "pacemaker/resource/other"),
])
def test_tags(fields, tag):
    assert parse_alert(json.dumps(fields).encode())[0] == tag


@pytest.mark.parametrize("raw, reason", [
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"kind": "resource; rm"}).encode(), "unknown alert kind"),
    (json.dumps({"kind": "resource", "rc": "1e9"}).encode(), "rc is not a number"),
    (json.dumps({"kind": "resource", "rc": 7}).encode(), "rc is not a number"),
    (b"[" * 100000, "not JSON"),
])
def test_refused(raw, reason):
    with pytest.raises(AlertRefused, match=reason):
        parse_alert(raw)


def test_only_known_fields_and_escaped_text():
    _, data = parse_alert(json.dumps({"kind": "resource", "task": "start", "agent_id": "node9", "seq": "1",
                                      "desc": "a\x1b[2Jb\n", "rsc": "r" * 5000}).encode())
    assert set(data) == {"kind", "task", "desc", "rsc"}
    assert data["desc"] == "a\\x1b[2Jb\\x0a" and len(data["rsc"]) == 513
    assert escape("\x85x") == "\\x85x"


def test_script_collects_only_alert_fields():
    env = {"CRM_alert_kind": "node", "CRM_alert_desc": "x" * 5000, "CRM_alert_recipient": "/x", "CRM_alert_evil": "1",
           "PATH": "/bin"}
    assert collect(env) == {"kind": "node", "desc": "x" * 1024}


def test_listener_drops_other_uids(tmp_path):
    got = []
    listener = AlertListener(tmp_path / "a.sock", None, lambda tag, data: got.append(tag) or len(got))
    try:
        assert oct((tmp_path / "a.sock").stat().st_mode & 0o777) == "0o600"
        assert listener.handle(json.dumps(REAL).encode(), 1000) is None
        assert listener.handle(json.dumps(REAL).encode(), None) is None
        assert listener.handle(json.dumps(REAL).encode(), 0) == 1 and got == ["pacemaker/resource/start"]
        assert listener.refused == 2
    finally:
        listener.stop()
    assert not (tmp_path / "a.sock").exists()


def test_listener_refuses_to_replace_a_file(tmp_path):
    (tmp_path / "a.sock").write_text("not a socket")
    with pytest.raises(OSError, match="not a socket"):
        AlertListener(tmp_path / "a.sock", None, lambda *_: 0)


def test_garp_argv_and_output():
    from saline.agent.fn_net import garp_argv, transmitted

    assert garp_argv("br0", "10.0.0.5", 3) == ["arping", "-U", "-S", "10.0.0.5", "-c", "3", "-I", "br0", "10.0.0.5"]
    assert garp_argv("br0", "10.0.0.5", 1, "02:00:00:00:00:99")[-3:] == ["-s", "02:00:00:00:00:99", "10.0.0.5"]
    # Habets arping 2.23 with -U (nobody answers an unsolicited ARP: it exits 1), captured on this machine.
    out = "ARPING 192.0.2.50\nTimeout\nTimeout\n\n--- 192.0.2.50 statistics ---\n" \
          "2 packets transmitted, 0 packets received, 100% unanswered (0 extra)\n\n"
    assert transmitted(out) == 2 and transmitted("arping: libnet_init(): permission denied") == 0
