"""TEMPORARY stand-in for `interlock.runtime.Runtime` until the runtime facade lands.

It only composes what the runtime already ships (Database, migrations, AuditLog, Reviewers)
under the facade's attribute names, so the console pages do not change when the real
`Runtime` replaces it. It writes nothing of its own. Delete this file then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from interlock.risk import Policy, default_policy
from interlock.risk.errors import ConfigError
from interlock.runtime import AuditLog, Reviewers, Settings, open_database, upgrade_database
from interlock.runtime._db import from_db_ts

__all__ = ["InterimRuntime"]


@dataclass(frozen=True, kw_only=True)
class _Stop:
    scope: str
    value: str
    by: str
    reason: str
    at: datetime


class _Stops:
    def __init__(self, rt: InterimRuntime) -> None:
        self._rt = rt

    def active(self) -> list[_Stop]:
        with self._rt.db.connection() as conn:
            rows = conn.all(
                "SELECT scope, value, reason, actor, created_at FROM interlock_stops "
                "ORDER BY created_at"
            )
        return [
            _Stop(
                scope=r["scope"],
                value=r["value"],
                by=r["actor"],
                reason=r["reason"],
                at=from_db_ts(r["created_at"]) or datetime.min,
            )
            for r in rows
        ]

    def stop(self, *args: Any, **kwargs: Any) -> None:
        msg = "the stop switch needs interlock.runtime.StopSwitch, which has not landed yet."
        raise ConfigError(msg)

    resume = stop


class InterimRuntime:
    def __init__(self, url: str, policy: Policy | None, reviewers_path: Path | None) -> None:
        settings = Settings.from_env()
        self.db = open_database(url)
        upgrade_database(self.db)
        self.url = self.db.url
        self.policy = policy or default_policy()
        self.audit = AuditLog(self.db)
        self.reviewers = Reviewers.load(reviewers_path or settings.reviewers)
        self.stops = _Stops(self)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        policy: Policy | None = None,
        reviewers_path: Path | None = None,
    ) -> InterimRuntime:
        return cls(url or Settings.from_env().database_url, policy, reviewers_path)

    def close(self) -> None:
        self.db.close()
