"""Schema version 6: reviewer-side tables (reviewers, roles) and database roles."""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V6"]

V6: tuple[Step, ...] = ()
