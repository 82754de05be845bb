"""The pinned policy: the one policy every runtime on a database runs, published by an admin.

Without a pin, each process runs the policy its own configuration names (`INTERLOCK_POLICY`,
a `policy=` argument, else the bundled default), so an agent-side process could choose a
lenient one for itself. `PolicyPin.publish` (admin, `interlock policy publish`) stores the
policy's YAML text and version in `interlock_policy_pin`, which only the reviewer side may
write on Postgres (`interlock db roles`); from then on `resolve_policy` gives every runtime
that opens the database that policy, and refuses, in one line, a configuration naming
another version. Publishing is audited (`policy_published`, a reviewer-side event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from interlock.risk import Policy, policy_from_text
from interlock.risk.errors import AuthorizationError, ConfigError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.review.principal import vouched
from interlock.runtime.review.reviewers import Reviewer
from interlock.runtime.review.stops import ADMIN_ROLE
from interlock.runtime.store._db import from_db_ts
from interlock.runtime.store.database import Database

__all__ = ["PinnedPolicy", "PolicyPin", "resolve_policy"]

PINNED_SOURCE = "the database's pinned policy"
_MAX_TEXT = 1_000_000


@dataclass(frozen=True, kw_only=True)
class PinnedPolicy:
    """What `interlock_policy_pin` holds, the text aside."""

    version: str
    name: str
    actor: str
    published_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "published_at": self.published_at.isoformat()}


class PolicyPin:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db, self.audit = db, audit

    def current(self) -> PinnedPolicy | None:
        """The pinned policy's version, name, publisher and time; None when none is pinned
        (or the database predates schema v10)."""
        row = self._row()
        if row is None:
            return None
        return PinnedPolicy(
            version=row["version"],
            name=row["name"],
            actor=row["actor"],
            published_at=from_db_ts(row["published_at"]) or datetime.min.replace(tzinfo=UTC),
        )

    def load(self) -> Policy | None:
        """The pinned policy itself, validated; None when none is pinned. A stored text that
        no longer yields its recorded version is refused (someone changed the row)."""
        row = self._row()
        if row is None:
            return None
        policy = policy_from_text(row["text"], PINNED_SOURCE)
        if policy.version != row["version"]:
            msg = (
                f"the pinned policy's text yields version {policy.version}, not the "
                f"{row['version']} it was published as; publish it again "
                "(`interlock policy publish FILE --as ADMIN`)."
            )
            raise ConfigError(msg)
        return policy

    def publish(self, text: str, *, by: Reviewer, source: str) -> PinnedPolicy:
        """Pin the policy `text` (admin only): validated first, then stored and audited in
        one transaction. Publishing the version already pinned changes nothing."""
        if not vouched(by):
            msg = (
                "publishing a policy takes an authenticated principal (rt.authenticate(name, "
                f"password)), got a {type(by).__name__} no authenticator issued; nothing changed."
            )
            raise AuthorizationError(msg)
        if ADMIN_ROLE not in by.roles:
            msg = (
                f"{by.name} may not publish a policy: it needs the {ADMIN_ROLE} role "
                f"({by.name} holds {', '.join(by.roles) or 'no role'})."
            )
            raise AuthorizationError(msg)
        if len(text) > _MAX_TEXT:
            msg = f"{source} is {len(text):,} characters; a policy may have {_MAX_TEXT:,}."
            raise ConfigError(msg)
        policy = policy_from_text(text, source)  # a policy error is one line and pins nothing
        before = self.current()
        if before is not None and before.version == policy.version:
            return before
        at = datetime.now(UTC)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM interlock_policy_pin WHERE id = 1")
            conn.execute(
                "INSERT INTO interlock_policy_pin (id, version, name, text, actor, published_at)"
                " VALUES (1, ?, ?, ?, ?, ?)",
                (policy.version, policy.name, text, by.name, at),
            )
            self.audit.append(
                "policy_published",
                actor=by.name,
                data={
                    "version": policy.version,
                    "name": policy.name,
                    "source": source,
                    "replaced": before.version if before is not None else None,
                },
                conn=conn,
            )
        return PinnedPolicy(
            version=policy.version, name=policy.name, actor=by.name, published_at=at
        )

    def _row(self) -> dict[str, Any] | None:
        with self.db.connection() as conn:
            found = conn.one(
                "SELECT version, name, text, actor, published_at FROM interlock_policy_pin "
                "WHERE id = 1"
            )
        return dict(found) if found is not None else None


def resolve_policy(
    pin: PolicyPin, configured: Policy | None, *, named: str | None
) -> Policy | None:
    """The policy a runtime on `pin`'s database runs: the pinned one when there is a pin
    (`configured`, what this process was told to run, must then be that very version), else
    `configured` (None: the caller's default). `named` says where `configured` came from, for
    the refusal."""
    pinned = pin.load()
    if pinned is None:
        return configured
    if configured is not None and configured.version != pinned.version:
        where = named or "the policy given"
        current = pin.current()
        by = f" by {current.actor}" if current is not None else ""
        msg = (
            f"this database pins policy {pinned.name} version {pinned.version} (published{by}); "
            f"{where} is {configured.name} version {configured.version}. Unset it to run the "
            "pinned policy, or have an admin publish it (`interlock policy publish FILE --as "
            "ADMIN`)."
        )
        raise ConfigError(msg)
    return pinned
