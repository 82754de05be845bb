"""One text value, analysed as what its key says it is: shell, an argv, SQL, GraphQL, a plan.

A tool named `powershell`, `pwsh` or `cmd` (see `_winhosts.windows_dialect`) has its text
read as PowerShell or cmd.exe. Otherwise the tool's name is a hint only:
`{"args": ["delete", "pod", "x"]}` for a tool named `kubectl`
is read as `kubectl delete pod x`, and a database tool given bare SQL is read as SQL.
"""

from __future__ import annotations

import re
from functools import lru_cache

from interlock.risk.analyzers._findings import Finding, words
from interlock.risk.analyzers._http import analyze_graphql, words_of
from interlock.risk.analyzers._shctx import Stdin
from interlock.risk.analyzers._shell import (
    KNOWN_PROGRAMS,
    analyze_script,
    may_find,
    new_ctx,
    program,
    run_command,
)
from interlock.risk.analyzers._sql import analyze_sql
from interlock.risk.analyzers._winhosts import analyze_cmd, analyze_powershell, windows_dialect

__all__ = ["argv_findings", "graphql_findings", "shell_findings", "sql_findings", "tool_hints"]

_CACHE_TEXT = 4096


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=") for pair in text.split())


# Words of a tool's name that say which CLI its argv belongs to.
_HINTS = _pairs(
    "kubectl=kubectl k8s=kubectl kubernetes=kubectl kube=kubectl oc=oc helm=helm "
    "terraform=terraform tf=terraform tofu=tofu opentofu=tofu terragrunt=terragrunt aws=aws "
    "gcloud=gcloud gcp=gcloud gsutil=gsutil bq=bq az=az azure=az git=git curl=curl "
    "psql=psql postgres=psql postgresql=psql sql=psql database=psql db=psql mysql=mysql "
    "mariadb=mysql sqlite=sqlite3 sqlite3=sqlite3 interlock=interlock"
)
_SQL_HINTS = frozenset({"psql", "mysql", "sqlite3"})
# First words of SQL statements; `truncate` is also a program, and SQL wins for a database tool.
_SQL_FIRST = words(
    "select insert update delete drop truncate alter grant revoke create with begin explain "
    "do exec execute merge set show use copy vacuum analyze comment"
)
_HTTP_TOOL_WORDS = words("http https request requests api rest fetch curl call webhook")
_HTTP_TOOL_METHODS = frozenset({"delete", "put", "patch", "post"})
# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_FIRST_WORD = re.compile(r"\s*([^\s;&|()<>]+)")


@lru_cache(maxsize=512)
def tool_hints(tool: str) -> tuple[str, str]:
    """(CLI program, HTTP method) the tool's name suggests, or empty strings."""
    found = words_of(tool[:200])
    cli = next((_HINTS[w] for w in found if w in _HINTS), "")
    method = ""
    if _HTTP_TOOL_WORDS.intersection(found):
        method = next((w.upper() for w in found if w in _HTTP_TOOL_METHODS), "")
    return cli, method


def _bare_sql(hint: str, first: str) -> bool:
    """A database tool given SQL itself rather than a client command line."""
    return (
        hint in _SQL_HINTS
        and not first.startswith("-")
        and (first.lower() in _SQL_FIRST or program(first) not in KNOWN_PROGRAMS)
    )


def argv_findings(argv: list[str], tool: str) -> list[Finding]:
    """An argv list (every element already within the size bound)."""
    if not argv:
        return []
    hint = tool_hints(tool)[0]
    if _bare_sql(hint, argv[0]):
        return list(sql_findings(" ".join(argv)))
    if hint and program(argv[0]) not in KNOWN_PROGRAMS:
        argv = [hint, *argv]
    elif (dialect := windows_dialect(tool)) and argv[0][:1] in ("-", "/"):
        argv = [dialect, *argv]  # `["-Command", "..."]` for a tool named powershell
    ctx = new_ctx()
    run_command(argv, Stdin(), ctx)
    return ctx.out


# Agents repeat themselves (retries, re-assessment after an edit or a resume), so results
# for short texts are cached; findings are immutable, so sharing them is safe.
@lru_cache(maxsize=1024)
def _sql_cached(s: str) -> tuple[Finding, ...]:
    return tuple(analyze_sql(s))


@lru_cache(maxsize=1024)
def _graphql_cached(s: str) -> tuple[Finding, ...]:
    return tuple(analyze_graphql(s))


@lru_cache(maxsize=1024)
def _shell_cached(s: str, hint: str) -> tuple[Finding, ...]:
    if hint:
        m = _FIRST_WORD.match(s)
        first = m.group(1).strip("'\"") if m else ""
        if _bare_sql(hint, first):
            return sql_findings(s)
        if program(first) not in KNOWN_PROGRAMS:
            s = f"{hint} {s}"
    if not may_find(s):
        return ()
    ctx = new_ctx()
    analyze_script(s, ctx)
    return tuple(ctx.out)


def sql_findings(s: str) -> tuple[Finding, ...]:
    return _sql_cached(s) if len(s) <= _CACHE_TEXT else _sql_cached.__wrapped__(s)


def graphql_findings(s: str) -> tuple[Finding, ...]:
    return _graphql_cached(s) if len(s) <= _CACHE_TEXT else _graphql_cached.__wrapped__(s)


@lru_cache(maxsize=1024)
def _windows_cached(s: str, dialect: str) -> tuple[Finding, ...]:
    low = s.lower()
    if not may_find(s) and "delete" not in low:
        return ()
    ctx = new_ctx()
    (analyze_powershell if dialect == "powershell" else analyze_cmd)(s, ctx)
    return tuple(ctx.out)


def shell_findings(s: str, tool: str) -> tuple[Finding, ...]:
    # A tool named powershell, pwsh or cmd runs its text in that shell, not a POSIX one.
    if dialect := windows_dialect(tool):
        if len(s) <= _CACHE_TEXT:
            return _windows_cached(s, dialect)
        return _windows_cached.__wrapped__(s, dialect)
    hint = tool_hints(tool)[0]
    if len(s) <= _CACHE_TEXT:
        return _shell_cached(s, hint)
    return _shell_cached.__wrapped__(s, hint)
