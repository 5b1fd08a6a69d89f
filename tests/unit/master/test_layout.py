"""The master's request handlers depend on an interface of the master, not on the server."""

import subprocess
import sys


def test_handlers_and_subsystems_do_not_import_the_server():
    probe = ("import sys, saline.master.control, saline.master.compile, saline.master.interface,"
             " saline.master.maintenance.service, saline.master.events.intake, saline.master.schedule.scheduler;"
             "print('saline.master.server' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_server_satisfies_the_interface():
    from saline.master.interface import MasterAPI
    from saline.master.server import Master

    for name in ("publish", "wait_for"):
        assert callable(getattr(Master, name)), name
    for attr in MasterAPI.__annotations__:
        assert attr in Master.__init__.__code__.co_names, f"Master does not set {attr}"
