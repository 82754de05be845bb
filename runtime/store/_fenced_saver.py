"""LangGraph checkpointers whose writes are fenced by the run's thread claim.

The engine runs a graph with its claim's fencing token in the run config
(`configurable[FENCE_KEY]`). Every `put` and `put_writes` of such a run checks, in the same
transaction as the write, that the token is still the thread's latest
(`interlock_thread_fences`): a holder another process overtook (its lock died with a
Postgres restart while its tool ran) has its checkpoints refused with `ClaimLost`, so the
thread's history never gets two children of one checkpoint. A run without a token (a caller
driving the graph itself) writes as LangGraph always does.

- Postgres: LangGraph's saver already sends each write as one pipeline on an autocommit
  connection (one implicit transaction up to the pipeline's sync); the fenced one queues
  `interlock_fence(thread, token)` first in that same pipeline (no round trip of its own).
  The check locks the fence row FOR SHARE, so a claim taken meanwhile waits for the write,
  and the new holder then reads it as part of the history.
- SQLite: `BEGIN IMMEDIATE`, read the token, write, commit, on the saver's own connection.

Built on `PostgresSaver._cursor` and `SqliteSaver.cursor` (the one place each saver opens
its connection for a write), as of langgraph-checkpoint-postgres 3.2 and -sqlite 3.1. The
Postgres saver is in `_fenced_pg`, so an install without the Postgres extra never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from langgraph.checkpoint.sqlite import SqliteSaver

from interlock.runtime.store._claims import claim_lost
from interlock.runtime.store._db import begin_immediate

__all__ = ["DOING", "FENCE_KEY", "FencedSqliteSaver", "FencedWrites", "active_fence"]

FENCE_KEY = "__interlock_fence"
"""The run config key (`configurable`) that carries the claim's fencing token. LangGraph
keeps `__`-prefixed keys out of checkpoint metadata."""

DOING = "writing a checkpoint"
_ACTIVE: ContextVar[tuple[str, int] | None] = ContextVar("interlock_fence", default=None)


def _fence_of(config: Any) -> tuple[str, int] | None:
    conf = (config or {}).get("configurable") or {}
    token = conf.get(FENCE_KEY)
    if token is None:
        return None
    return str(conf["thread_id"]), int(token)


def active_fence() -> tuple[str, int] | None:
    """(thread, token) of the write under way, or None for an unfenced write."""
    return _ACTIVE.get()


class FencedWrites:
    """Puts each write's fence where the saver's connection code finds it (`active_fence`)."""

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        mark = _ACTIVE.set(_fence_of(config))
        try:
            return cast(Any, super()).put(config, checkpoint, metadata, new_versions)
        finally:
            _ACTIVE.reset(mark)

    def put_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        mark = _ACTIVE.set(_fence_of(config))
        try:
            cast(Any, super()).put_writes(config, writes, task_id, task_path)
        finally:
            _ACTIVE.reset(mark)


class FencedSqliteSaver(FencedWrites, SqliteSaver):
    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[Any]:
        fence = active_fence()
        if fence is None or not transaction:
            with super().cursor(transaction) as cur:
                yield cur
            return
        thread_id, token = fence
        with self.lock:
            self.setup()
            cur = self.conn.cursor()
            try:
                # Polled in short steps: the writer in the way is usually Interlock's own
                # commit of a moment (SQLite's busy handler would sleep a millisecond or more).
                begin_immediate(self.conn)
                row = cur.execute(
                    "SELECT token FROM interlock_thread_fences WHERE thread_id = ?", (thread_id,)
                ).fetchone()
                if row is None or row[0] != token:
                    raise claim_lost(thread_id, token, DOING)
                yield cur
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                raise
            finally:
                cur.close()
