"""Open a LangGraph checkpointer from a database URL.

A stop-gap for the demo, the tests and the benchmarks: `interlock.runtime` owns opening the
durable store (with pools, migrations and our own tables). URLs follow the SQLAlchemy form:
`sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `postgresql://user@host/db`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from interlock.risk.errors import ConfigError

__all__ = ["DEFAULT_DATABASE_URL", "open_checkpointer", "sqlite_path"]

DEFAULT_DATABASE_URL = "sqlite:///./.interlock/interlock.db"


def sqlite_path(url: str) -> Path | None:
    """The file behind a `sqlite:///` URL; None for any other URL."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[str]]:
    """A ready checkpointer for `url`, closed on exit. Tables are created when missing."""
    path = sqlite_path(url)
    if path is not None:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
        try:
            saver = SqliteSaver(conn)
            saver.setup()
            yield saver
        finally:
            conn.close()
        return
    if url.startswith(("postgresql://", "postgres://")):
        try:  # Postgres is an extra: `pip install 'interlock[postgres]'`
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError:
            msg = (
                f"{url.split('://')[0]}:// needs the Postgres extra: "
                "pip install 'interlock[postgres]'."
            )
            raise ConfigError(msg) from None
        with PostgresSaver.from_conn_string(url) as pg:
            pg.setup()
            yield pg
        return
    msg = (
        f"Unsupported database URL {url!r}: use sqlite:///path/to/file.db or "
        "postgresql://user@host:port/dbname."
    )
    raise ConfigError(msg)
