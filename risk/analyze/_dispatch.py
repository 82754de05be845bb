"""Argument analyzers: find dangerous operations in a tool call's arguments.

Agents hold generic tools (`run_shell`, `sql`, `http_request`, `kubectl`) where the danger
is in the arguments. `analyze()` looks at the argument *keys* first and parses only values
under keys that name a command, a query, a request or a plan, so an ordinary call costs
about a microsecond:

- `command`/`cmd`/`script`/`shell`/`input` (or an argv list): a shell command line;
  `kubectl`, `terraform`, `aws`, `gcloud`, `az`, `git`, `psql`, `curl`... are followed into
  their own analyzers. The tool name is a hint only: `{"args": ["delete", "pod", "x"]}` for a
  tool named `kubectl` is read as `kubectl delete pod x`.
- `query`/`sql`/`statement`: SQL, unless it is a GraphQL document.
- `query`/`body`/`mutation`/`graphql`: GraphQL when it starts like one.
- `method` with `url`/`path`/`endpoint` in the same object: an HTTP request.
- `plan`/`output`/`stdout`: a Terraform plan that destroys resources.

Nested objects are searched to a depth of 8. Text values are read up to 100 KB; a longer
one is analysed up to that point and also reported as `analysis.incomplete`, as is any
internal error, so an argument that could not be checked is never silently passed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from interlock.risk.analyze._clitools import CLI_SIGNALS, analyze_terraform_plan
from interlock.risk.analyze._cloud import CLOUD_SIGNALS
from interlock.risk.analyze._findings import Finding, environment_of, words
from interlock.risk.analyze._http import (
    HTTP_SIGNALS,
    analyze_graphql,
    analyze_http,
    looks_like_graphql,
    words_of,
)
from interlock.risk.analyze._shctx import Ctx, Stdin
from interlock.risk.analyze._shell import (
    KNOWN_PROGRAMS,
    SHELL_SIGNALS,
    analyze_script,
    may_find,
    program,
    run_command,
)
from interlock.risk.analyze._sql import SQL_SIGNALS, analyze_sql

__all__ = ["SIGNALS", "Finding", "analyze"]

_log = logging.getLogger(__name__)

SIGNALS: Mapping[str, str] = MappingProxyType(
    {
        **SHELL_SIGNALS,
        **SQL_SIGNALS,
        **HTTP_SIGNALS,
        **CLI_SIGNALS,
        **CLOUD_SIGNALS,
        "analysis.incomplete": (
            "an argument was too large to analyse fully, or the analyzer failed on it"
        ),
    }
)

MAX_TEXT = 100_000
MAX_DEPTH = 8
_MAX_ITEMS = 1000
_MAX_NODES = 5000
_CACHE_TEXT = 4096

# Key kinds (bit flags).
_SHELL, _ARGV, _SQL, _GQL, _METHOD, _URL, _PLAN, _BODY, _ENVX, _ENVI = (1 << i for i in range(10))
_TEXT = _SHELL | _ARGV | _SQL | _GQL | _PLAN
_KEY_WORDS: dict[str, int] = {
    **dict.fromkeys(
        words(
            "command commands cmd cmds cmdline commandline script scripts shell bash sh zsh "
            "input run exec"
        ),
        _SHELL,
    ),
    **dict.fromkeys(("args", "argv", "arguments"), _ARGV),
    **dict.fromkeys(("sql", "queries", "statement", "statements", "stmt"), _SQL),
    "query": _SQL | _GQL,
    **dict.fromkeys(("mutation", "graphql", "gql", "document"), _GQL),
    "body": _BODY | _GQL,
    **dict.fromkeys(("data", "json", "payload"), _BODY),
    **dict.fromkeys(("method", "verb"), _METHOD),
    **dict.fromkeys(words("url uri path endpoint route href"), _URL),
    **dict.fromkeys(("plan", "output", "stdout", "diff"), _PLAN),
    **dict.fromkeys(words("environment env stage tier context profile workspace"), _ENVX),
    **dict.fromkeys(
        words(
            "namespace cluster project database db host hostname server dsn connection "
            "account subscription"
        ),
        _ENVI,
    ),
}


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=") for pair in text.split())


# Words of a tool's name that say which CLI its argv belongs to.
_HINTS = _pairs(
    "kubectl=kubectl k8s=kubectl kubernetes=kubectl kube=kubectl oc=oc helm=helm "
    "terraform=terraform tf=terraform tofu=tofu opentofu=tofu terragrunt=terragrunt aws=aws "
    "gcloud=gcloud gcp=gcloud gsutil=gsutil bq=bq az=az azure=az git=git curl=curl "
    "psql=psql postgres=psql postgresql=psql sql=psql database=psql db=psql mysql=mysql "
    "mariadb=mysql sqlite=sqlite3 sqlite3=sqlite3"
)
_SQL_HINTS = frozenset({"psql", "mysql", "sqlite3"})
# First words of SQL statements; `truncate` is also a program, and SQL wins for a database tool.
_SQL_FIRST = words(
    "select insert update delete drop truncate alter grant revoke create with begin explain "
    "do exec execute merge set show use copy vacuum analyze comment"
)
_HTTP_TOOL_WORDS = words("http https request requests api rest fetch curl call webhook")
_HTTP_TOOL_METHODS = frozenset({"delete", "put", "patch", "post"})
_FIRST_WORD = re.compile(r"\s*([^\s;&|()<>]+)")


@lru_cache(maxsize=2048)
def _key_kind(key: str) -> int:
    words = words_of(key[:100])
    if not words:
        return 0
    # The last word is the head noun (`sql_query`, `shell_command`, `query_params`); the
    # first counts when the last says nothing (`sql_text`, `command_line`).
    return _KEY_WORDS.get(words[-1], 0) or _KEY_WORDS.get(words[0], 0)


@lru_cache(maxsize=512)
def _tool_hints(tool: str) -> tuple[str, str]:
    """(CLI program, HTTP method) the tool's name suggests, or empty strings."""
    words = words_of(tool[:200])
    cli = next((_HINTS[w] for w in words if w in _HINTS), "")
    method = ""
    if _HTTP_TOOL_WORDS.intersection(words):
        method = next((w.upper() for w in words if w in _HTTP_TOOL_METHODS), "")
    return cli, method


_SCALARS = (int, float, bool, type(None))
_MAPPINGS = (dict, MappingProxyType)
_PARSED = _TEXT | _METHOD | _URL
_KIND_CACHE: dict[Any, int] = {}


def _kind(key: Any) -> int:
    kind = _KIND_CACHE.get(key)
    if kind is None:
        kind = _key_kind(key) if type(key) is str else 0
        if len(_KIND_CACHE) < 4096:
            _KIND_CACHE[key] = kind
    return kind


def analyze(tool: str, args: Mapping[str, Any]) -> tuple[Finding, ...]:
    """Findings for one tool call; () when nothing dangerous is recognised. Never raises."""
    try:
        given: object = args  # callers outside mypy's reach may pass anything
        if type(given) not in _MAPPINGS and not isinstance(given, Mapping):
            return ()
        # Fast path: flat arguments under keys that name nothing we parse.
        for k, v in args.items():
            if type(v) in _SCALARS or (type(v) is str and not _kind(k) & _PARSED):
                continue
            break
        else:
            return ()
        walk = _Walk(tool if isinstance(tool, str) else "")
        walk.mapping(args, 0)
        out = walk.out
        return (out[0],) if len(out) == 1 else _dedupe(out) if out else ()
    except Exception:  # never raise: report that the arguments were not fully checked
        _log.warning("argument analysis failed for tool %r", tool, exc_info=True)
        return (_incomplete("the analyzer failed on these arguments"),)


def _incomplete(why: str) -> Finding:
    text = f"Interlock could not fully check the arguments ({why}); read them before approving."
    return Finding(signal="analysis.incomplete", effect="write", text=text)


def _dedupe(found: list[Finding]) -> tuple[Finding, ...]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for f in found:
        key = (f.signal, f.effect, f.text)
        if key not in seen or (seen[key].environment is None and f.environment):
            seen[key] = f
    return tuple(seen.values())


class _Walk:
    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.out: list[Finding] = []
        self.nodes = 0

    def mapping(self, m: Mapping[Any, Any], depth: int) -> None:
        start = len(self.out)
        method = url = envx = envi = None
        body: Any = None
        self.nodes += len(m)
        if self.nodes > _MAX_NODES:
            return
        for k, v in m.items():
            t = type(v)
            if t in _SCALARS:
                continue
            kind = _kind(k)
            if t is str or isinstance(v, str):
                if not kind:
                    continue
                if kind & _TEXT:
                    self.text(kind, v)
                if kind & _METHOD:
                    method = v
                elif kind & _URL:
                    url = v
                elif kind & _BODY:
                    body = v
                elif kind & _ENVX:
                    envx = v
                elif kind & _ENVI:
                    envi = v
            elif t is list or t is tuple:
                if v:
                    self.sequence(v, kind, depth)
            elif t is dict or isinstance(v, Mapping):
                if kind & _BODY:
                    body = v
                if depth < MAX_DEPTH:
                    self.mapping(v, depth + 1)
            elif isinstance(v, list | tuple) and v:  # subclasses: rare, so checked last
                self.sequence(v, kind, depth)
        if url is not None or method is not None:
            self.http(method, url, body)
        if len(self.out) > start and (envx or envi):
            env = environment_of(envx, explicit=True) or environment_of(envi, explicit=False)
            if env:
                for i in range(start, len(self.out)):
                    if self.out[i].environment is None:
                        self.out[i] = replace(self.out[i], environment=env)

    def sequence(self, v: Sequence[Any], kind: int, depth: int) -> None:
        items = v[:_MAX_ITEMS]
        # `["bash", "-c", "..."]` is one argv; `["ls", "rm -rf x"]` is a list of commands.
        if (
            kind & (_ARGV | _SHELL)
            and all(type(x) is str for x in items)
            and (kind & _ARGV or program(items[0]) in KNOWN_PROGRAMS)
        ):
            self.argv(list(items))
            return
        self.nodes += len(items)
        if self.nodes > _MAX_NODES or depth >= MAX_DEPTH:
            return
        text_kind = kind & _TEXT
        for item in items:
            t = type(item)
            if t in _SCALARS or (t is str and not text_kind):
                continue
            if t is list or t is tuple:
                if item:
                    self.sequence(item, kind, depth + 1)
            elif t is dict or isinstance(item, Mapping):
                self.mapping(item, depth + 1)
            elif isinstance(item, list | tuple) and item:
                self.sequence(item, kind, depth + 1)
            elif isinstance(item, str) and kind & _TEXT:
                self.text(kind, item)

    def text(self, kind: int, s: str) -> None:
        try:
            self._text(kind, s)
        except Exception:  # one bad value must not hide what the others show
            _log.warning("argument analysis failed on a value of %r", self.tool, exc_info=True)
            self.out.append(_incomplete("the analyzer failed on one value"))

    def _text(self, kind: int, s: str) -> None:
        if len(s) > MAX_TEXT:
            s = s[:MAX_TEXT]
            self.out.append(_incomplete(f"a value is longer than {MAX_TEXT // 1000} KB"))
        if kind & _GQL and looks_like_graphql(s):
            self.out.extend(_graphql(s))
        elif kind & _SQL:
            self.out.extend(_sql(s))
        elif kind & (_SHELL | _ARGV):
            self.out.extend(_shell(s, _tool_hints(self.tool)[0]))
        elif kind & _PLAN:
            self.out.extend(analyze_terraform_plan(s))

    def argv(self, argv: list[str]) -> None:
        try:
            self._argv(argv)
        except Exception:
            _log.warning("argument analysis failed on an argv of %r", self.tool, exc_info=True)
            self.out.append(_incomplete("the analyzer failed on one value"))

    def _argv(self, argv: list[str]) -> None:
        if not argv:
            return
        hint = _tool_hints(self.tool)[0]
        if _bare_sql(hint, argv[0]):
            self.out.extend(_sql(" ".join(argv)))
            return
        if hint and program(argv[0]) not in KNOWN_PROGRAMS:
            argv = [hint, *argv]
        ctx = Ctx(out=[], vars={})
        run_command([a[:MAX_TEXT] for a in argv], Stdin(), ctx)
        self.out.extend(ctx.out)

    def http(self, method: Any, url: Any, body: Any) -> None:
        if not isinstance(method, str):
            method = _tool_hints(self.tool)[1]
            if not method:
                return
        if not isinstance(url, str):
            url = ""
        # A GraphQL body in an object is found by the walk itself; a string one is not.
        self.out.extend(analyze_http(method, url, body, graphql=isinstance(body, str)))


def _bare_sql(hint: str, first: str) -> bool:
    """A database tool given SQL itself rather than a client command line."""
    return (
        hint in _SQL_HINTS
        and not first.startswith("-")
        and (first.lower() in _SQL_FIRST or program(first) not in KNOWN_PROGRAMS)
    )


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
            return _sql(s)
        if program(first) not in KNOWN_PROGRAMS:
            s = f"{hint} {s}"
    if not may_find(s):
        return ()
    ctx = Ctx(out=[], vars={})
    analyze_script(s, ctx)
    return tuple(ctx.out)


def _sql(s: str) -> tuple[Finding, ...]:
    return _sql_cached(s) if len(s) <= _CACHE_TEXT else _sql_cached.__wrapped__(s)


def _graphql(s: str) -> tuple[Finding, ...]:
    return _graphql_cached(s) if len(s) <= _CACHE_TEXT else _graphql_cached.__wrapped__(s)


def _shell(s: str, hint: str) -> tuple[Finding, ...]:
    if len(s) <= _CACHE_TEXT:
        return _shell_cached(s, hint)
    return _shell_cached.__wrapped__(s, hint)
