"""Argument analyzers: the dangerous operations hidden in a tool call's arguments.

`analyze(tool, args)` returns the `Finding`s for one call; `SIGNALS` names every signal a
finding can carry (the names policies use under `when: {signals: ...}`). Pure Python, like
the rest of `interlock.risk`.

Analysis is bounded (`MAX_STRING`, `MAX_ACTION`, `MAX_DEPTH`, `MAX_VALUES`,
`MAX_SHELL_DEPTH`, `MAX_COMMANDS`, `MAX_SQL_DEPTH`): past a bound the arguments are not read
piecemeal but reported as an `INCOMPLETE` finding, which the engine sends to review.
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

__all__ = [
    "INCOMPLETE",
    "MAX_ACTION",
    "MAX_COMMANDS",
    "MAX_DEPTH",
    "MAX_SHELL_DEPTH",
    "MAX_SQL_DEPTH",
    "MAX_STRING",
    "MAX_VALUES",
    "SIGNALS",
    "Finding",
    "analyze",
]
