"""/etc/default/grub parsing and value rendering (grub.defaults runs for real in tests/real/test_mod_grub.py)."""

from __future__ import annotations

from saline.states.modules.grub import parse_defaults, render_value


def test_grub_values():
    assert parse_defaults('GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="quiet splash"\n#GRUB_X=1\nexport GRUB_A=\'b c\'\n') == {"GRUB_TIMEOUT": "5", "GRUB_CMDLINE_LINUX": "quiet splash", "GRUB_A": "b c"}
    assert render_value(True) == "true" and render_value(5) == "5" and render_value("a b") == '"a b"'


def test_grub_values_never_expand_in_the_shell_that_sources_them():
    """update-grub sources /etc/default/grub as root: a pillar value must stay literal."""
    import subprocess

    for value in ["quiet $(touch /tmp/saline-pwned)", "a `id` b", "x $HOME y", "it's \"quoted\" \\ back", "bang!", "a b", "'"]:
        rendered = render_value(value)
        shell = subprocess.run(["sh", "-c", f"V={rendered}; printf %s \"$V\""], capture_output=True, text=True, check=True).stdout
        assert shell == value, (value, rendered)
        assert parse_defaults(f"GRUB_X={rendered}\n") == {"GRUB_X": value}
    assert render_value("a b") == '"a b"'


def test_grub_values_must_be_one_line():
    import pytest
    from pydantic import ValidationError

    from saline.states.modules.grub import DefaultsArgs

    with pytest.raises(ValidationError, match="one line"):
        DefaultsArgs(settings={"GRUB_CMDLINE_LINUX": "quiet\nGRUB_X=$(reboot)"})
