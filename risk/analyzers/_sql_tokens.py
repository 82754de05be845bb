"""SQL tokens: a tolerant tokenizer and the small walks over its output that the analyzer
uses (qualified names, a keyword at paren depth 0, splitting on a keyword)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "TOKEN",
    "Tok",
    "find_word",
    "name_at",
    "names_at",
    "split_on",
    "strip_parens",
    "tokens",
]


# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
TOKEN = re.compile(
    r"""
    \A[ \t]*\#[^\n]* | \n[ \t]*(?:\#[^\n]*)? | \s+
    | --[^\n]*
    | /\*.*?(?:\*/|\Z)
    | (?P<estr>[Ee]'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<str>[NnBbXx]?'(?:[^']|'')*(?:'|\Z))
    | (?P<dollar>\$(?P<tag>(?:[A-Za-z_]\w*)?)\$(?P<body>.*?)(?:\$(?P=tag)\$|\Z))
    | (?P<qid>"(?:[^"]|"")*(?:"|\Z)|`[^`]*(?:`|\Z)|\[[^\]\n]*\])
    | (?P<word>[^\W\d][\w$]*)
    | (?P<num>\d+(?:\.\d*)?)
    | (?P<op><>|!=|<=|>=|::|\S)
    """,
    re.S | re.X,
)

# A token: (kind, normalised value, display text). Kinds: w(ord), i(dentifier), s(tring),
# n(umber), o(perator).
Tok = tuple[str, str, str]


def tokens(sql: str) -> list[Tok]:
    out: list[Tok] = []
    for m in TOKEN.finditer(sql):
        kind = m.lastgroup
        if kind is None:
            continue
        text = m.group(kind)
        if kind == "dollar":
            out.append(("s", "$$", m.group("body")))
            continue
        if kind == "word":
            out.append(("w", text.upper(), text))
        elif kind == "qid":
            name = text[1:-1] if len(text) > 1 else text[1:]
            out.append(("i", name.upper(), name))
        elif kind in ("str", "estr"):
            body = text[text.index("'") + 1 :]
            body = body[:-1] if body.endswith("'") else body
            out.append(("s", "'" + body + "'", body))
        elif kind == "num":
            out.append(("n", text, text))
        else:
            out.append(("o", text.upper(), text))
    return out


def name_at(toks: Sequence[Tok], i: int) -> tuple[str, int]:
    """The (possibly qualified) name starting at `i`, and the index after it."""
    parts: list[str] = []
    while i < len(toks) and toks[i][0] in "wi":
        parts.append(toks[i][2])
        if i + 2 < len(toks) and toks[i + 1][1] == "." and toks[i + 2][0] in "wi":
            i += 2
            continue
        i += 1
        break
    return ".".join(parts), i


def names_at(toks: Sequence[Tok], i: int, stop: frozenset[str] = frozenset()) -> list[str]:
    names: list[str] = []
    while i < len(toks):
        if toks[i][1] in stop:
            break
        name, j = name_at(toks, i)
        if not name:
            break
        names.append(name)
        if j < len(toks) and toks[j][1] == "*":
            j += 1
        if j < len(toks) and toks[j][1] == ",":
            i = j + 1
            continue
        break
    return names


def find_word(toks: Sequence[Tok], i: int, word: str, within: int) -> int:
    depth = 0
    for j in range(i, min(len(toks), i + within)):
        v = toks[j][1]
        if v == "(":
            depth += 1
        elif v == ")":
            depth -= 1
            if depth < 0:
                return -1
        elif depth == 0 and v == word and toks[j][0] == "w":
            return j
    return -1


def strip_parens(toks: list[Tok]) -> list[Tok]:
    while len(toks) >= 2 and toks[0][1] == "(" and toks[-1][1] == ")":
        toks = toks[1:-1]
    return toks


def split_on(toks: Sequence[Tok], word: str) -> list[list[Tok]]:
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t[1] == "(":
            depth += 1
        elif t[1] == ")":
            depth -= 1
        if depth == 0 and t[1] == word and t[0] == "w":
            parts.append([])
        else:
            parts[-1].append(t)
    return parts
