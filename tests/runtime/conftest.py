"""Fixtures for runtime tests: an open, migrated database on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interlock.runtime import Database, open_database, upgrade_database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """`db_url` opened and upgraded to the latest schema (SQLite and Postgres)."""
    with open_database(db_url) as database:
        upgrade_database(database)
        yield database
