"""The shape of a per-program classifier (see `_readonly`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from interlock.risk.analyzers._verdict import Verdict

__all__ = ["Classifier", "Nested"]


class Nested(Protocol):
    """Lets a classifier classify what its program runs, and see the program's stdin."""

    stdin: str | None

    def argv(self, argv: list[str]) -> Verdict: ...

    def script(self, text: str) -> Verdict: ...


# (program, its arguments, nested) -> verdict
Classifier = Callable[[str, list[str], Nested], Verdict]
