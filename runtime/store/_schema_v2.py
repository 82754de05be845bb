"""Schema version 2: what the durable oversight core needs beyond version 1.

- `interlock_threads`: which graph (registry key and options) a thread runs, for whom, so
  that any process (a CLI call, a worker) can rebuild it and resume.
- `interlock_thread_claims`: the per-thread resume claim on SQLite (Postgres uses a
  session advisory lock instead, released by the server when the holder dies).
- reviews: the graph, a readable target, the kind (`review` for an interrupt, `in_doubt`
  for an execution whose outcome is unknown), the required rung on the policy ladder (so the
  inbox filters by role in SQL), the outcome, and the review that followed.
- approvals: the fields of `interlock.nodes.Approval` that v1 did not keep.
- executions: the action digest beside the ledger key (allowed calls are keyed by
  thread/turn/call, approved ones by their digest) and the tool call id.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V2"]

_THREADS = """
CREATE TABLE interlock_threads (
    thread_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    agent TEXT,
    requester TEXT,
    created_at TIMESTAMPTZ NOT NULL
)
"""

_CLAIMS = """
CREATE TABLE interlock_thread_claims (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL
)
"""

V2: tuple[Step, ...] = (
    _THREADS,
    _CLAIMS,
    "ALTER TABLE interlock_reviews ADD COLUMN graph TEXT",
    "ALTER TABLE interlock_reviews ADD COLUMN target TEXT",
    "ALTER TABLE interlock_reviews ADD COLUMN kind TEXT NOT NULL DEFAULT 'review'",
    "ALTER TABLE interlock_reviews ADD COLUMN rung INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE interlock_reviews ADD COLUMN outcome TEXT",
    "ALTER TABLE interlock_reviews ADD COLUMN decided_by TEXT",
    "ALTER TABLE interlock_reviews ADD COLUMN next_review_id TEXT",
    # What a worker still has to resume: settled reviews whose thread has not run on yet.
    "CREATE INDEX interlock_reviews_unresumed ON interlock_reviews (decided_at) "
    "WHERE resumed_at IS NULL AND status IN ('decided', 'escalated', 'expired')",
    "ALTER TABLE interlock_approvals ADD COLUMN tool TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE interlock_approvals ADD COLUMN interrupt_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE interlock_approvals ADD COLUMN tool_call_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE interlock_approvals ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE interlock_executions ADD COLUMN action_digest TEXT",
    "ALTER TABLE interlock_executions ADD COLUMN tool_call_id TEXT NOT NULL DEFAULT ''",
)
