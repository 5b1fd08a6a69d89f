"""What a shell would read differently from a plain word split: found, or not."""

from __future__ import annotations

import pytest

from saline.states.system.shellsyntax import shell_constructs


@pytest.mark.parametrize("command,found", [
    ("touch /x/$NAME", "$"),
    ("echo ${HOME}", "$"),
    ("echo $(date)", "$"),
    ("echo `date`", "`"),
    ('echo "$HOME/x"', "$ in double quotes"),
    ('echo "\\$HOME"', "\\$ in double quotes"),
    ("ls *.txt", "glob *"),
    ("ls file?.log", "glob ?"),
    ("ls file[12]", "glob [...]"),
    ("cat ~/x", "~ (home directory)"),
    ("echo a # note", "# (comment)"),
    ("echo {a,b}", "brace expansion {...}"),
    ("echo {1..3}", "brace expansion {...}"),
    ("FOO=1 make", "VAR=value prefix (use env:)"),
    ("if true", "reserved word 'if'"),
    ("! grep x /f", "reserved word '!'"),
    ("make && make install", "&"),
    ("ls | wc -l", "|"),
    ("echo hi > /tmp/x", ">"),
    ("a; b", ";"),
    ("echo x 2>/dev/null", ">"),
])
def test_shell_syntax_is_found(command: str, found: str) -> None:
    assert found in shell_constructs(command)


@pytest.mark.parametrize("command", [
    "echo '$HOME'",
    "grep -E 'a|b' /f",
    "[ -e /x ]",
    "find / -name x -exec rm {} \\;",
    "echo a\\*b",
    "test -e /x~",
    "echo 'a b' \"c d\"",
    "printf %s\\n",
    "echo a=b",
    "sh -c 'echo $X > /y'",
    "sed -i 's/a#b/c/' /f",
    "mdadm --detail /dev/md0",
])
def test_plain_commands_are_plain(command: str) -> None:
    assert shell_constructs(command) == []
