"""How much of an action the analyzers read, and what happens beyond that: they fail closed.

Agents choose their arguments, so every analysis is bounded. Past a bound the analyzers do
not read a prefix and guess about the rest: the value (or the whole action) is reported as an
`analysis.incomplete` finding that names the bound and the size, and the engine sends any
action with such a finding to review (at least), whatever the policy says.

- `MAX_STRING`: 65,536 characters (64 KiB) in one value the analyzers parse (a command, a
  query, a GraphQL document, a plan, an argv element).
- `MAX_ACTION`: 262,144 characters (256 KiB) in all the string values of one action's
  arguments together, analysed or not.
- `MAX_DEPTH`: 32 levels of objects and lists inside the arguments.
- `MAX_VALUES`: 10,000 keys and items in one action's arguments.
- `MAX_SHELL_DEPTH`: 8 levels of shell text run by other shell text (`bash -c`, `eval`,
  `ssh host CMD`, `$(...)`, `find -exec`, `kubectl exec --`...).
- `MAX_COMMANDS`: 500 simple commands and `$(...)` substitutions in one action's shell text.
- `MAX_SQL_DEPTH`: 4 levels of SQL run from strings (`EXECUTE '...'`, `DO $$...$$`).

Measured at these bounds on a busy 2-core machine: at most about 0.3 s for the worst shapes
tried (64 KiB of one repeated fragment fed to every analyzer: SQL of one token per character,
a command line of 20,000 parentheses), and milliseconds for ordinary arguments.
"""

from __future__ import annotations

from interlock.risk.analyzers._findings import Finding

__all__ = [
    "INCOMPLETE",
    "MAX_ACTION",
    "MAX_COMMANDS",
    "MAX_DEPTH",
    "MAX_SHELL_DEPTH",
    "MAX_SQL_DEPTH",
    "MAX_STRING",
    "MAX_VALUES",
    "incomplete",
    "too_large",
]

MAX_STRING = 64 * 1024
MAX_ACTION = 256 * 1024
MAX_DEPTH = 32
MAX_VALUES = 10_000
MAX_SHELL_DEPTH = 8
MAX_COMMANDS = 500
MAX_SQL_DEPTH = 4

INCOMPLETE = "analysis.incomplete"


def incomplete(why: str) -> Finding:
    """A finding saying the arguments were not fully checked, and why."""
    text = f"Interlock could not fully check the arguments ({why}); read them before approving."
    return Finding(signal=INCOMPLETE, effect="write", text=text)


def too_large(what: str, size: int, bound: int, unit: str = "characters") -> Finding:
    """`what` is `size` (in `unit`), over `bound`: nothing of it was analysed."""
    return incomplete(f"{what}: {size:,} {unit}, over the bound of {bound:,}")
