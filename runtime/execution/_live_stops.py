"""The stop switches as the gate sees them: `interlock.nodes.StopSource` over `interlock_stops`.

Bound: none for guarded execution. The execution ledger opens a row only while the stops are
the ones the call was assessed with, checked in the very statement (Postgres) or write
transaction (SQLite) that opens it (`_ledger_sql.stops_guard`); a stop set after the
assessment refuses the row, nothing runs, and the tool step assesses the call again on a
fresh read. So the gate may act on a view up to `ROUTING_MAX_AGE` (0.1 s) old everywhere
(routing, review and the tool step, which in a loop of tool steps usually reuse one read),
and no action whose ledger row opens after a stop committed ever runs. A decision or a
worker's resume reads the stops in the same round trip as the review row; that read is
offered here (`offer`) so the resumed review node does not read again.

A read that fails raises, and the step fails with it: nothing runs on a stale answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from interlock.runtime.store.database import Database

if TYPE_CHECKING:  # the CLI imports the runtime without paying for LangGraph
    from interlock.nodes import StoppedScopes

__all__ = ["DurableStopSource", "scopes_of"]

STOPS_QUERY = "SELECT scope, value FROM interlock_stops"


def scopes_of(rows: Sequence[Mapping[str, Any]]) -> StoppedScopes:
    """The stopped scopes in rows of `STOPS_QUERY`."""
    from interlock.nodes import StoppedScopes

    return StoppedScopes(
        agents=frozenset(str(r["value"]) for r in rows if r["scope"] == "agent"),
        environments=frozenset(str(r["value"]) for r in rows if r["scope"] == "environment"),
    )


class DurableStopSource:
    """The active stops in `db`, read on demand, with the latest view kept for `max_age`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._seen: tuple[float, StoppedScopes] | None = None

    def stopped(self, *, max_age: float = 0.0) -> StoppedScopes:
        seen = self._seen
        if seen is not None and max_age > 0 and time.monotonic() - seen[0] <= max_age:
            return seen[1]
        began = time.monotonic()  # the view is as old as the moment the read was sent
        with self.db.connection() as conn:
            view = scopes_of(conn.all(STOPS_QUERY))
        self.offer(view, read_at=began)
        return view

    def offer(self, view: StoppedScopes, *, read_at: float) -> None:
        """A view read (by `time.monotonic()`) at `read_at` elsewhere, e.g. in a decision's
        transaction; kept when it is newer than the one held."""
        with self._lock:
            if self._seen is None or read_at > self._seen[0]:
                self._seen = (read_at, view)
