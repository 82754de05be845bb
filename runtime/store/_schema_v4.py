"""Schema version 4: fenced thread claims."""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V4"]

V4: tuple[Step, ...] = ()
