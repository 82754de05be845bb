"""Schema version 4: fenced thread claims.

A thread's claim (an advisory lock on Postgres, a claim row on SQLite) can die while its
holder still runs: a Postgres restart drops the session and its lock, and the holder's tool
keeps running. Every claim therefore also takes the next **fencing token** of its thread,
kept durably in `interlock_thread_fences`, and every write the holder makes for the thread
(opening and finishing execution-ledger rows, marking one in doubt, LangGraph checkpoints and
their pending writes) checks in its own transaction that the token is still the latest. A
holder that was overtaken finds its writes refused, so history never forks and a ledger row
another worker marked in doubt is never overwritten.

- `interlock_fence(thread, token)` (Postgres): locks the thread's fence row FOR SHARE, so a
  claim incrementing it waits for the write in flight (or the write waits for the claim and
  then sees the new token), and raises SQLSTATE `IL409` when `token` is not the latest. A
  statement that calls it rolls back with it; SQLite checks the same in Python inside its
  BEGIN IMMEDIATE transaction, which already serialises writers.
- `interlock_audit_started`: which actions already have an `execution_started` row, so an
  in-doubt marking can keep the log causal (a started row before the in-doubt one) without
  reading the whole log.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["FENCE_SQLSTATE", "V4"]

FENCE_SQLSTATE = "IL409"
"""The SQLSTATE `interlock_fence` raises on Postgres when a claim was overtaken."""

_FENCES = """
CREATE TABLE interlock_thread_fences (
    thread_id TEXT PRIMARY KEY,
    token BIGINT NOT NULL CHECK (token >= 1)
)
"""

_FENCE_FN = f"""
CREATE FUNCTION interlock_fence(p_thread TEXT, p_token BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    latest BIGINT;
BEGIN
    SELECT token INTO latest FROM interlock_thread_fences WHERE thread_id = p_thread FOR SHARE;
    IF latest IS DISTINCT FROM p_token THEN
        RAISE EXCEPTION 'interlock: the claim on thread % was taken over (token %, latest %)',
            p_thread, p_token, latest USING ERRCODE = '{FENCE_SQLSTATE}';
    END IF;
    RETURN latest;
END
$$
"""

V4: tuple[Step, ...] = (
    _FENCES,
    {"postgres": _FENCE_FN},
    "CREATE INDEX interlock_audit_started ON interlock_audit (digest) "
    "WHERE event = 'execution_started'",
)
