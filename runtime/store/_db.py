"""Database plumbing shared by both backends: URL parsing, connections, one SQL dialect.

SQL in Interlock is written once, with `?` placeholders, and runs on SQLite and Postgres:
`Conn` turns `?` into `%s` for psycopg. Write `?` only as a placeholder (never inside a
string literal). Timestamps go in as aware `datetime`s and come back as aware `datetime`s on
both backends: SQLite stores them as fixed-width UTC text (so they sort), Postgres as
`timestamptz`.
"""

from __future__ import annotations

import logging
import queue
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from interlock.risk.errors import ConfigError
from interlock.runtime.store._text import storable

if TYPE_CHECKING:
    from threading import Lock

__all__ = [
    "ALLOWED_URLS",
    "Conn",
    "DatabaseURL",
    "Dialect",
    "SqlitePool",
    "begin_immediate",
    "from_db_ts",
    "iso_utc",
    "parse_database_url",
    "redact_url",
]

Dialect = Literal["sqlite", "postgres"]
ALLOWED_URLS = (
    "`sqlite:///path` (e.g. sqlite:///./.interlock/interlock.db) or "
    "`postgresql://user@host:port/db`"
)
SQLITE_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 10


def iso_utc(value: datetime) -> str:
    """Fixed-width UTC ISO-8601 with microseconds: sorts as text, hashes the same everywhere."""
    if value.tzinfo is None:
        msg = f"naive datetime {value!r}: Interlock stores aware datetimes only (use UTC)."
        raise ValueError(msg)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_db_ts(value: Any) -> datetime | None:
    """A timestamp as either backend returns it (datetime, ISO text or bytes) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        msg = f"expected a timestamp, got {type(value).__name__}: {value!r}"
        raise TypeError(msg)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


# Columns declared TIMESTAMPTZ come back from SQLite as datetimes, as they do from Postgres.
sqlite3.register_converter("TIMESTAMPTZ", from_db_ts)


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs. Never raises: a URL too
    malformed to parse loses everything between `//` and the last `@` instead."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return re.sub(r"//[^/?#]*@", "//***@", url)


@dataclass(frozen=True, kw_only=True)
class DatabaseURL:
    """A parsed database URL: the dialect and what its driver needs."""

    url: str
    dialect: Dialect
    path: Path | None = None
    """SQLite only: the database file."""


def parse_database_url(url: str) -> DatabaseURL:
    """Check `url` and say what is allowed when it is not."""
    url = url.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            msg = (
                f"SQLite URL {url!r} has no file path. Use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db (three slashes, then the path)."
            )
            raise ConfigError(msg)
        raw = url[len("sqlite:///") :]
        if "?" in raw or raw == ":memory:":
            msg = (
                f"SQLite URL {url!r} is not supported: Interlock needs a database file that "
                "several connections share (no query options, no :memory:). "
                "Use sqlite:///path/to/interlock.db."
            )
            raise ConfigError(msg)
        return DatabaseURL(url=url, dialect="sqlite", path=Path(raw))
    if scheme in ("postgresql", "postgres"):
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises on a port that is not a number
        except ValueError as exc:
            msg = (
                f"Postgres URL {redact_url(url)!r} is malformed ({exc}). Allowed: "
                f"{ALLOWED_URLS}; an IPv6 host goes in brackets: postgresql://user@[::1]:5432/db."
            )
            raise ConfigError(msg) from None
        if not parts.hostname and "host=" not in parts.query:
            msg = f"Postgres URL {redact_url(url)!r} names no host. Allowed: {ALLOWED_URLS}."
            raise ConfigError(msg)
        _refuse_search_path(url, parts.query)
        return DatabaseURL(url=url, dialect="postgres")
    shown = redact_url(url) if url else "(empty)"
    msg = f"unsupported database URL {shown!r}. Allowed: {ALLOWED_URLS}."
    raise ConfigError(msg)


_SEARCH_PATH = re.compile(r"search[_-]path", re.IGNORECASE)


def _refuse_search_path(url: str, query: str) -> None:
    """Interlock's tables are named unqualified: a search_path set from the URL (libpq's
    `options=-c search_path=...`) would point every statement at another schema's tables,
    or at none. Refused; the database user's own default search_path is what Interlock
    expects (each deployment gets its own database)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    except ValueError:  # left to the driver's own message
        return
    for key, value in pairs:
        if key.strip().lower() == "options" and _SEARCH_PATH.search(value):
            msg = (
                f"Postgres URL {redact_url(url)!r} sets search_path in its options "
                f"({value.strip()!r}); Interlock does not accept that, because it would "
                "redirect the runtime's tables to another schema. Remove it from the URL "
                "and give Interlock a database of its own."
            )
            raise ConfigError(msg)


@lru_cache(maxsize=512)
def _to_psycopg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Conn:
    """One connection, either backend, with dict rows and `?` placeholders.

    Inside `Database.transaction()` a Postgres connection runs in pipeline mode: `send()`
    and `fetch_all()` queue statements without waiting for the server, so a transaction's
    independent statements share one round trip. `execute()`, `one()`, `all()` and
    `scalar()` wait for their own result, as outside a pipeline.
    """

    __slots__ = ("after_commit", "dialect", "pipe", "raw", "then")

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect: Dialect = dialect
        self.pipe: Any = None
        """The psycopg `Pipeline` while one is open."""
        self.after_commit: list[Callable[[], None]] | None = None
        """What runs once the open `Database.begin()` transaction commits."""
        self.then: list[tuple[str, tuple[Any, ...]]] = []
        """Postgres: statements the open pipelined transaction sends right after its COMMIT,
        in the same round trip (they run only if it commits)."""

    def on_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` after the open transaction commits; never if it rolls back. For what
        only reports committed facts (the JSON event log): it must not write."""
        if self.after_commit is None:
            self.after_commit = []
        self.after_commit.append(fn)

    def committed(self) -> None:
        """The transaction committed: run what waited for it. Their errors are logged, not
        raised: the data is already in, and the caller must learn that it is."""
        hooks, self.after_commit = self.after_commit, None
        for fn in hooks or ():
            try:
                fn()
            except Exception:
                logging.getLogger(__name__).exception("after-commit hook %r failed", fn)

    def storable(self, params: Sequence[Any]) -> tuple[Any, ...]:
        """`params` as this connection's statements store them (see `_params`)."""
        return self._params(params)

    def _params(self, params: Sequence[Any]) -> tuple[Any, ...]:
        # Every string goes in storable (no NUL, no lone surrogate), alike on both backends.
        if self.dialect == "postgres":
            return tuple(storable(p) if isinstance(p, str) else p for p in params)
        return tuple(
            storable(p) if isinstance(p, str) else iso_utc(p) if isinstance(p, datetime) else p
            for p in params
        )

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        if self.dialect == "postgres":
            # No params: send the text untouched, so `%` in DDL needs no escaping.
            if not params:
                return self.raw.execute(sql, prepare=False)
            return self.raw.execute(_to_psycopg(sql), self._params(params))
        return self.raw.execute(sql, self._params(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cur = self._run(sql, params)
        if self.pipe is not None:
            self.pipe.sync()  # the row count arrives with the result
        return int(cur.rowcount)

    def send(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement whose result nobody reads. In a Postgres pipeline it is only
        queued: an error surfaces at the next statement that waits, or at COMMIT, and
        fails the transaction either way."""
        self._run(sql, params)

    def fetch_all(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[dict[str, Any]]]:
        """The rows of each statement, run in order; one round trip in a Postgres pipeline."""
        return self.queue_all(statements)()

    def queue_all(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> Callable[[], list[list[dict[str, Any]]]]:
        """Run the statements in order; the function that returns the rows of each. In a
        Postgres pipeline they are only queued: called after the transaction's COMMIT, it
        takes the rows the commit's round trip brought (a transaction whose statements do not
        depend on each other's results then costs one round trip in all)."""
        cursors = [self._run(sql, params) for sql, params in statements]
        return lambda: [[dict(r) for r in cur.fetchall()] for cur in cursors]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self._run(sql, params).fetchone()
        return None if row is None else dict(row)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._run(sql, params).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._run(sql, params).fetchone()
        return None if row is None else next(iter(dict(row).values()))

    @property
    def in_transaction(self) -> bool:
        if self.pipe is not None:  # BEGIN may still be on its way to the server
            return True
        if self.dialect == "postgres":
            from psycopg.pq import TransactionStatus

            return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)
        return bool(self.raw.in_transaction)


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A connection for Interlock's own tables: autocommit unless we BEGIN, FKs on, WAL."""
    conn = sqlite3.connect(
        path,
        timeout=SQLITE_TIMEOUT_S,
        isolation_level=None,
        check_same_thread=False,
        detect_types=sqlite3.PARSE_DECLTYPES,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(SQLITE_TIMEOUT_S * 1000)}")
    return conn


def begin_immediate(conn: sqlite3.Connection, writer: Lock | None = None) -> None:
    """BEGIN IMMEDIATE, waiting for another writer in steps of a tenth of a millisecond.

    SQLite's own busy handler sleeps a whole millisecond or more per try, and the other
    writer is usually LangGraph's saver committing a checkpoint in a fraction of that.
    `writer`: that saver's lock, when it is in this process. While the saver holds it, the
    wait is on the lock, which wakes the moment the saver is done instead of at the next
    poll; only a writer elsewhere (another connection, another process) is polled for. The
    lock is never held here, so nothing can wait on it in a cycle."""
    try:
        conn.execute("PRAGMA busy_timeout=0")
        deadline, pause = time.monotonic() + SQLITE_TIMEOUT_S, 0.0001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            if writer is not None and _waited_for(writer):
                continue  # the saver was writing and is done: try again at once
            time.sleep(pause)
            pause = min(pause * 1.5, 0.005)
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(SQLITE_TIMEOUT_S * 1000)}")


def _waited_for(writer: Lock) -> bool:
    """Whether the saver was busy and let go within a poll's longest step. Bounded: the lock
    is also held while a caller iterates the saver's reads, perhaps on this very thread."""
    if writer.acquire(blocking=False):
        writer.release()
        return False  # free: the writer in the way is someone else
    if writer.acquire(timeout=0.005):
        writer.release()
        return True
    return False


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Switching the journal mode needs the file to itself, and SQLite reports "database is
    locked" at once (no busy wait) while another process is migrating it: read the mode
    first (already WAL after the first open) and retry the switch until the timeout."""
    deadline = time.monotonic() + SQLITE_TIMEOUT_S
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def prepare_sqlite_file(path: Path) -> None:
    """Create the parent directory and switch the file to WAL (a persistent setting)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S)
        try:
            _switch_to_wal(conn)
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        msg = f"cannot open SQLite database {path}: {exc}. Check the path and its permissions."
        raise ConfigError(msg) from None


class SqlitePool:
    """Idle SQLite connections kept for reuse; a connection serves one caller at a time."""

    def __init__(self, path: Path, *, keep: int = 4) -> None:
        self.path = path
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue(maxsize=keep)
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = sqlite_connect(self.path)
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        if self._closed or conn.in_transaction:
            conn.close()
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
