"""Shared fixtures: a fresh Postgres database and a fresh SQLite file for each test.

A test that needs Postgres fails loudly when none answers: it never skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get(
    "INTERLOCK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One Ed25519 pair for the session: (private key file, public key directory)."""
    from interlock.runtime.review.keys import create_key

    folder = tmp_path_factory.mktemp("keys")
    private, public = folder / "signing.key", folder / "public"
    create_key(private, public)
    return private, public


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch, signing_keys: tuple[Path, Path]) -> Iterator[str]:
    """A URL to a brand-new Postgres database, dropped after the test. A Postgres deployment
    has no local key pair, so the test's environment names the session's keys (the reviewer
    side's private key and the public keys); subprocesses inherit them."""
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", str(signing_keys[0]))
    monkeypatch.setenv("INTERLOCK_PUBLIC_KEYS", str(signing_keys[1]))
    name = f"interlock_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required and did not answer at {ADMIN_URL}: {exc}. "
            "Run `make postgres` or set INTERLOCK_TEST_DATABASE_URL.",
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    """A URL to a fresh SQLite file in the test's own temporary directory."""
    return f"sqlite:///{os.fspath(tmp_path)}/interlock.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Both backends: the test runs once on SQLite and once on Postgres."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))
