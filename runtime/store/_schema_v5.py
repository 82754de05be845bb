"""Schema version 5: signed approvals and signing keys."""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V5"]

V5: tuple[Step, ...] = ()
