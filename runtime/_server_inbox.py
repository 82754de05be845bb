"""The inbox of a runtime whose graphs run on LangGraph Server.

Listing stays one indexed SQL query over `interlock_reviews`. Before it lists, the inbox
asks the server backend to register interrupts that appeared on the server without this
runtime (`ServerEngine.sync`, at most once a second), so a thread started from Studio or
another client shows up like any other. Reading one review needs no sync: its id came
from a listing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interlock.runtime.inbox import Inbox, ReviewSummary

__all__ = ["ServerInbox"]


class ServerInbox(Inbox):
    """The SQL inbox, brought up to date with the server's interrupts before it lists."""

    def __init__(self, *args: Any, sync: Callable[[], object], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync = sync

    def pending(self, **filters: Any) -> list[ReviewSummary]:
        self._sync()
        return super().pending(**filters)

    def count(self, **filters: Any) -> int:
        self._sync()
        return super().count(**filters)
