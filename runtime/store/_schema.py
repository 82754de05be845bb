"""The SQL of each schema version. Written once for both backends where the SQL agrees.

Conventions that keep one text valid on SQLite and Postgres:
- ids are TEXT chosen by Interlock (uuid4 hex, digests), so no autoincrement dialects;
- JSON is TEXT holding canonical JSON, so both backends give back exactly what was written
  (on Postgres, cast with `payload::jsonb` to query it);
- timestamps are TIMESTAMPTZ (Postgres) and fixed-width UTC text under the same declared
  type on SQLite, which `interlock.runtime.store._db` converts back to datetimes;
- flags are INTEGER 0/1.
A step that differs is a mapping from dialect to SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from interlock.runtime.store._db import Dialect

__all__ = ["GENESIS_HASH", "SCHEMA_TABLE", "V1", "Step"]

Step: TypeAlias = str | Mapping[Dialect, str]

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first audit row."""

SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS interlock_schema (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)
"""

_REVIEWS = """
CREATE TABLE interlock_reviews (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT,
    interrupt_id TEXT NOT NULL,
    round INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'decided', 'expired', 'escalated', 'cancelled')),
    level TEXT NOT NULL,
    score INTEGER,
    environment TEXT,
    tool TEXT NOT NULL,
    action_count INTEGER NOT NULL DEFAULT 1,
    agent TEXT,
    requester TEXT,
    required_roles TEXT NOT NULL DEFAULT '[]',
    required_count INTEGER NOT NULL DEFAULT 1 CHECK (required_count >= 1),
    escalated_to TEXT,
    policy_version TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    decided_at TIMESTAMPTZ,
    resumed_at TIMESTAMPTZ,
    payload TEXT NOT NULL,
    UNIQUE (thread_id, checkpoint_ns, interrupt_id, round)
)
"""

_DECISIONS = """
CREATE TABLE interlock_decisions (
    id TEXT PRIMARY KEY,
    review_id TEXT NOT NULL REFERENCES interlock_reviews (id),
    action_index INTEGER NOT NULL DEFAULT 0 CHECK (action_index >= 0),
    reviewer TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('approve', 'edit', 'reject', 'respond', 'escalate')),
    settles INTEGER NOT NULL DEFAULT 0 CHECK (settles IN (0, 1)),
    digest TEXT,
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (review_id, action_index, reviewer)
)
"""

_APPROVALS = """
CREATE TABLE interlock_approvals (
    digest TEXT PRIMARY KEY,
    review_id TEXT NOT NULL REFERENCES interlock_reviews (id),
    thread_id TEXT NOT NULL,
    action_index INTEGER NOT NULL DEFAULT 0,
    reviewers TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ,
    CHECK (expires_at > issued_at)
)
"""

_EXECUTIONS = """
CREATE TABLE interlock_executions (
    digest TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    review_id TEXT,
    tool TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'in_doubt')),
    idempotent INTEGER NOT NULL DEFAULT 0 CHECK (idempotent IN (0, 1)),
    attempts INTEGER NOT NULL DEFAULT 1,
    result TEXT,
    error TEXT,
    worker TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
)
"""

_AUDIT = """
CREATE TABLE interlock_audit (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    ts TIMESTAMPTZ NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    thread_id TEXT,
    review_id TEXT,
    digest TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
)
"""

# The head pointer is updated in the same transaction as each append, so removing rows at
# the end of the chain (which leaves a valid shorter chain) is still detected.
_AUDIT_HEAD = """
CREATE TABLE interlock_audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
)
"""

_STOPS = """
CREATE TABLE interlock_stops (
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, value)
)
"""

# Refuse UPDATE, DELETE (and on Postgres TRUNCATE) of audit rows: defence in depth. Someone
# with DDL rights can still drop the trigger; the hash chain is what catches that.
_AUDIT_GUARD: Mapping[Dialect, str] = {
    "postgres": """
CREATE FUNCTION interlock_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'interlock_audit is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER interlock_audit_append_only BEFORE UPDATE OR DELETE ON interlock_audit
    FOR EACH ROW EXECUTE FUNCTION interlock_audit_append_only();
CREATE TRIGGER interlock_audit_no_truncate BEFORE TRUNCATE ON interlock_audit
    FOR EACH STATEMENT EXECUTE FUNCTION interlock_audit_append_only();
""",
    "sqlite": """
CREATE TRIGGER interlock_audit_no_update BEFORE UPDATE ON interlock_audit
BEGIN SELECT RAISE(ABORT, 'interlock_audit is append-only: UPDATE refused'); END
""",
}
_AUDIT_GUARD_SQLITE_DELETE: Mapping[Dialect, str] = {
    "sqlite": """
CREATE TRIGGER interlock_audit_no_delete BEFORE DELETE ON interlock_audit
BEGIN SELECT RAISE(ABORT, 'interlock_audit is append-only: DELETE refused'); END
""",
}

V1: tuple[Step, ...] = (
    _REVIEWS,
    # The inbox reads only pending rows: a partial index keeps that independent of history.
    "CREATE INDEX interlock_reviews_pending ON interlock_reviews (created_at) "
    "WHERE status = 'pending'",
    "CREATE INDEX interlock_reviews_pending_expiry ON interlock_reviews (expires_at) "
    "WHERE status = 'pending'",
    # What a worker still has to resume.
    "CREATE INDEX interlock_reviews_to_resume ON interlock_reviews (decided_at) "
    "WHERE status = 'decided' AND resumed_at IS NULL",
    "CREATE INDEX interlock_reviews_thread ON interlock_reviews (thread_id, checkpoint_ns)",
    _DECISIONS,
    # Exactly one decision settles an action: the second writer hits this index and loses.
    "CREATE UNIQUE INDEX interlock_decisions_one_winner "
    "ON interlock_decisions (review_id, action_index) WHERE settles = 1",
    _APPROVALS,
    "CREATE INDEX interlock_approvals_review ON interlock_approvals (review_id)",
    _EXECUTIONS,
    "CREATE INDEX interlock_executions_open ON interlock_executions (started_at) "
    "WHERE status IN ('started', 'in_doubt')",
    "CREATE INDEX interlock_executions_thread ON interlock_executions (thread_id)",
    _AUDIT,
    "CREATE INDEX interlock_audit_ts ON interlock_audit (ts)",
    "CREATE INDEX interlock_audit_thread ON interlock_audit (thread_id)",
    "CREATE INDEX interlock_audit_review ON interlock_audit (review_id)",
    _AUDIT_HEAD,
    f"INSERT INTO interlock_audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')",
    _AUDIT_GUARD,
    _AUDIT_GUARD_SQLITE_DELETE,
    _STOPS,
)
