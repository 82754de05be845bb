"""A worker's warm start: what its first resumes would otherwise pay for, paid before it
takes any work.

The engine is built on first use, and building it loads LangGraph and LangChain (0.5-1.3 s
of imports on a 2-core machine); each graph is built on the first resume of one of its
threads. A worker that starts with a backlog paid all of that inside its first resume,
while it held that thread's claim. `warm` pays it up front: the engine, then the graphs of
the threads whose decided reviews wait now. Nothing is claimed, read from a checkpoint or
written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interlock.runtime._runtime import Runtime

__all__ = ["GRAPHS_WARMED", "warm"]

GRAPHS_WARMED = 8
"""At most this many distinct (graph, options) pairs are built ahead."""

_WAITING = (
    "SELECT DISTINCT t.graph, t.options FROM interlock_reviews r "
    "JOIN interlock_threads t ON t.thread_id = r.thread_id "
    "WHERE r.resumed_at IS NULL AND r.status IN ('decided', 'escalated', 'expired') "
    "LIMIT ?"
)


def warm(rt: Runtime) -> int:
    """Build the engine and the graphs of the threads with a decided review waiting to
    resume; how many graphs were built. Best effort: a graph whose factory fails, or a
    database that does not answer, is left to the sweep, which reports it as it would have."""
    engine = rt.engine()
    if not engine.local:  # a server-backed engine runs its graphs elsewhere
        return 0
    try:
        with rt.db.connection() as conn:
            rows = conn.all(_WAITING, (GRAPHS_WARMED,))
    except Exception:
        return 0
    built = 0
    for row in rows:
        try:
            engine.registry.get(row["graph"], json.loads(row["options"] or "{}"))
        except Exception:
            continue
        built += 1
    return built
