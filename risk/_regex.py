"""Patterns a policy supplies (`regex:`, `glob:`, `tool:` and `agent:` globs), matched in
linear time.

An agent chooses its arguments, so a pattern with catastrophic backtracking (`^(a+)+$`)
would let it stall the gate. Every policy pattern therefore runs on RE2 (`google-re2`), whose
matching time is linear in the text whatever the pattern. RE2 has no backreferences and no
lookahead or lookbehind; a pattern that needs them is a policy error, with the fix in the
message. Python's verbose flag `(?x)` is honoured here (RE2 lacks it): whitespace and
`# comments` outside character classes are removed before compiling, as Python would.

Globs need no regular expression at all when they only use `*` (most do): they are matched
with string operations. Globs with `?` or `[...]` are translated to RE2.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import methodcaller
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

__all__ = ["PatternError", "compile_glob", "compile_regex"]

Matcher = Callable[[str], bool]


class PatternError(ValueError):
    """A pattern RE2 cannot run; the message says why and how to fix it."""


# Fixed, linear patterns over the policy author's pattern text, not over agent input.
_FLAGS = re.compile(r"\A\(\?([a-zA-Z]+)\)")
_HINTS = (
    (re.compile(r"invalid escape sequence: \\[1-9]"), "backreferences are not supported"),
    (re.compile(r"invalid perl operator: \(\?<?[=!]"), "lookaround is not supported"),
    (re.compile(r"invalid escape sequence: \\Z"), r"write the end of the text as \z"),
    (re.compile(r"too large|bad repetition"), "the pattern is too large or repeats too much"),
)


def _options(ignore_case: bool, dot_nl: bool = False) -> Any:
    opts = re2.Options()
    opts.log_errors = False  # errors become PolicyErrors; RE2 must not print them too
    opts.never_capture = True  # only "does it match" is asked
    opts.case_sensitive = not ignore_case
    opts.dot_nl = dot_nl
    return opts


_REGEX_FIX = (
    "Policy patterns use RE2 syntax, which matches in linear time: no backreferences, no "
    "lookahead or lookbehind. Rewrite it, or split it into a `regex:` and a `not:` condition."
)
_GLOB_FIX = "Globs take `*`, `?`, `[seq]` and `[!seq]`; fix the character class."


def _matcher(pattern: str, opts: Any, shown: str, what: str) -> Matcher:
    try:
        compiled = re2.compile(pattern, opts)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        hint = next((f"; {h}" for rx, h in _HINTS if rx.search(detail)), "")
        fix = _GLOB_FIX if what == "glob" else _REGEX_FIX
        msg = f"{what} {shown!r} cannot run on RE2 ({detail}{hint}). {fix}"
        raise PatternError(msg) from None
    # google-re2's `search` builds a generator and a match object per call (~8 µs); the gate
    # only needs yes or no, so the compiled program is asked directly (~1 µs) when the
    # binding exposes it, and through the public API otherwise.
    program = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "Anchor", None)
    if program is None or anchor is None or not hasattr(program, "Match"):
        return lambda s: compiled.search(s) is not None
    match, unanchored = program.Match, anchor.UNANCHORED
    miss = (-1, -1)

    def search(s: str) -> bool:
        # surrogatepass: a lone surrogate in agent text must not turn a check into an error.
        b = s.encode("utf-8", "surrogatepass")
        return bool(match(unanchored, b, 0, len(b))[0] != miss)

    return search


def _unverbose(p: str) -> str:
    """Python's verbose mode: drop whitespace and `# comments` outside classes and escapes."""
    out: list[str] = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            out.append(p[i : i + 2])
            i += 2
        elif c == "[":
            j = i + 1
            j += j < n and p[j] == "^"
            j += j < n and p[j] == "]"
            while j < n and p[j] != "]":
                j += 2 if p[j] == "\\" else 1
            out.append(p[i : j + 1])
            i = j + 1
        elif c == "#":
            while i < n and p[i] != "\n":
                i += 1
        else:
            if not c.isspace():
                out.append(c)
            i += 1
    return "".join(out)


def _short(pattern: str) -> str:
    text = " ".join(pattern.split())
    return text if len(text) <= 60 else text[:59] + "…"


def compile_regex(pattern: str, *, ignore_case: bool = True) -> Matcher:
    """A search for `pattern` (RE2 syntax, plus Python's `(?x)`); raises PatternError."""
    shown = _short(pattern)
    m = _FLAGS.match(pattern)
    if m and "x" in m.group(1):
        flags = m.group(1).replace("x", "")
        pattern = (f"(?{flags})" if flags else "") + _unverbose(pattern[m.end() :])
    return _matcher(pattern, _options(ignore_case), shown, "regular expression")


def _glob_re2(pat: str) -> str:
    """fnmatch's rules in RE2 syntax: `*`, `?`, `[seq]`, `[!seq]`; an open `[` is literal."""
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + (i < n and pat[i] == "!")
            j += j < n and pat[j] == "]"
            j = pat.find("]", j)
            if j < 0:
                out.append(re2.escape("["))
                continue
            body, i = pat[i:j], j + 1
            neg = body.startswith("!")
            body = body[1:] if neg else body
            body = "".join("\\" + ch if ch in "\\[]^" else ch for ch in body)
            out.append(f"[{'^' if neg else ''}{body}]")
        else:
            out.append(re2.escape(c))
    return "^(?:" + "".join(out) + ")$"


def _star_glob(parts: list[str]) -> Matcher:
    """A glob of literals and `*` only: prefix, suffix and the middle pieces in order."""
    first, last, middle = parts[0], parts[-1], parts[1:-1]
    least = len(first) + len(last) + sum(map(len, middle))

    def match(s: str) -> bool:
        if len(s) < least or not s.startswith(first) or not s.endswith(last):
            return False
        pos, end = len(first), len(s) - len(last)
        for piece in middle:
            pos = s.find(piece, pos, end)
            if pos < 0:
                return False
            pos += len(piece)
        return True

    return match


def compile_glob(patterns: list[str], *, ignore_case: bool = False) -> Matcher:
    """True when the whole string matches any of the shell-style `patterns`.

    The common shapes (`name`, `prefix*`, `*suffix`) become one C-level set lookup or
    `str.startswith`/`endswith` with a tuple, as fast as the regex they replace.
    """
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    checks: list[Matcher] = []
    for pat in patterns:
        key = pat.lower() if ignore_case else pat
        stars = key.count("*")
        if "?" in pat or "[" in pat:
            opts = _options(ignore_case, dot_nl=True)
            checks.append(_matcher(_glob_re2(pat), opts, _short(pat), "glob"))
        elif not stars:
            exact.add(key)
        elif stars == 1 and key.endswith("*"):
            prefixes.append(key[:-1])
        elif stars == 1 and key.startswith("*"):
            suffixes.append(key[1:])
        else:
            checks.append(_star_glob(key.split("*")))
    if suffixes:
        checks.insert(0, methodcaller("endswith", tuple(suffixes)))
    if prefixes:
        checks.insert(0, methodcaller("startswith", tuple(prefixes)))
    if exact:
        checks.insert(0, frozenset(exact).__contains__)
    if not checks:
        return lambda s: False
    if len(checks) == 1:
        one = checks[0]
    else:

        def one(s: str) -> bool:
            return any(check(s) for check in checks)

    if ignore_case:
        return lambda s: one(s.lower())
    return one
