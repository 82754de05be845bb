"""The fenced Postgres checkpointer (see `_fenced_saver`): its own module, so only a
Postgres database loads LangGraph's Postgres saver and psycopg."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.postgres import PostgresSaver

from interlock.runtime.store._claims import claim_lost, is_fence_error
from interlock.runtime.store._fenced_saver import DOING, FencedWrites, active_fence

__all__ = ["FencedPostgresSaver"]


@contextmanager
def _connection(conn: Any) -> Iterator[Any]:
    # The saver holds a connection or a pool (ours is a pool); a pool lends one per write.
    from psycopg_pool import ConnectionPool

    if isinstance(conn, ConnectionPool):
        with conn.connection() as lent:
            yield lent
    else:
        yield conn


class FencedPostgresSaver(FencedWrites, PostgresSaver):
    @contextmanager
    def _cursor(self, *, pipeline: bool = False) -> Iterator[Any]:
        fence = active_fence()
        if fence is None or not pipeline or self.pipe is not None:
            with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        import psycopg
        from psycopg.rows import dict_row

        thread_id, token = fence
        with self.lock, _connection(self.conn) as conn:
            try:
                # The connection is in autocommit mode: everything queued in one pipeline up
                # to its sync is one implicit transaction, so the check, LangGraph's writes
                # and their commit travel together (one sync, as LangGraph's own pipeline)
                # and a refused check rolls the writes back.
                with conn.pipeline():
                    conn.execute("SELECT interlock_fence(%s, %s)", (thread_id, token))
                    with conn.cursor(binary=True, row_factory=dict_row) as cur:
                        yield cur
            except psycopg.Error as exc:
                if is_fence_error(exc):
                    raise claim_lost(thread_id, token, DOING) from None
                raise
