"""Argument analyzers: find dangerous operations in a tool call's arguments.

Agents hold generic tools (`run_shell`, `sql`, `http_request`, `kubectl`) where the danger
is in the arguments. `analyze()` looks at the argument *keys* first and parses only values
under keys that name a command, a query, a request or a plan, so an ordinary call costs
about a microsecond:

- `command`/`cmd`/`script`/`shell`/`input` (or an argv list): a shell command line;
  `kubectl`, `terraform`, `aws`, `gcloud`, `az`, `git`, `psql`, `curl`, `interlock`... are
  followed into their own analyzers (see `_texts` for how the tool's name is used as a hint).
- `query`/`sql`/`statement`: SQL, unless it is a GraphQL document.
- `query`/`body`/`mutation`/`graphql`: GraphQL when it starts like one.
- `method` with `url`/`path`/`endpoint` in the same object: an HTTP request.
- `plan`/`output`/`stdout`: a Terraform plan that destroys resources.
- `path`/`file`/`url`/`database`/`dsn`... and keys such as `INTERLOCK_REVIEWERS`: checked for
  Interlock's own database, reviewers, policy and keys (see `_oversight`); a file tool's path
  for persistence targets and credential files (see `_files`, `_secrets`).

Every analysis is bounded (`_limits`): a value, an action, a nesting depth or a count past
its bound is not analysed piecemeal but reported as `analysis.incomplete`, as is any internal
error, so an argument that could not be checked is never silently passed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from interlock.risk.analyzers._clitools import CLI_SIGNALS, analyze_terraform_plan
from interlock.risk.analyzers._cloud import CLOUD_SIGNALS
from interlock.risk.analyzers._files import file_findings
from interlock.risk.analyzers._findings import Finding, environment_of, words
from interlock.risk.analyzers._http import (
    HTTP_SIGNALS,
    analyze_http,
    looks_like_graphql,
    words_of,
)
from interlock.risk.analyzers._limits import (
    INCOMPLETE,
    MAX_ACTION,
    MAX_DEPTH,
    MAX_STRING,
    MAX_VALUES,
    incomplete,
    too_large,
)
from interlock.risk.analyzers._oversight import OVERSIGHT_SIGNALS, setting_named, settings_finding
from interlock.risk.analyzers._rotexts import (
    argv_verdict,
    graphql_text_verdict,
    implied_method,
    request_verdict,
    shell_verdict,
    sql_text_verdict,
)
from interlock.risk.analyzers._secrets import SECRETS_SIGNALS
from interlock.risk.analyzers._shell import KNOWN_PROGRAMS, SHELL_SIGNALS, program
from interlock.risk.analyzers._sql import SQL_SIGNALS
from interlock.risk.analyzers._texts import (
    argv_findings,
    graphql_findings,
    shell_findings,
    sql_findings,
    tool_hints,
)
from interlock.risk.analyzers._verdict import MARKERS, VERDICT_SIGNALS, Verdict, read_only_finding

__all__ = ["SIGNALS", "Finding", "analyze"]

_log = logging.getLogger(__name__)

SIGNALS: Mapping[str, str] = MappingProxyType(
    {
        **SHELL_SIGNALS,
        **SQL_SIGNALS,
        **HTTP_SIGNALS,
        **CLI_SIGNALS,
        **CLOUD_SIGNALS,
        **OVERSIGHT_SIGNALS,
        **SECRETS_SIGNALS,
        **VERDICT_SIGNALS,
        INCOMPLETE: (
            "an argument was too large or too deeply nested to analyse, or the analyzer failed "
            "on it; the engine sends such an action to review whatever the policy says"
        ),
    }
)

# Key kinds (bit flags).
_SHELL, _ARGV, _SQL, _GQL, _METHOD, _URL, _PLAN, _BODY, _ENVX, _ENVI, _FILE, _GUARD = (
    1 << i for i in range(12)
)
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
    **dict.fromkeys(words("file files filename filepath dir directory folder dest src"), _FILE),
    **dict.fromkeys(words("destination source"), _FILE),
    **dict.fromkeys(("plan", "output", "stdout", "diff"), _PLAN),
    **dict.fromkeys(words("environment env stage tier context profile workspace"), _ENVX),
    **dict.fromkeys(
        words(
            "namespace cluster project database db host hostname server dsn connection "
            "account subscription"
        ),
        _ENVI,
    ),
    "interlock": _GUARD,  # `INTERLOCK_REVIEWERS` and friends as keys (an `env` mapping)
}
_SETTINGS_KEYS = _URL | _FILE | _ENVI


@lru_cache(maxsize=2048)
def _key_kind(key: str) -> int:
    found = words_of(key[:100])
    if not found:
        return 0
    # The last word is the head noun (`sql_query`, `shell_command`, `query_params`); the
    # first counts when the last says nothing (`sql_text`, `command_line`).
    return _KEY_WORDS.get(found[-1], 0) or _KEY_WORDS.get(found[0], 0)


_SCALARS = (int, float, bool, type(None))
_MAPPINGS = (dict, MappingProxyType)
_PARSED = _TEXT | _METHOD | _URL | _FILE | _GUARD
_KIND_CACHE: dict[Any, int] = {}


def _kind(key: Any) -> int:
    kind = _KIND_CACHE.get(key)
    if kind is None:
        kind = _key_kind(key) if type(key) is str else 0
        if len(_KIND_CACHE) < 4096:
            _KIND_CACHE[key] = kind
    return kind


def analyze(tool: str, args: Mapping[str, Any], *, markers: bool = False) -> tuple[Finding, ...]:
    """Findings for one tool call; () when nothing dangerous is recognised. Never raises.

    With `markers`, what is known to be harmless is said too: `cli.read_only` when every
    command, statement and request only reads, `http.read` for each read-only request (the
    engine asks for them; they are not dangers, so they are left out otherwise).
    """
    try:
        given: object = args  # callers outside mypy's reach may pass anything
        if type(given) not in _MAPPINGS and not isinstance(given, Mapping):
            return ()
        # Fast path: flat arguments under keys that name nothing we parse.
        size = 0
        for k, v in args.items():
            t = type(v)
            if t in _SCALARS:
                continue
            if t is str:
                kind = _kind(k)
                if not kind & _PARSED and not (kind & _ENVI and setting_named(v)):
                    size += len(v)
                    continue
            break
        else:
            return () if size <= MAX_ACTION else (too_large("the arguments", size, MAX_ACTION),)
        walk = _Walk(tool if isinstance(tool, str) else "")
        walk.mapping(args, 0)
        out = walk.out
        # Everything the keys say runs only reads, and nothing else was found: say so.
        if not markers:
            out = [f for f in out if f.signal not in MARKERS] if walk.reads else out
        elif walk.reads and not walk.changes and all(f.effect == "read" for f in out):
            out.append(read_only_finding(walk.reads))
        return (out[0],) if len(out) == 1 else _dedupe(out) if out else ()
    except Exception:  # never raise: report that the arguments were not fully checked
        _log.warning("argument analysis failed for tool %r", tool, exc_info=True)
        return (incomplete("the analyzer failed on these arguments"),)


def _dedupe(found: list[Finding]) -> tuple[Finding, ...]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for f in found:
        key = (f.signal, f.effect, f.text)
        if key not in seen or (seen[key].environment is None and f.environment):
            seen[key] = f
    return tuple(seen.values())


class _Walk:
    """One pass over the arguments; stops (and says so) at the first bound it reaches."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.out: list[Finding] = []
        self.nodes = 0
        self.size = 0
        self.stopped = False
        self.reads: list[str] = []  # why each command, statement or request only reads
        self.changes = False  # one of them may write

    def judge(self, verdict: Verdict) -> None:
        if verdict.kind == "read":
            self.reads.append(verdict.reason)
        else:
            self.changes = True
        self.out.extend(verdict.findings)

    def stop(self, finding: Finding) -> None:
        if not self.stopped:
            self.stopped = True
            self.out.append(finding)

    def count(self, values: int, chars: int = 0) -> bool:
        """Account for what is about to be read; False (and a finding) past a bound."""
        self.nodes += values
        self.size += chars
        if self.nodes > MAX_VALUES:
            self.stop(too_large("the arguments", self.nodes, MAX_VALUES, "keys and items"))
        elif self.size > MAX_ACTION:
            self.stop(too_large("the arguments", self.size, MAX_ACTION))
        return not self.stopped

    def deeper(self, depth: int) -> bool:
        if depth < MAX_DEPTH:
            return True
        self.stop(incomplete(f"the arguments are nested more than {MAX_DEPTH} levels deep"))
        return False

    def mapping(self, m: Mapping[Any, Any], depth: int) -> None:
        start = len(self.out)
        method = url = envx = envi = None
        body: Any = None
        if not self.count(len(m)):
            return
        for k, v in m.items():
            if self.stopped:
                return
            t = type(v)
            kind = _kind(k)
            if kind & _GUARD and (what := setting_named(k)):
                self.out.append(settings_finding(f"{k}=…", what, None))
            if t in _SCALARS:
                continue
            if t is str or isinstance(v, str):
                if not self.count(0, len(v)) or not kind:
                    continue
                if kind & _TEXT:
                    self.text(kind, v)
                if kind & _SETTINGS_KEYS and (what := setting_named(v)):
                    self.out.append(settings_finding(f"{k}: {v}", what, None))
                if kind & (_URL | _FILE):  # write_file onto ~/.bashrc, read_file of ~/.aws/...
                    self.out.extend(file_findings(self.tool, k, v, m))
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
                if self.deeper(depth):
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
        if not self.count(len(v)):
            return
        # `["bash", "-c", "..."]` is one argv; `["ls", "rm -rf x"]` is a list of commands.
        if (
            kind & (_ARGV | _SHELL)
            and all(type(x) is str for x in v)
            and (kind & _ARGV or program(v[0]) in KNOWN_PROGRAMS)
        ):
            self.argv(list(v))
            return
        if not self.deeper(depth):
            return
        text_kind = kind & _TEXT
        for item in v:
            if self.stopped:
                return
            t = type(item)
            if t in _SCALARS:
                continue
            if t is str:
                if self.count(0, len(item)) and text_kind:
                    self.text(kind, item)
            elif t is list or t is tuple:
                if item:
                    self.sequence(item, kind, depth + 1)
            elif t is dict or isinstance(item, Mapping):
                self.mapping(item, depth + 1)
            elif isinstance(item, list | tuple) and item:
                self.sequence(item, kind, depth + 1)
            elif isinstance(item, str) and self.count(0, len(item)) and text_kind:
                self.text(kind, item)

    def text(self, kind: int, s: str) -> None:
        if len(s) > MAX_STRING:
            self.out.append(too_large("one value", len(s), MAX_STRING))
            return
        try:
            if kind & _GQL and looks_like_graphql(s):
                self.out.extend(graphql_findings(s))
                self.judge(graphql_text_verdict(s))
            elif kind & _SQL:
                self.out.extend(sql_findings(s))
                self.judge(sql_text_verdict(s))
            elif kind & (_SHELL | _ARGV):
                self.out.extend(shell_findings(s, self.tool))
                self.judge(shell_verdict(s, self.tool))
            elif kind & _PLAN:
                self.out.extend(analyze_terraform_plan(s))
        except Exception:  # one bad value must not hide what the others show
            _log.warning("argument analysis failed on a value of %r", self.tool, exc_info=True)
            self.out.append(incomplete("the analyzer failed on one value"))

    def argv(self, argv: list[str]) -> None:
        chars = sum(len(a) for a in argv)
        if not self.count(0, chars):
            return
        longest = max(len(a) for a in argv)
        if longest > MAX_STRING:
            self.out.append(too_large("one argv element", longest, MAX_STRING))
            return
        try:
            self.out.extend(argv_findings(argv, self.tool))
            self.judge(argv_verdict(argv, self.tool))
        except Exception:
            _log.warning("argument analysis failed on an argv of %r", self.tool, exc_info=True)
            self.out.append(incomplete("the analyzer failed on one value"))

    def http(self, method: Any, url: Any, body: Any) -> None:
        if not isinstance(method, str):
            method = tool_hints(self.tool)[1] or implied_method(self.tool, url, body)
            if not method:
                return
        if not isinstance(url, str):
            url = ""
        for what, text in (("the URL", url), ("the request body", body)):
            if isinstance(text, str) and len(text) > MAX_STRING:
                self.out.append(too_large(what, len(text), MAX_STRING))
                return
        # A GraphQL body in an object is found by the walk itself; a string one is not.
        self.out.extend(analyze_http(method, url, body, graphql=isinstance(body, str)))
        self.judge(request_verdict(method, url, body))
