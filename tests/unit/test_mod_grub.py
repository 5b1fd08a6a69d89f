"""/etc/default/grub parsing and value rendering (grub.defaults runs for real in tests/real/test_mod_grub.py)."""

from __future__ import annotations

from saline.states.modules.grub import parse_defaults, render_value


def test_grub_values():
    assert parse_defaults('GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="quiet splash"\n#GRUB_X=1\nexport GRUB_A=\'b c\'\n') == {"GRUB_TIMEOUT": "5", "GRUB_CMDLINE_LINUX": "quiet splash", "GRUB_A": "b c"}
    assert render_value(True) == "true" and render_value(5) == "5" and render_value("a b") == '"a b"'
