"""Reviewers kept in the database (`interlock_reviewers`, schema version 6): the source of who
may decide on Postgres, where only the reviewer role may write the table (`interlock db
roles`). A path in the caller's environment (`INTERLOCK_REVIEWERS`) is never read here.

Names are unique case-insensitively (the `name_key` column holds `identity_key(name)`), and
lookups go through that key, so `--as Alice` finds `alice`. Every change is audited in the
same transaction. Each call reads the table afresh: a reviewer removed or given other roles
counts at once in every process.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

from interlock.risk import canonical_json
from interlock.risk.errors import AuthorizationError, ConfigError, NotFoundError
from interlock.runtime.review._identity import identity_key
from interlock.runtime.review.reviewers import (
    Reviewer,
    Reviewers,
    check_new_reviewer,
    check_password,
    hash_password,
    verify_password,
)
from interlock.runtime.store._db import redact_url

if TYPE_CHECKING:
    from interlock.runtime.store.database import Database

__all__ = ["DatabaseReviewers", "ReviewerBook"]

_COLS = "name, roles, display, password_hash"


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _reviewer(row: Any) -> Reviewer:
    return Reviewer(
        name=row["name"],
        roles=tuple(json.loads(row["roles"])),
        display=row["display"],
        password_hash=row["password_hash"],
    )


class DatabaseReviewers:
    """The reviewers of one database. Same reading API as the file's `Reviewers`."""

    path = None
    """No file: present so callers can tell the two kinds apart."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def where(self) -> str:
        return f"table interlock_reviewers of {redact_url(self.db.url)}"

    def reload(self) -> DatabaseReviewers:
        return self  # every read goes to the table

    def _all(self) -> list[Reviewer]:
        with self.db.connection() as conn:
            rows = conn.all(f"SELECT {_COLS} FROM interlock_reviewers ORDER BY name_key")
        return [_reviewer(r) for r in rows]

    def _find(self, name: str) -> Reviewer | None:
        with self.db.connection() as conn:
            row = conn.one(
                f"SELECT {_COLS} FROM interlock_reviewers WHERE name_key = ?",
                (identity_key(name),),
            )
        return None if row is None else _reviewer(row)

    def __iter__(self) -> Iterator[Reviewer]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def _unknown(self, name: str) -> NotFoundError:
        msg = (
            f"unknown reviewer {name!r} in the {self.where}. Add one with `interlock reviewers "
            f"add {name} --role ROLE --db URL` (the reviewer role's URL), or pick another name."
        )
        return NotFoundError(msg)

    def get(self, name: str) -> Reviewer:
        """The reviewer called `name` (case-insensitively), or NotFoundError."""
        found = self._find(name)
        if found is None:
            raise self._unknown(name)
        return found

    def authenticate(self, name: str, password: str) -> Reviewer:
        """The reviewer when `password` is right; NotFoundError or AuthorizationError if not."""
        found = self._find(name)
        if found is None:
            verify_password(password, _dummy_hash())  # same cost as a real check
            raise self._unknown(name)
        if not verify_password(password, found.password_hash):
            msg = f"wrong password for reviewer {found.name!r} ({self.where})."
            raise AuthorizationError(msg)
        from interlock.runtime.review.principal import principal_for

        return principal_for(found, "password")  # the only identity decisions accept

    def _audit(self, conn: Any, event: str, actor: str, data: dict[str, Any]) -> None:
        from interlock.runtime.audit.log import AuditLog

        AuditLog(self.db).append(event, actor=actor, data=data, conn=conn)

    def add(
        self,
        name: str,
        roles: Iterable[str],
        password: str,
        *,
        display: str | None = None,
        replace: bool = False,
        actor: str = "interlock-admin",
    ) -> Reviewer:
        """Add (or with `replace`, update) a reviewer; audited as `reviewer_added`."""
        new = check_new_reviewer(name, roles, password, display)
        now = datetime.now(UTC)
        params = (new.name, identity_key(new.name), canonical_json(list(new.roles)))
        with self.db.transaction(pipelined=False) as conn:
            old = conn.one("SELECT name FROM interlock_reviewers WHERE name_key = ?", (params[1],))
            if old is not None and not replace:
                msg = (
                    f"reviewer {old['name']!r} already exists in the {self.where} (names are "
                    "compared case-insensitively); pass --replace to change its roles and "
                    "password."
                )
                raise ConfigError(msg)
            if old is not None:
                conn.execute("DELETE FROM interlock_reviewers WHERE name_key = ?", (params[1],))
            conn.execute(
                "INSERT INTO interlock_reviewers (name, name_key, roles, display, password_hash, "
                "created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*params, new.display, new.password_hash, now, now, actor),
            )
            event = "reviewer_updated" if old is not None else "reviewer_added"
            self._audit(conn, event, actor, {"name": new.name, "roles": list(new.roles)})
        return new

    def remove(self, name: str, *, actor: str = "interlock-admin") -> Reviewer:
        """Remove a reviewer; audited as `reviewer_removed`. The reviewer removed."""
        with self.db.transaction(pipelined=False) as conn:
            row = conn.one(
                f"SELECT {_COLS} FROM interlock_reviewers WHERE name_key = ?",
                (identity_key(name),),
            )
            if row is None:
                raise self._unknown(name)
            conn.execute("DELETE FROM interlock_reviewers WHERE name = ?", (row["name"],))
            gone = _reviewer(row)
            self._audit(conn, "reviewer_removed", actor, {"name": gone.name})
        return gone

    def passwd(self, name: str, password: str, *, actor: str = "interlock-admin") -> Reviewer:
        """Set a reviewer's password; audited as `reviewer_password_changed`."""
        check_password(name, password)
        hashed = hash_password(password)
        with self.db.transaction(pipelined=False) as conn:
            row = conn.one(
                f"SELECT {_COLS} FROM interlock_reviewers WHERE name_key = ?",
                (identity_key(name),),
            )
            if row is None:
                raise self._unknown(name)
            conn.execute(
                "UPDATE interlock_reviewers SET password_hash = ?, updated_at = ?, updated_by = ? "
                "WHERE name = ?",
                (hashed, datetime.now(UTC), actor, row["name"]),
            )
            self._audit(conn, "reviewer_password_changed", actor, {"name": row["name"]})
        return _reviewer({**row, "password_hash": hashed})


ReviewerBook: TypeAlias = "Reviewers | DatabaseReviewers"
"""Where reviewers come from: the file (embedded SQLite) or the table (Postgres)."""
