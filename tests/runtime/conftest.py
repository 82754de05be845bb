"""Fixtures for runtime tests: an open, migrated database on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock.runtime import Database, Runtime, open_database, upgrade_database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """`db_url` opened and upgraded to the latest schema (SQLite and Postgres)."""
    with open_database(db_url) as database:
        upgrade_database(database)
        yield database


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A `Runtime` on `db_url` (both backends) with its own reviewers file path."""
    with Runtime.open(db_url, reviewers_path=tmp_path / "reviewers.toml") as runtime:
        yield runtime


@pytest.fixture
def ops_options(tmp_path: Path) -> dict[str, str]:
    """Options that give the ops agent its own simulated infrastructure file."""
    return {"infra": str(tmp_path / "infra.json")}
