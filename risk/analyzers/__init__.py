"""Argument analyzers: the dangerous operations hidden in a tool call's arguments.

`analyze(tool, args)` returns the `Finding`s for one call; `SIGNALS` names every signal a
finding can carry (the names policies use under `when: {signals: ...}`). Pure Python, like
the rest of `interlock.risk`.

Analysis is bounded (`MAX_STRING`, `MAX_ACTION`, `MAX_DEPTH`, `MAX_VALUES`,
`MAX_SHELL_DEPTH`, `MAX_COMMANDS`, `MAX_SQL_DEPTH`): past a bound the arguments are not read
piecemeal but reported as an `INCOMPLETE` finding, which the engine sends to review.

Each command, SQL statement and HTTP request is also classified as read, write or destroy
(`_verdict`, `_readonly`); an action whose every one only reads carries `READ_ONLY`
(`cli.read_only`), and a read-only HTTP request `HTTP_READ` (`http.read`).

`protect_paths(what, paths)` adds a deployment's own files (policy, reviewers, database,
keys) to what counts as Interlock's oversight state (`oversight.settings`) in this process.
"""

from interlock.risk.analyzers._dispatch import SIGNALS, Finding, analyze
from interlock.risk.analyzers._limits import (
    INCOMPLETE,
    MAX_ACTION,
    MAX_COMMANDS,
    MAX_DEPTH,
    MAX_SHELL_DEPTH,
    MAX_SQL_DEPTH,
    MAX_STRING,
    MAX_VALUES,
)
from interlock.risk.analyzers._oversight import protect_paths, protected_paths
from interlock.risk.analyzers._verdict import HTTP_READ, READ_ONLY

__all__ = [
    "HTTP_READ",
    "INCOMPLETE",
    "MAX_ACTION",
    "MAX_COMMANDS",
    "MAX_DEPTH",
    "MAX_SHELL_DEPTH",
    "MAX_SQL_DEPTH",
    "MAX_STRING",
    "MAX_VALUES",
    "READ_ONLY",
    "SIGNALS",
    "Finding",
    "analyze",
    "protect_paths",
    "protected_paths",
]
