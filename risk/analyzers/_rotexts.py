"""The verdict (read, write or destroy) for one argument value, read as its key says.

The same hints as the findings (`_texts`): a tool named `kubectl` given `get pods` runs
`kubectl get pods`, a database tool given bare SQL runs SQL. Results for short texts are
cached: agents repeat themselves, and verdicts are immutable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from interlock.risk.analyzers._findings import Finding, words
from interlock.risk.analyzers._http import words_of
from interlock.risk.analyzers._readonly import classify_argv, classify_script
from interlock.risk.analyzers._rodata import graphql_verdict, http_verdict, sql_verdict
from interlock.risk.analyzers._shell import KNOWN_PROGRAMS, program
from interlock.risk.analyzers._texts import tool_hints
from interlock.risk.analyzers._verdict import HTTP_READ, Verdict, write

__all__ = [
    "argv_verdict",
    "graphql_text_verdict",
    "implied_method",
    "request_verdict",
    "shell_verdict",
    "sql_text_verdict",
]

_CACHE_TEXT = 4096
_SQL_HINTS = frozenset({"psql", "mysql", "sqlite3"})
_SQL_FIRST = words(
    "select insert update delete drop truncate alter grant revoke create with begin explain "
    "do exec execute merge set show use copy vacuum analyze comment table values pragma"
)
# Windows shells have analyzers of their own; their commands are not classified here.
_WINDOWS = words("powershell pwsh ps1")
_POSIX = words("terminal shell bash sh zsh")
_FIRST_WORD = re.compile(r"\s*([^\s;&|()<>]+)")


def _windows(tool: str) -> bool:
    found = words_of(tool[:200])
    if not _WINDOWS.isdisjoint(found[:-1] if found[-1:] == ["cmd"] else found):
        return True
    # `cmd` is cmd.exe, but `run_terminal_cmd` (Cursor) is a POSIX terminal.
    return found[-1:] == ["cmd"] and _POSIX.isdisjoint(found)


def _bare_sql(hint: str, first: str) -> bool:
    return (
        hint in _SQL_HINTS
        and not first.startswith("-")
        and (first.lower() in _SQL_FIRST or program(first) not in KNOWN_PROGRAMS)
    )


@lru_cache(maxsize=1024)
def _shell_cached(s: str, tool: str) -> Verdict:
    if _windows(tool):
        return write(s, "is a Windows shell command, not classified as read-only")
    hint = tool_hints(tool)[0]
    if hint:
        m = _FIRST_WORD.match(s)
        first = m.group(1).strip("'\"") if m else ""
        if _bare_sql(hint, first):
            return sql_verdict(s)
        if program(first) not in KNOWN_PROGRAMS:
            s = f"{hint} {s}"
    return classify_script(s)


def shell_verdict(s: str, tool: str) -> Verdict:
    return _shell_cached(s, tool) if len(s) <= _CACHE_TEXT else _shell_cached.__wrapped__(s, tool)


def argv_verdict(argv: list[str], tool: str) -> Verdict:
    if _windows(tool):
        return write(argv, "is a Windows shell command, not classified as read-only")
    hint = tool_hints(tool)[0]
    if _bare_sql(hint, argv[0]):
        return sql_text_verdict(" ".join(argv))
    if hint and program(argv[0]) not in KNOWN_PROGRAMS:
        argv = [hint, *argv]
    return classify_argv(argv)


def sql_text_verdict(s: str) -> Verdict:
    return sql_verdict(s) if len(s) <= _CACHE_TEXT else sql_verdict.__wrapped__(s)


def graphql_text_verdict(s: str) -> Verdict:
    return graphql_verdict(s)


# Words of a tool's name that say it makes HTTP requests (`fetch`, `WebFetch`, `http_get`).
_HTTP_TOOL = words("http https request requests fetch curl webfetch web api rest get url")


def implied_method(tool: str, url: Any, body: Any) -> str:
    """The method of a request given without one to a tool named for HTTP: GET, or POST
    with a body; "" when the tool is not an HTTP tool or the URL is not a URL."""
    if not isinstance(url, str) or "://" not in url[:20]:
        return ""
    found = words_of(tool[:200])
    if _HTTP_TOOL.isdisjoint(found) or not {
        "http",
        "https",
        "fetch",
        "request",
        "requests",
        "curl",
        "api",
        "rest",
    } & set(found):
        return ""
    return "GET" if body is None else "POST"


def request_verdict(method: str, url: str, body: Any) -> Verdict:
    """An HTTP request given as method and URL; a read also carries `http.read`."""
    v = http_verdict(method, url, body)
    if v.kind != "read":
        return v
    return Verdict("read", v.reason, (Finding(signal=HTTP_READ, effect="read", text=v.reason),))
