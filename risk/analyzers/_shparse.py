"""Shell tokenizer: words, operators, redirections, here-documents, substitutions.

A precompiled regex follows POSIX quoting closely enough to find programs and their
arguments: `;`, `&&`, `||`, `|`, `&`, newlines and parentheses separate commands; quotes and
backslashes are removed from words; `# comments` are dropped; here-document bodies and
here-strings become the command's stdin; `$(...)`, backticks and `<(...)` are returned so
the caller can analyse them as commands too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Cmd", "parse", "unquote"]

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_TOKEN = re.compile(
    r"""
    [ \t\r\f\v]+ | \\\n
    | (?<![^\s;&|()<>])\#[^\n]*
    | (?P<op>&&|\|\||;;&?|\|&|[;&|()\n])
    | (?P<procsub>[<>]\([^()]*\)?)
    | (?P<redir>\d*(?:>>|>\||>&|<<<|<<-?|<>|<&|[<>])|&>>?)
    | (?P<word>(?:[^\s'"\\;&|()<>`$\#]+|\#|'[^']*'?|"(?:[^"\\]|\\.)*"?|\\.?
                 |\$\([^()]*\)?|\$\{[^}]*\}?|\$|`[^`]*`?)+)
    """,
    re.X | re.S,
)
_PIECE = re.compile(r"""'([^']*)'?|"((?:[^"\\]|\\.)*)"?|\\(.)|([^'"\\]+)|\\""", re.S)
_DQ_ESCAPE = re.compile(r'\\([\\"$`\n])')
_SINGLE = re.compile(r"'[^']*'")
_SUBST = re.compile(r"\$\(([^()]*)\)?|`([^`]*)`?|[<>]\(([^()]*)\)?")
_HEREDOC = re.compile(r"(?<!<)<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([^\s;&|<>()]+))")


@dataclass
class Cmd:
    words: list[str] = field(default_factory=list)
    redirs: list[tuple[str, str]] = field(default_factory=list)
    piped: bool = False
    stdin: str | None = None


def unquote(raw: str) -> str:
    if "'" not in raw and '"' not in raw and "\\" not in raw:
        return raw
    parts: list[str] = []
    for m in _PIECE.finditer(raw):
        single, double, escaped, plain = m.groups()
        if single is not None:
            parts.append(single)
        elif double is not None:
            parts.append(_DQ_ESCAPE.sub(r"\1", double))
        elif escaped is not None:
            parts.append("" if escaped == "\n" else escaped)
        elif plain is not None:
            parts.append(plain)
    return "".join(parts)


def _cut_heredocs(text: str) -> tuple[str, list[str]]:
    """Remove here-document bodies from the text; return them in order."""
    bodies: list[str] = []
    pos = 0
    while len(bodies) < 20:
        m = _HEREDOC.search(text, pos)
        if m is None:
            break
        delim = m.group(2) or m.group(3) or m.group(4) or ""
        nl = text.find("\n", m.end())
        if nl < 0 or not delim:
            break
        lines = text[nl + 1 :].split("\n")
        strip = "\t" if m.group(1) else ""
        end = next((k for k, line in enumerate(lines) if line.lstrip(strip) == delim), len(lines))
        bodies.append("\n".join(lines[:end]))
        rest = "\n".join(lines[end + 1 :])
        text = text[: nl + 1] + rest
        pos = m.end()
    return text, bodies


# Text with no quoting, expansion, redirection, grouping or comment characters splits on
# operators and blanks alone; most agent commands take this path, at a fraction of the cost.
_PLAIN = re.compile(r"[^'\"\\`$#<>()]*")
_OPS = re.compile(r"(&&|\|\||;;&?|\|&|[;&|\n])")


def _parse_plain(text: str) -> list[Cmd]:
    cmds: list[Cmd] = []
    piped = False
    for i, part in enumerate(_OPS.split(text)):
        if i % 2:
            piped = part in ("|", "|&")
            continue
        words = part.split()
        if words:
            cmds.append(Cmd(words=words, piped=piped))
        piped = False
    return cmds


def parse(text: str) -> tuple[list[Cmd], list[str]]:
    """Simple commands (with pipes, redirections and stdin) and the command substitutions."""
    if _PLAIN.fullmatch(text):
        return _parse_plain(text), []
    text, bodies = _cut_heredocs(text) if "<<" in text else (text, [])
    cmds: list[Cmd] = []
    subs: list[str] = []
    cur = Cmd()
    redir = ""
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        tok = m.group(kind)
        if kind == "op":
            if cur.words or cur.redirs:
                cmds.append(cur)
            cur, redir = Cmd(piped=tok in ("|", "|&")), ""
        elif kind == "redir":
            redir = tok.lstrip("0123456789&")
            if redir in ("<<", "<<-") and bodies:
                cur.stdin = bodies.pop(0)  # the next word is the delimiter: dropped below
        elif kind == "procsub":
            subs.append(tok[2:].rstrip(")"))
            cur.words.append(tok)
        else:
            if "$(" in tok or "`" in tok:
                subs.extend(a or b or c for a, b, c in _SUBST.findall(_SINGLE.sub("", tok)))
            if redir:
                if redir == "<<<":
                    cur.stdin = unquote(tok)
                elif redir not in ("<<", "<<-"):
                    cur.redirs.append((redir, unquote(tok)))
                redir = ""
            else:
                cur.words.append(unquote(tok))
    if cur.words or cur.redirs:
        cmds.append(cur)
    return cmds, subs
