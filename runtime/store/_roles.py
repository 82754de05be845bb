"""The two database roles of a Postgres deployment, and what each may do (`interlock db roles`).

- The **agent** role (graphs, gates, guarded execution, workers) writes LangGraph's
  checkpoints, opens reviews, stamps the reviews it resumes, appends audit rows, takes thread
  claims and uses the execution ledger. It may read decisions, approvals and stops, and it may
  mark an approval consumed (`consumed_at` only) but it may not insert or change a decision,
  an approval, a stop or a reviewer; it cannot even read the reviewers' password hashes.
  Column-level grants say which columns it may update; the guard trigger of schema version 6
  says which row changes (a review only pending -> cancelled, a ledger row only while
  `started`).
- The **reviewer** role (console, CLI decisions, admin commands) may do all of that and
  record decisions, issue approvals, set and lift stops, resolve in-doubt actions and manage
  reviewers. Deciding resumes the thread in the decider's process, so it needs the agent
  side's rights as well.

Neither role owns a table or may run DDL: `interlock db upgrade` runs as the owner (the admin
URL). Setting up is idempotent: roles are created when missing (a password is set only when
given), and each table's privileges are revoked and granted again, so a second run converges
on exactly this matrix. A table this module does not list (a later schema version's) gets
SELECT for the agent and the reviewer's full rights: add it to `AGENT_GRANTS` to widen that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from interlock.risk.errors import ConfigError
from interlock.runtime.store._db import redact_url
from interlock.runtime.store._lock_wait import wait_for_xact_lock

if TYPE_CHECKING:
    from interlock.runtime.store.database import Database

__all__ = [
    "AGENT_GRANTS",
    "DEFAULT_AGENT_ROLE",
    "DEFAULT_REVIEWER_ROLE",
    "RolesResult",
    "role_url",
    "setup_roles",
]

DEFAULT_AGENT_ROLE = "interlock_agent"
DEFAULT_REVIEWER_ROLE = "interlock_reviewer"

_DML = "SELECT, INSERT, UPDATE, DELETE"
CHECKPOINT_TABLES = ("checkpoints", "checkpoint_writes", "checkpoint_blobs")

AGENT_GRANTS: Mapping[str, str] = {
    "interlock_schema": "SELECT",
    "interlock_reviews": (
        "SELECT, INSERT, UPDATE (status, outcome, decided_at, resumed_at, next_review_id)"
    ),
    "interlock_decisions": "SELECT",
    "interlock_approvals": "SELECT, UPDATE (consumed_at)",
    "interlock_executions": "SELECT, INSERT, UPDATE (status, result, error, finished_at)",
    "interlock_audit": "SELECT, INSERT",
    "interlock_audit_head": "SELECT, UPDATE",
    "interlock_stops": "SELECT",
    "interlock_threads": "SELECT, INSERT",
    "interlock_thread_claims": _DML,
    "interlock_thread_fences": _DML,  # schema v4: the claim's fencing token
    "interlock_reviewers": "",
    "interlock_policy_pin": "SELECT",  # schema v10: the reviewer side publishes it
    # schema v7: messages are enqueued with the reviews the agent opens and delivered by the
    # worker (claim, settle); it never deletes or rewrites what a message says.
    "interlock_outbox": (
        "SELECT, INSERT, UPDATE (status, attempts, next_attempt_at, claimed_by, claimed_until, "
        "delivered_at, last_error)"
    ),
    **dict.fromkeys(CHECKPOINT_TABLES, _DML),
    "checkpoint_migrations": "SELECT, INSERT",
}
"""Table -> what the agent role may do with it ('' = nothing)."""

_REVIEWER_LIMITS: Mapping[str, str] = {
    "interlock_schema": "SELECT",
    "interlock_audit": "SELECT, INSERT",  # append-only, whoever asks
    "interlock_audit_head": "SELECT, UPDATE",
    "checkpoint_migrations": "SELECT, INSERT",
}

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, kw_only=True)
class RolesResult:
    """What `setup_roles` did, and the URL each side should use."""

    agent: str
    reviewer: str
    created: tuple[str, ...]
    tables: tuple[str, ...]
    agent_url: str
    reviewer_url: str

    def to_dict(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "reviewer": self.reviewer,
            "created": list(self.created),
            "tables": list(self.tables),
            "agent_url": redact_url(self.agent_url),
            "reviewer_url": redact_url(self.reviewer_url),
        }


def _check_role(kind: str, name: str) -> str:
    if not _ROLE.fullmatch(name):
        msg = (
            f"{kind} role name {name!r} is not allowed: use 1-63 lowercase letters, digits or "
            f"'_', starting with a letter or '_' (for example {DEFAULT_AGENT_ROLE})."
        )
        raise ConfigError(msg)
    return name


def role_url(url: str, role: str, password: str | None) -> str:
    """`url` with its user (and password, when given) replaced by `role`'s."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = quote(role, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def setup_roles(
    db: Database,
    *,
    agent: str = DEFAULT_AGENT_ROLE,
    reviewer: str = DEFAULT_REVIEWER_ROLE,
    agent_password: str | None = None,
    reviewer_password: str | None = None,
) -> RolesResult:
    """Create the two roles when missing and grant exactly the matrix above, in one
    transaction. Postgres only; `db` must be at the latest schema and opened as an owner."""
    if db.dialect != "postgres":
        msg = (
            f"database roles need Postgres; {redact_url(db.url)} is the embedded SQLite mode, "
            "which trusts the local user."
        )
        raise ConfigError(msg)
    agent, reviewer = _check_role("agent", agent), _check_role("reviewer", reviewer)
    if agent == reviewer:
        msg = f"the agent and reviewer roles must differ; both are {agent!r}."
        raise ConfigError(msg)
    created: list[str] = []
    with db.transaction(pipelined=False) as conn:
        # One setup at a time: CREATE ROLE and GRANT race badly otherwise.
        wait_for_xact_lock(conn, 0x496E746C6B000006)
        for role, password in ((agent, agent_password), (reviewer, reviewer_password)):
            exists = conn.scalar("SELECT count(*) AS n FROM pg_roles WHERE rolname = ?", (role,))
            if not exists:
                # Roles are cluster-wide and the lock above is per database: another database's
                # setup may create the same role meanwhile, which is as good.
                conn.execute(
                    f'DO $$ BEGIN CREATE ROLE "{role}" LOGIN NOINHERIT; '
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                )
                created.append(role)
            if password:
                conn.execute(f'ALTER ROLE "{role}" LOGIN PASSWORD {_quote_literal(password)}')
        name = conn.scalar("SELECT current_database() AS d")
        schema = conn.scalar("SELECT current_schema() AS s")
        tables = [
            r["tablename"]
            for r in conn.all(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND (tablename LIKE 'interlock%' OR tablename LIKE 'checkpoint%') "
                "ORDER BY tablename"
            )
        ]
        for role in (agent, reviewer):
            conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{role}"')
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        for table in tables:
            conn.execute(f'REVOKE ALL ON TABLE "{table}" FROM "{agent}", "{reviewer}"')
            agent_may = AGENT_GRANTS.get(table, "SELECT")
            if agent_may:
                conn.execute(f'GRANT {agent_may} ON TABLE "{table}" TO "{agent}"')
            reviewer_may = _REVIEWER_LIMITS.get(table, _DML)
            conn.execute(f'GRANT {reviewer_may} ON TABLE "{table}" TO "{reviewer}"')
    return RolesResult(
        agent=agent,
        reviewer=reviewer,
        created=tuple(created),
        tables=tuple(tables),
        agent_url=role_url(db.url, agent, agent_password),
        reviewer_url=role_url(db.url, reviewer, reviewer_password),
    )
