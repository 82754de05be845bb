"""The inbox of a runtime whose graphs run on LangGraph Server.

Listing stays one indexed SQL query over `interlock_reviews`. Before it lists, the inbox
asks the server backend to register interrupts that appeared on the server without this
runtime (`ServerEngine.sync`, at most once a second), so a thread started from Studio or
another client shows up like any other. Reading one review needs no sync: its id came
from a listing.

A server that does not answer does not empty the inbox: listing falls back to the rows
already registered, logs a warning and keeps the reason in `sync_error` for a UI to show.
Deciding still asks the server whether the review is current, and refuses if it cannot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Unpack

from interlock.risk.errors import ConfigError
from interlock.runtime.review.inbox import Inbox, InboxFilters, ReviewSummary, SortKey

__all__ = ["ServerInbox"]

_log = logging.getLogger("interlock.runtime.server")


class ServerInbox(Inbox):
    """The SQL inbox, brought up to date with the server's interrupts before it lists."""

    def __init__(self, *args: Any, sync: Callable[[], object], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_fn = sync
        self.sync_error: str | None = None
        """Why the last sync with the server failed; None when it worked."""

    def _sync(self) -> None:
        try:
            self._sync_fn()
        except ConfigError as exc:
            if self.sync_error != str(exc):
                _log.warning("listing reviews without the server's latest state: %s", exc)
            self.sync_error = str(exc)
        else:
            self.sync_error = None

    def pending(
        self,
        *,
        sort: SortKey = "urgency",
        limit: int = 200,
        offset: int = 0,
        **filters: Unpack[InboxFilters],
    ) -> list[ReviewSummary]:
        self._sync()
        return super().pending(sort=sort, limit=limit, offset=offset, **filters)

    def count(self, **filters: Unpack[InboxFilters]) -> int:
        self._sync()
        return super().count(**filters)
