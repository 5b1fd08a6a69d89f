"""What a POSIX shell would do with a command line that saline splits into words without one.

Salt's ``cmd.run`` hands its command to a shell; saline splits it with :mod:`shlex` and runs
the words directly. The two agree only when the line holds no shell syntax, so every
construct a shell would interpret (operators, redirections, ``$`` expansions, backquotes,
globs, a leading ``~``, comments, brace expansion, ``VAR=value`` prefixes, reserved words)
is found here and the command is refused unless the user asks for a shell (``shell:``).
Text inside single quotes is literal for both; inside double quotes ``$`` and backquotes
still expand in a shell, so they are reported there too.
"""

from __future__ import annotations

import re

_OPERATORS = set("|&;<>()")
_GLOBS = set("*?")
_RESERVED_FIRST = {"!", "if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done",
                   "case", "esac", "function", "select", "{", "}", "[["}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_BRACE_EXPANSION = re.compile(r"\{[^{}\s'\"]*(,|\.\.)[^{}\s'\"]*\}")


def _unquoted_words(command: str) -> tuple[list[str], list[str]]:
    """(found constructs, words with their unquoted parts only, quoted text as spaces)."""
    found: list[str] = []
    words: list[str] = []
    word: list[str] = []
    state = ""  # "" unquoted, "'" or '"' inside quotes
    i = 0
    while i < len(command):
        c = command[i]
        if state == "'":
            state = "" if c == "'" else state
            word.append(" ")
        elif state == '"':
            if c == "\\" and i + 1 < len(command) and command[i + 1] in "$`":
                found.append('\\' + command[i + 1] + ' in double quotes')  # shlex keeps the backslash; a shell drops it
                i += 1
            elif c in "$`":
                found.append(f"{c} in double quotes")
            elif c == '"':
                state = ""
            word.append(" ")
        elif c == "\\":
            word.append(" ")
            i += 1  # the escaped character is literal for both
        elif c in "'\"":
            state = c
            word.append(" ")
        elif c.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            if c in _OPERATORS or c in "$`":
                found.append(c)
            elif c in _GLOBS:
                found.append(f"glob {c}")
            elif c == "~" and not word:
                found.append("~ (home directory)")
            elif c == "#" and not word:
                found.append("# (comment)")
            word.append(c)
        i += 1
    if word:
        words.append("".join(word))
    return found, words


def shell_constructs(command: str) -> list[str]:
    """The shell constructs in ``command``, in order, without repeats; empty if a shell and a
    plain split would run the same words."""
    found, words = _unquoted_words(command)
    for word in words:
        if "[" in word and "]" in word[word.index("["):] and word.strip() not in ("[", "]"):
            found.append("glob [...]")
        if _BRACE_EXPANSION.search(word):
            found.append("brace expansion {...}")
    if words:
        first = words[0].strip()
        if first in _RESERVED_FIRST:
            found.append(f"reserved word {first!r}")
        elif _ASSIGNMENT.match(words[0]):
            found.append("VAR=value prefix (use env:)")
    return list(dict.fromkeys(found))
