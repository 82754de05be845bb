"""Argument analyzers: the dangerous operations hidden in a tool call's arguments.

`analyze(tool, args)` returns the `Finding`s for one call; `SIGNALS` names every signal a
finding can carry (the names policies use under `when: {signals: ...}`). Pure Python, like
the rest of `interlock.risk`.
"""

from interlock.risk.analyze._dispatch import SIGNALS, Finding, analyze

__all__ = ["SIGNALS", "Finding", "analyze"]
