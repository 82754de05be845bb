"""Migrations: idempotent, recorded, safe when several processes upgrade at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from interlock.risk.errors import ConfigError
from interlock.runtime import (
    LATEST_VERSION,
    open_database,
    require_schema,
    schema_version,
    upgrade,
    upgrade_database,
)

OUR_TABLES = {
    "interlock_schema",
    "interlock_reviews",
    "interlock_decisions",
    "interlock_approvals",
    "interlock_executions",
    "interlock_audit",
    "interlock_audit_head",
    "interlock_stops",
    "interlock_threads",
    "interlock_thread_claims",
}


def _tables(url: str) -> set[str]:
    with open_database(url) as db, db.connection() as conn:
        if conn.dialect == "postgres":
            rows = conn.all("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
        else:
            rows = conn.all("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r["name"] for r in rows}


def test_upgrade_twice_applies_once(db_url: str) -> None:
    first = upgrade(db_url)
    expected = (0, LATEST_VERSION, tuple(range(1, LATEST_VERSION + 1)))
    assert (first.before, first.after, first.applied) == expected
    second = upgrade(db_url)
    assert (second.before, second.after, second.applied) == (LATEST_VERSION, LATEST_VERSION, ())
    tables = _tables(db_url)
    assert tables >= OUR_TABLES
    assert "checkpoints" in tables  # LangGraph's tables come with `upgrade` too
    with open_database(db_url) as db, db.connection() as conn:
        rows = conn.all("SELECT version, name, applied_at FROM interlock_schema")
    assert sorted(r["version"] for r in rows) == list(range(1, LATEST_VERSION + 1))
    assert isinstance(rows[0]["applied_at"], datetime)


def test_require_schema_says_what_to_run(db_url: str) -> None:
    with open_database(db_url) as db:
        assert schema_version(db) == 0
        with pytest.raises(ConfigError, match="interlock db upgrade"):
            require_schema(db)
        upgrade_database(db)
        require_schema(db)


def test_a_newer_schema_is_refused(db_url: str) -> None:
    upgrade(db_url, checkpointer=False)
    with open_database(db_url) as db:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO interlock_schema (version, name, applied_at) VALUES (?, ?, ?)",
                (LATEST_VERSION + 1, "from the future", datetime.now(UTC)),
            )
        with pytest.raises(ConfigError, match="newer"):
            upgrade_database(db)


def test_concurrent_upgrades_do_not_fail(db_url: str) -> None:
    """Four processes' worth of upgrades at once (threads, each with its own connections)."""
    errors: list[BaseException] = []
    applied: list[tuple[int, ...]] = []
    start = threading.Barrier(4)

    def run() -> None:
        try:
            start.wait()
            applied.append(upgrade(db_url).applied)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Each version applied exactly once, whichever process got to it first.
    assert sorted(v for one in applied for v in one) == list(range(1, LATEST_VERSION + 1))
    with open_database(db_url) as db:
        assert schema_version(db) == LATEST_VERSION


def test_audit_rows_cannot_be_updated_or_deleted(db_url: str) -> None:
    from interlock.runtime import AuditLog

    with open_database(db_url) as db:
        upgrade_database(db)
        AuditLog(db).append("opened", actor="me", data={"x": 1})
        for sql in ("UPDATE interlock_audit SET actor = 'mallory'", "DELETE FROM interlock_audit"):
            with pytest.raises(Exception, match="append-only"), db.transaction() as conn:
                conn.execute(sql)
        assert AuditLog(db).verify().ok
