"""Opening the database: LangGraph checkpoints and Interlock's own tables, from one URL.

`open_database(url)` gives a `Database` for our tables (reviews, decisions, approvals, the
execution ledger, the audit log, stop switches) and, through `Database.checkpointer()`, a
LangGraph checkpointer that shares its connections. `open_checkpointer(url)` is the short
form when only checkpoints are needed.

- `sqlite:///path`: the parent directory is created; the file is switched to WAL so
  readers never block the writer; connections may move between threads.
- `postgresql://user@host:port/db`: a `psycopg_pool.ConnectionPool` that checks each
  connection before handing it out, so after a server restart the next operation gets a
  fresh connection instead of failing for ever. (An operation already running when the
  server goes away fails once; nothing here retries writes behind the caller's back.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from interlock.risk.errors import ConfigError
from interlock.runtime.store._db import (
    Conn,
    Dialect,
    SqlitePool,
    begin_immediate,
    parse_database_url,
    prepare_sqlite_file,
    redact_url,
)
from interlock.runtime.store._pg import open_pg_pool, pg_transaction, quiet
from interlock.runtime.store.settings import Settings

if TYPE_CHECKING:
    import sqlite3

    from langgraph.checkpoint.base import BaseCheckpointSaver
    from psycopg import Connection
    from psycopg.rows import DictRow
    from psycopg_pool import ConnectionPool

__all__ = ["Conn", "Database", "Dialect", "open_checkpointer", "open_database"]

# Session-level advisory lock around PostgresSaver.setup(): LangGraph's own migrations are
# not safe when two processes run them at once. Taken with pg_try_advisory_lock in a poll
# loop, because a waiter blocked inside pg_advisory_lock would hold a snapshot that the
# setup's CREATE INDEX CONCURRENTLY waits for: a deadlock the server cannot see.
_CHECKPOINTER_SETUP_LOCK = 0x496E746C6B000002
_SETUP_WAIT_S = 120.0


class Database:
    """Interlock's own tables on SQLite or Postgres, behind one small API.

    - `connection()`: a connection in autocommit mode, for single statements and reads.
    - `transaction()`: a write transaction, committed on success and rolled back on error.
      On SQLite it starts with BEGIN IMMEDIATE, so concurrent writers queue up front
      instead of failing on a lock upgrade halfway through.
    - `snapshot()`: a read-only transaction that sees one consistent state.
    - `checkpointer()`: the LangGraph checkpointer on the same database, set up once. Its
      writes are fenced by the run's thread claim when the run config carries one
      (`interlock.runtime.store._fenced_saver`).

    Close it (or use it as a context manager) to release its connections.
    """

    def __init__(self, url: str, *, max_connections: int = 8, create: bool = True) -> None:
        parsed = parse_database_url(url)
        if not create and parsed.path is not None and not parsed.path.exists():
            msg = (
                f"no database at {parsed.path} ({url}). Create it with "
                f"`interlock db upgrade --db {url}`, or point --db / INTERLOCK_DATABASE_URL "
                "at an existing one."
            )
            raise ConfigError(msg)
        self.url = parsed.url
        self.dialect: Dialect = parsed.dialect
        self._lock = threading.Lock()
        self._saver: BaseCheckpointSaver[str] | None = None
        self._saver_conn: sqlite3.Connection | None = None
        self._writer: threading.Lock | None = None
        """SQLite: the saver's lock, which it holds while it writes (see `begin_immediate`)."""
        self._sqlite: SqlitePool | None = None
        self._pg: ConnectionPool[Connection[DictRow]] | None = None
        if parsed.path is not None:
            prepare_sqlite_file(parsed.path)
            self._sqlite = SqlitePool(parsed.path)
        else:
            self._pg = open_pg_pool(parsed.url, max_size=max(2, max_connections))

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)!r})"

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on Postgres."""
        return self._sqlite.path if self._sqlite is not None else None

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        if self._pg is not None:
            with self._pg.connection() as raw:
                yield Conn(raw, "postgres")
            return
        assert self._sqlite is not None
        with self._sqlite.connection() as lite:
            yield Conn(lite, "sqlite")

    def looks_alive(self, conn: Conn) -> bool:
        """Whether a connection the caller holds can be used without a probe: on Postgres it
        is open and nothing unexpected (a server's goodbye) waits on its socket."""
        return conn.dialect != "postgres" or quiet(conn.raw)

    @contextmanager
    def transaction(self, *, pipelined: bool = True) -> Iterator[Conn]:
        """`pipelined=False` for scripts (several statements in one string), which
        Postgres takes only outside a pipeline."""
        with self.connection() as conn, self.begin(conn, pipelined=pipelined):
            yield conn

    @contextmanager
    def begin(self, conn: Conn, *, pipelined: bool = True, durable: bool = True) -> Iterator[Conn]:
        """A transaction on a connection the caller holds (from `connection()`).

        `durable=False` commits without waiting for the disk (Postgres
        `synchronous_commit=off`, SQLite `synchronous=NORMAL`). The write-ahead log is one
        ordered file, so the next durable commit on the database makes this one durable as
        well. Use it only when such a commit follows before anything depends on the
        transaction, or call `make_durable` yourself.

        What was handed to `conn.on_commit` inside runs once the COMMIT went through, and
        never after a rollback (a Postgres pipeline reports some errors only at COMMIT)."""
        try:
            with self._begin(conn, pipelined=pipelined, durable=durable):
                yield conn
        except BaseException:
            conn.after_commit = None
            raise
        conn.committed()

    @contextmanager
    def _begin(self, conn: Conn, *, pipelined: bool, durable: bool) -> Iterator[Conn]:
        if conn.dialect == "postgres" and not pipelined:
            with conn.raw.transaction():
                yield conn
            return
        if conn.dialect == "postgres":
            with pg_transaction(conn, durable=durable):
                yield conn
            return
        level = None
        if not durable:  # SQLite takes this only outside a transaction
            level = conn.raw.execute("PRAGMA synchronous").fetchone()[0]
            conn.raw.execute("PRAGMA synchronous=NORMAL")
        try:
            begin_immediate(conn.raw, self._writer)
            try:
                yield conn
            except BaseException:
                if conn.raw.in_transaction:
                    conn.raw.execute("ROLLBACK")
                raise
            conn.raw.execute("COMMIT")
        finally:
            if level is not None:
                conn.raw.execute(f"PRAGMA synchronous={int(level)}")

    @contextmanager
    def snapshot(self) -> Iterator[Conn]:
        with self.connection() as conn:
            if conn.dialect == "postgres":
                with conn.raw.transaction():
                    conn.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield conn
                return
            # WAL: a deferred transaction reads one snapshot from its first read onwards.
            conn.raw.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.raw.in_transaction:
                    conn.raw.execute("ROLLBACK")

    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """The LangGraph checkpointer for this database, created and set up on first use."""
        with self._lock:
            if self._saver is None:
                self._saver = self._make_saver()
            return self._saver

    def _make_saver(self) -> BaseCheckpointSaver[str]:
        if self._pg is not None:
            from interlock.runtime.store._fenced_pg import FencedPostgresSaver

            pg_saver = FencedPostgresSaver(self._pg)
            self._pg_setup(pg_saver)
            return pg_saver
        import sqlite3

        from interlock.runtime.store._fenced_saver import FencedSqliteSaver

        assert self._sqlite is not None
        # SqliteSaver serialises its own use of the connection with a lock.
        conn = sqlite3.connect(self._sqlite.path, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        # Checkpoint commits do not wait for the disk: the WAL is one ordered file, and what
        # must be durable before anything acts on it (a ledger row before its tool starts,
        # the run's audit rows and review rows after it stops) commits with a full sync on
        # Interlock's own connections, which makes these frames durable too. A checkpoint
        # write that waited for the disk held SQLite's single write lock that long, and the
        # ledger row behind it waited too (issue 12: ~1 ms of every approved tool start).
        conn.execute("PRAGMA synchronous=NORMAL")
        lite_saver = FencedSqliteSaver(conn)
        lite_saver.setup()
        self._saver_conn = conn
        self._writer = lite_saver.lock
        return lite_saver

    def _pg_setup(self, saver: Any) -> None:
        assert self._pg is not None
        deadline = time.monotonic() + _SETUP_WAIT_S
        with self._pg.connection() as lock_conn:
            # Already set up: nothing to run, and a role without DDL rights (the agent role
            # of `interlock db roles`) must not try CREATE TABLE IF NOT EXISTS.
            there = lock_conn.execute(
                "SELECT to_regclass('checkpoint_migrations') IS NOT NULL AS ok"
            ).fetchone()
            if there is not None and there["ok"]:
                done = lock_conn.execute(
                    "SELECT coalesce(max(v), -1) AS v FROM checkpoint_migrations"
                ).fetchone()
                if done is not None and done["v"] >= len(saver.MIGRATIONS) - 1:
                    return
            while True:
                row = lock_conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS ok", (_CHECKPOINTER_SETUP_LOCK,)
                ).fetchone()
                if row is not None and row["ok"]:
                    break
                if time.monotonic() > deadline:
                    msg = (
                        f"another process has been setting up the checkpoint tables in "
                        f"{redact_url(self.url)} for {_SETUP_WAIT_S:.0f} s; retry when it is done."
                    )
                    raise ConfigError(msg)
                time.sleep(0.05)
            try:
                saver.setup()
            finally:
                lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_CHECKPOINTER_SETUP_LOCK,))

    def close(self) -> None:
        with self._lock:
            if self._saver_conn is not None:
                self._saver_conn.close()
                self._saver_conn = None
            self._saver = None
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            self._pg.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_database(
    url: str | None = None, *, max_connections: int = 8, create: bool = True
) -> Database:
    """Open `url` (default: `INTERLOCK_DATABASE_URL`, else the embedded SQLite file).

    With `create=False` a missing SQLite file is an error instead of a new empty database.
    Raises ConfigError for an unsupported URL or a server that does not answer.
    """
    return Database(
        url or Settings.from_env().database_url, max_connections=max_connections, create=create
    )


@contextmanager
def open_checkpointer(url: str | None = None) -> Iterator[BaseCheckpointSaver[str]]:
    """A ready LangGraph checkpointer (tables created) for `url`, closed on exit.

    `SqliteSaver` for `sqlite:///path`, `PostgresSaver` on a connection pool for
    `postgresql://...`. Use the yielded saver only inside the `with` block.
    """
    with open_database(url) as db:
        yield db.checkpointer()
