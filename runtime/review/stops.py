"""The stop switch: an administrator stops an agent or an environment; every gate for that
scope then denies, until the scope is resumed. Both are audited, in the same transaction.

The gate reads the active stops live, at every evaluation, through the `DurableStopSource`
(`interlock.runtime.execution._live_stops`) the runtime binds to every gate it builds:
guarded execution reads them fresh before each call, so a stop committed while an agent
runs reaches its next action, approved or not; a run's context can add stops, never lift one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from interlock.risk.errors import AuthorizationError, ConfigError, NotFoundError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.review.principal import vouched
from interlock.runtime.review.reviewers import Reviewer
from interlock.runtime.store._db import from_db_ts
from interlock.runtime.store.database import Database

__all__ = ["ADMIN_ROLE", "SCOPES", "Stop", "StopSwitch"]

ADMIN_ROLE = "admin"
Scope = Literal["agent", "environment"]
SCOPES: tuple[Scope, ...] = ("agent", "environment")
_MAX_REASON = 2000


@dataclass(frozen=True, kw_only=True)
class Stop:
    scope: Scope
    value: str
    by: str
    reason: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


def _check(scope: object, value: object, by: Reviewer) -> tuple[Scope, str]:
    if not vouched(by):  # a hand-made Reviewer is no administrator
        msg = (
            "stopping or resuming takes an authenticated principal (rt.authenticate(name, "
            f"password)), got a {type(by).__name__} no authenticator issued; nothing changed."
        )
        raise AuthorizationError(msg)
    if scope not in SCOPES:
        msg = f"unknown stop scope {scope!r}; use one of: {', '.join(SCOPES)}."
        raise ConfigError(msg)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        msg = f"name the {scope} to stop (1-200 characters), got {value!r}."
        raise ConfigError(msg)
    if ADMIN_ROLE not in by.roles:
        msg = (
            f"{by.name} may not stop or resume {'an' if scope == 'environment' else 'a'} "
            f"{scope}: it needs the {ADMIN_ROLE} role "
            f"({by.name} holds {', '.join(by.roles) or 'no role'})."
        )
        raise AuthorizationError(msg)
    return scope, value.strip()


class StopSwitch:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db, self.audit = db, audit

    def stop(self, scope: Scope, value: str, *, by: Reviewer, reason: str) -> Stop:
        """Stop `scope` `value` (admin only). Stopping it again updates the reason."""
        scope, value = _check(scope, value, by)
        reason = (reason or "").strip()
        if not reason or len(reason) > _MAX_REASON:
            msg = f"a stop needs a reason of 1-{_MAX_REASON} characters (e.g. an incident id)."
            raise ConfigError(msg)
        with self.db.transaction() as conn:
            at = datetime.now(UTC)
            conn.execute(
                "DELETE FROM interlock_stops WHERE scope = ? AND value = ?", (scope, value)
            )
            conn.execute(
                "INSERT INTO interlock_stops (scope, value, reason, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (scope, value, reason, by.name, at),
            )
            self.audit.append(
                "scope_stopped",
                actor=by.name,
                data={"scope": scope, "value": value, "reason": reason},
                conn=conn,
            )
        return Stop(scope=scope, value=value, by=by.name, reason=reason, at=at)

    def resume(self, scope: Scope, value: str, *, by: Reviewer) -> None:
        """Lift a stop (admin only). NotFoundError when that scope is not stopped."""
        scope, value = _check(scope, value, by)
        with self.db.transaction() as conn:
            gone = conn.execute(
                "DELETE FROM interlock_stops WHERE scope = ? AND value = ?", (scope, value)
            )
            if not gone:
                active = ", ".join(f"{s.scope} {s.value}" for s in self._active(conn)) or "none"
                msg = f"{scope} {value!r} is not stopped. Active stops: {active}."
                raise NotFoundError(msg)
            self.audit.append(
                "scope_resumed",
                actor=by.name,
                data={"scope": scope, "value": value},
                conn=conn,
            )

    def _active(self, conn: Any) -> list[Stop]:
        rows = conn.all(
            "SELECT scope, value, reason, actor, created_at FROM interlock_stops "
            "ORDER BY created_at, scope, value"
        )
        return [
            Stop(
                scope=r["scope"],
                value=r["value"],
                by=r["actor"],
                reason=r["reason"],
                at=from_db_ts(r["created_at"]) or datetime.min,
            )
            for r in rows
        ]

    def active(self) -> list[Stop]:
        with self.db.connection() as conn:
            return self._active(conn)

    def covering(self, *, agent: str | None, environment: str | None) -> list[Stop]:
        """The active stops that refuse an action of `agent` in `environment`."""
        wanted = {("agent", agent), ("environment", environment)}
        return [s for s in self.active() if (s.scope, s.value) in wanted]

    def known(self, scope: Scope) -> list[str]:
        """The agents (or environments) this database has seen: in a review or a stop.

        The console and the CLI warn before stopping a name outside this list (a typo
        stops nothing that runs)."""
        if scope not in SCOPES:
            msg = f"unknown stop scope {scope!r}; use one of: {', '.join(SCOPES)}."
            raise ConfigError(msg)
        column = "agent" if scope == "agent" else "environment"
        with self.db.connection() as conn:
            rows = conn.all(
                f"SELECT DISTINCT {column} AS name FROM interlock_reviews "
                f"WHERE {column} IS NOT NULL "
                "UNION SELECT value AS name FROM interlock_stops WHERE scope = ?",
                (scope,),
            )
        return sorted({str(r["name"]) for r in rows if r["name"]})
