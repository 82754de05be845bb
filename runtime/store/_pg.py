"""Postgres plumbing: the connection pool and the pipelined transaction."""

from __future__ import annotations

import re
import select
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from interlock.risk.errors import ConfigError
from interlock.runtime.store._db import PG_CONNECT_TIMEOUT_S, Conn, redact_url
from interlock.runtime.store._lock_wait import lock_timeout_s

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import DictRow
    from psycopg_pool import ConnectionPool

__all__ = ["open_pg_pool", "pg_transaction", "quiet"]


@contextmanager
def pg_transaction(conn: Conn, *, durable: bool = True) -> Iterator[None]:
    """A Postgres transaction in pipeline mode: BEGIN goes out with the first statement and
    COMMIT is one round trip. (psycopg's `transaction()` waits for the server on entry and
    on exit; plain BEGIN/COMMIT in autocommit mode do not.)"""
    raw = conn.raw
    body_failed = False
    try:
        with raw.pipeline() as pipe:
            conn.pipe = pipe
            try:
                raw.execute("BEGIN", prepare=False)
                if not durable:
                    raw.execute("SET LOCAL synchronous_commit TO OFF", prepare=False)
                yield
                raw.execute("COMMIT", prepare=False)
                for sql, params in conn.then:  # after the commit, in its round trip
                    conn.send(sql, params)
            except BaseException:
                body_failed = True
                _pg_rollback(raw)
                raise
            finally:
                conn.pipe = None
                conn.then = []
        # Leaving the pipeline sends its one Sync and reads every result: that is the
        # COMMIT's round trip (a `sync()` before it would cost a second, empty one).
    except BaseException:
        if not body_failed:  # the COMMIT failed (a statement's error, a stale fence)
            _pg_rollback(raw)
        raise


def _pg_rollback(raw: Any) -> None:
    # psycopg's rollback gets out of an aborted pipeline first and resets its cache of
    # prepared statements, as the server's ROLLBACK requires. Its error, if any, is not the
    # one to report.
    import psycopg

    with suppress(psycopg.Error):
        raw.rollback()


def _check_connection(conn: Connection[Any]) -> None:
    """The liveness check run before each checkout, without a round trip when it can.

    A server that restarted, or terminated our backend, has sent its goodbye or closed the
    socket: either way the socket turns readable. An idle pooled connection whose socket has
    nothing to read is therefore as alive as a probe could show, and skips it; only a
    readable (or unreadable) socket gets the probe, which raises on a dead connection so the
    pool replaces it. The probe is one empty query, not prepared: with
    `prepare_threshold=0` psycopg would prepare it on every checkout (two round trips)."""
    if not quiet(conn):
        conn.execute("", prepare=False)


def quiet(conn: Connection[Any]) -> bool:
    """An idle connection that is open and whose socket has nothing to read: as alive as
    can be told without a round trip (a server that went away makes the socket readable)."""
    if conn.closed or conn.broken:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False  # cannot tell
    return not readable


def _configure(conn: Connection[Any], *, lock_timeout_ms: int) -> None:
    """Each new pool connection speaks UTC and waits for a lock at most `lock_timeout_s()`.
    psycopg hands every timestamptz back in the session's zone (a ZoneInfo conversion per
    value) and Interlock wants UTC: with the session in UTC both conversions go away. Stored
    values do not change. One message, both settings (no parameters: the simple protocol)."""
    conn.execute(f"SET TIME ZONE 'UTC'; SET lock_timeout = {lock_timeout_ms}", prepare=False)


def _hint(detail: str, url: str) -> str:
    """How to fix the one connection error a new deployment meets first: a server that
    answers, without the database the URL names."""
    missing = re.search(r'database "([^"]+)" does not exist', detail)
    if missing is None:
        return ""
    name = missing.group(1)
    return (
        f'. Create it first (`createdb {name}`, or CREATE DATABASE "{name}" as a role '
        f"allowed to), then run `interlock db upgrade --db {redact_url(url)}`"
    )


def open_pg_pool(url: str, *, max_size: int = 8) -> ConnectionPool[Connection[DictRow]]:
    """A pool that survives a server restart: every connection is checked before use.

    The connection settings are those of LangGraph's `PostgresSaver.from_conn_string`:
    autocommit, because `PostgresSaver.setup()` creates indexes CONCURRENTLY (our own
    writes open explicit transactions); dict rows; `prepare_threshold=0`; the session time
    zone is UTC.
    """
    try:  # Postgres is an extra; SQLite needs nothing more
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError:
        msg = (
            f"{redact_url(url)} is a Postgres URL, and the Postgres driver is not installed. "
            "Install it: pip install 'interlock[postgres]'."
        )
        raise ConfigError(msg) from None

    lock_timeout_ms = int(lock_timeout_s() * 1000)  # read once: a bad value fails here
    # Connect once first: a wrong host, database or password gets psycopg's exact message
    # instead of a bare pool timeout.
    try:
        psycopg.connect(url, connect_timeout=PG_CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        detail = " ".join(str(exc).split())
        msg = f"cannot connect to {redact_url(url)}: {detail}{_hint(detail, url)}"
        raise ConfigError(msg) from None
    pool: ConnectionPool[Connection[DictRow]] = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
        },
        check=_check_connection,
        configure=partial(_configure, lock_timeout_ms=lock_timeout_ms),
        open=False,
        name="interlock",
    )
    pool.open(wait=True, timeout=PG_CONNECT_TIMEOUT_S)
    return pool
