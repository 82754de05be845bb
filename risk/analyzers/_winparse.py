"""Tokenizers for PowerShell and cmd.exe text: simple commands, pipes, and nested blocks.

Both follow their shell's quoting closely enough to find programs and their arguments.
Backslashes are ordinary characters (Windows paths survive); PowerShell escapes with a
backtick and cmd with a caret. PowerShell's `(...)`, `$(...)`, `@(...)` and `{...}` become
one placeholder word of the command they belong to, and their text is returned so the
caller analyses it as PowerShell too: `Invoke-Command { Remove-Item ... }`,
`if (...) { ... }`, `ForEach-Object { ... }`. cmd's parentheses only group commands.
"""

from __future__ import annotations

import re

from interlock.risk.analyzers._shparse import Cmd

__all__ = ["BLOCK", "cmd_parse", "ps_parse", "win_program"]

BLOCK = "(…)"  # the placeholder word for a PowerShell block or subexpression

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_PS_TOKEN = re.compile(
    r"""
    [ \t\r\f\v]+ | `\r?\n
    | <\#.*?(?:\#>|\Z)
    | (?<![^\s;|{}()])\#[^\n]*
    | (?P<open>[$@]\(|@\{|[({])
    | (?P<close>[)}])
    | (?P<op>&&|\|\||[;|\n])
    | (?P<redir>[\d*]?>>?(?:&\d)?|<)
    | (?P<call>&)
    | (?P<word>(?:[^\s'"`;|&{}()<>\#]+|\#|'[^']*'?|"(?:[^"`]|`.)*"?|`.?)+)
    """,
    re.X | re.S,
)
_PS_PIECE = re.compile(r"""'([^']*)'?|"((?:[^"`]|`.)*)"?|`(.?)|([^'"`]+)""", re.S)
_PS_TICK = re.compile(r"`(.)", re.S)
_PS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "", "a": "", "b": "", "f": "", "v": ""}
# `$(...)` inside a double-quoted string runs when the string is expanded.
_PS_SUBEXPR = re.compile(r"\$\(([^()]*)\)?")

_CMD_TOKEN = re.compile(
    r"""
    [ \t\r\f\v]+ | \^\r?\n
    | (?P<op>&&|\|\||[&|\n])
    | (?P<paren>[()])
    | (?P<redir>\d?>>?(?:&\d)?|<)
    | (?P<word>(?:[^\s"^&|<>()]+|"[^"]*"?|\^.?)+)
    """,
    re.X | re.S,
)
_CMD_PIECE = re.compile(r'"([^"]*)"?|\^(.?)|([^"^]+)', re.S)


def win_program(word: str) -> str:
    """`C:\\Windows\\System32\\vssadmin.exe` -> `vssadmin`; cmdlet names in lower case."""
    name = word.replace("/", "\\").rsplit("\\", 1)[-1].lower().lstrip("@")
    for ext in (".exe", ".com", ".cmd", ".bat"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def _escape(m: re.Match[str]) -> str:
    return _PS_ESCAPES.get(m.group(1), m.group(1))


def _ps_unquote(raw: str) -> str:
    if "'" not in raw and '"' not in raw and "`" not in raw:
        return raw
    parts: list[str] = []
    for m in _PS_PIECE.finditer(raw):
        single, double, tick, plain = m.groups()
        if single is not None:
            parts.append(single)
        elif double is not None:
            parts.append(_PS_TICK.sub(_escape, double))
        elif tick is not None:
            parts.append(tick)
        elif plain is not None:
            parts.append(plain)
    return "".join(parts)


def ps_parse(text: str) -> tuple[list[Cmd], list[str]]:
    """PowerShell statements and pipeline elements, and the text of the blocks inside them."""
    cmds: list[Cmd] = []
    subs: list[str] = []
    cur = Cmd()
    redir = ""
    depth = 0
    start = 0
    for m in _PS_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        if depth:
            if kind == "open":
                depth += 1
            elif kind == "close":
                depth -= 1
                if depth == 0:
                    subs.append(text[start : m.start()])
            continue
        tok = m.group(kind)
        if kind == "open":
            depth, start = 1, m.end()
            cur.words.append(BLOCK)
        elif kind == "close":
            continue  # unbalanced: ignore
        elif kind == "op":
            if cur.words:
                cmds.append(cur)
            cur, redir = Cmd(piped=tok == "|"), ""
        elif kind == "redir":
            redir = tok
        elif kind == "word":
            if '"' in tok and "$(" in tok:
                subs.extend(_PS_SUBEXPR.findall(tok))
            word = _ps_unquote(tok)
            if redir:
                cur.redirs.append((redir, word))
                redir = ""
            else:
                cur.words.append(word)
    if depth:
        subs.append(text[start:])  # an unclosed block still runs what it holds
    if cur.words:
        cmds.append(cur)
    return cmds, subs


def _cmd_unquote(raw: str) -> str:
    if '"' not in raw and "^" not in raw:
        return raw
    parts: list[str] = []
    for m in _CMD_PIECE.finditer(raw):
        quoted, caret, plain = m.groups()
        parts.append(quoted if quoted is not None else caret if caret is not None else plain)
    return "".join(parts)


def cmd_parse(text: str) -> list[Cmd]:
    """cmd.exe commands in order; `echo ... | prog` gives prog the echoed text on stdin."""
    cmds: list[Cmd] = []
    cur = Cmd()
    redir = ""
    echoed: list[str] = []
    depth = 0
    glued = -1  # where the last word ended: `Everyone:(OI)(CI)F` is one word
    for m in _CMD_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        tok = m.group(kind)
        if kind == "paren":
            # Parentheses group commands at a command's start (and after `if`/`else`) and
            # close such a group; anywhere else they are text (`for %f in (*)`, icacls).
            head = cur.words[0].lower().lstrip("@") if cur.words else ""
            if (tok == "(" and head in ("", "if", "else")) or (tok == ")" and depth):
                depth += 1 if tok == "(" else -1
                kind = "op"
            elif cur.words and glued == m.start():
                cur.words[-1] += tok
                glued = m.end()
                continue
            else:
                kind = "word"
        if kind == "op":
            if cur.words:
                cmds.append(cur)
                if win_program(cur.words[0]) == "echo":
                    echoed.append(" ".join(cur.words[1:]))
            cur, redir = Cmd(piped=tok == "|"), ""
            if cur.piped:
                # `(echo select disk 1 & echo clean) | diskpart`: every line echoed so far
                cur.stdin = "\n".join(echoed)
        elif kind == "redir":
            redir = tok
        else:
            word = _cmd_unquote(tok)
            if redir:
                cur.redirs.append((redir, word))
                redir = ""
            elif cur.words and glued == m.start():
                cur.words[-1] += word
            else:
                cur.words.append(word)
            glued = m.end()
    if cur.words:
        cmds.append(cur)
    return cmds
