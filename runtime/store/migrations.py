"""Versioned migrations of Interlock's own tables, recorded in `interlock_schema`.

`upgrade(url)` brings a database to the latest version and is idempotent: a second run
applies nothing. Each version is applied in one transaction with its `interlock_schema` row,
so a failed upgrade leaves the previous version intact (both backends have transactional
DDL). Two processes upgrading at once are serialised: Postgres by a transaction-level
advisory lock, SQLite by BEGIN IMMEDIATE; the second one finds the work done.

To add version 2: append a `Migration(version=2, ...)` to `MIGRATIONS`. Never edit a
released version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from interlock.risk.errors import ConfigError
from interlock.runtime.store._db import Conn, Dialect, parse_database_url, redact_url
from interlock.runtime.store._lock_wait import wait_for_xact_lock
from interlock.runtime.store._schema import SCHEMA_TABLE, V1, Step
from interlock.runtime.store._schema_v2 import V2
from interlock.runtime.store._schema_v3 import V3
from interlock.runtime.store._schema_v4 import V4
from interlock.runtime.store._schema_v5 import V5
from interlock.runtime.store._schema_v6 import V6
from interlock.runtime.store._schema_v7 import V7
from interlock.runtime.store._schema_v8 import V8
from interlock.runtime.store._schema_v9 import V9
from interlock.runtime.store._schema_v10 import V10
from interlock.runtime.store.database import Database, open_database
from interlock.runtime.store.settings import Settings

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Migration",
    "UpgradeResult",
    "require_schema",
    "schema_version",
    "upgrade",
    "upgrade_database",
]

_MIGRATION_LOCK = 0x496E746C6B000001


@dataclass(frozen=True, kw_only=True)
class Migration:
    version: int
    name: str
    steps: tuple[Step, ...]

    def statements(self, dialect: Dialect) -> list[str]:
        out: list[str] = []
        for step in self.steps:
            sql = step if isinstance(step, str) else step.get(dialect)
            if sql:
                out.append(sql)
        return out


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        name="reviews, decisions, approvals, executions, audit log, stop switches",
        steps=V1,
    ),
    Migration(
        version=2,
        name="threads, resume claims; review kind, rung and outcome; approval and ledger fields",
        steps=V2,
    ),
    Migration(version=3, name="inbox: the default order served by a partial index", steps=V3),
    Migration(version=4, name="fenced thread claims", steps=V4),
    Migration(version=5, name="signed approvals and signing keys", steps=V5),
    Migration(version=6, name="reviewer-side tables and database roles", steps=V6),
    Migration(version=7, name="review routing (team) and the notification outbox", steps=V7),
    Migration(version=8, name="inbox: the partial index covers the review's team", steps=V8),
    Migration(
        version=9,
        name="guards the agent role cannot get around: qualified names, audit head, events",
        steps=V9,
    ),
    Migration(version=10, name="the pinned policy, which only the reviewer side writes", steps=V10),
)
LATEST_VERSION = MIGRATIONS[-1].version


@dataclass(frozen=True, kw_only=True)
class UpgradeResult:
    """What `upgrade` did: the version before and after, and the versions it applied."""

    url: str
    before: int
    after: int
    applied: tuple[int, ...]
    created: tuple[str, ...] = ()
    """What the upgrade created on disk (SQLite): missing directories, outermost first,
    then the database file. A typo in a path shows here instead of passing silently."""

    def to_dict(self) -> dict[str, object]:
        return {
            "url": redact_url(self.url),
            "before": self.before,
            "after": self.after,
            "applied": list(self.applied),
            "created": list(self.created),
        }


def _has_schema_table(conn: Conn) -> bool:
    if conn.dialect == "postgres":
        return conn.scalar("SELECT to_regclass('interlock_schema') IS NOT NULL AS present") is True
    found = conn.scalar(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
        ("interlock_schema",),
    )
    return bool(found)


def _version(conn: Conn) -> int:
    if not _has_schema_table(conn):
        return 0
    return int(conn.scalar("SELECT coalesce(max(version), 0) AS v FROM interlock_schema"))


def schema_version(db: Database) -> int:
    """The schema version of `db`; 0 when Interlock's tables were never created."""
    with db.connection() as conn:
        return _version(conn)


def _too_new(db: Database, version: int) -> ConfigError:
    msg = (
        f"database {redact_url(db.url)} has Interlock schema version {version}, newer than this "
        f"Interlock knows ({LATEST_VERSION}). Upgrade the interlock package."
    )
    return ConfigError(msg)


def require_schema(db: Database) -> None:
    """Raise a ConfigError that says what to run when `db` is not at the latest version."""
    version = schema_version(db)
    if version > LATEST_VERSION:
        raise _too_new(db, version)
    if version < LATEST_VERSION:
        state = "has no Interlock tables" if version == 0 else f"is at schema version {version}"
        msg = (
            f"database {redact_url(db.url)} {state}; this Interlock needs version "
            f"{LATEST_VERSION}. Run `interlock db upgrade --db {redact_url(db.url)}`."
        )
        raise ConfigError(msg)


def upgrade_database(db: Database) -> UpgradeResult:
    """Apply every missing migration to an open database."""
    with db.connection() as conn:
        before = _version(conn)
    if before > LATEST_VERSION:
        raise _too_new(db, before)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= before:
            continue
        with db.transaction(pipelined=False) as conn:
            if conn.dialect == "postgres":
                wait_for_xact_lock(conn, _MIGRATION_LOCK)
            conn.execute(SCHEMA_TABLE)
            # Re-read under the lock: another process may have applied it meanwhile.
            if _version(conn) >= migration.version:
                continue
            for sql in migration.statements(conn.dialect):
                _run(conn, sql)
            conn.execute(
                "INSERT INTO interlock_schema (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC)),
            )
        applied.append(migration.version)
    return UpgradeResult(
        url=db.url, before=before, after=schema_version(db), applied=tuple(applied)
    )


def _run(conn: Conn, sql: str) -> None:
    # sqlite3 runs one statement per execute(); Postgres takes a script in one call.
    conn.execute(sql.strip())


def upgrade(url: str | None = None, *, checkpointer: bool = True) -> UpgradeResult:
    """Bring the database at `url` (default: settings) to the latest schema.

    With `checkpointer` (the default) LangGraph's checkpoint tables are created as well, so
    one command prepares everything.
    """
    url = url or Settings.from_env().database_url
    missing = _missing_paths(url)
    with open_database(url) as db:
        result = upgrade_database(db)
        if checkpointer:
            db.checkpointer()
    created = tuple(str(p) for p in missing if p.exists())
    return replace(result, created=created) if created else result


def _missing_paths(url: str) -> list[Path]:
    """The SQLite file and the directories above it that do not exist yet, outermost first
    (nothing for Postgres, or a URL that does not parse: opening it says why)."""
    try:
        path = parse_database_url(url).path
    except ConfigError:
        return []
    if path is None:
        return []
    missing = [p for p in (path, *path.parents) if not p.exists()]
    return missing[::-1]
