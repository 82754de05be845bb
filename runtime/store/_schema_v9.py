"""Schema version 9: database guards the agent role cannot get around (Postgres only).

- **No shadowing.** A session resolves an unqualified table name through `pg_temp` first, and
  any role may create TEMP tables by default: v6's guard asked `has_table_privilege(
  'interlock_decisions', ...)`, so an agent that created a temp table of that name passed as
  the reviewer side. Every function here (and v1's, v4's and v6's, replaced) names its
  tables with their schema (the trigger's own `TG_TABLE_SCHEMA`; for `interlock_fence`, the
  schema it is created in) and runs with `search_path = pg_catalog, pg_temp`.
- **The audit head only moves forward, onto the row just appended.** The agent role appends
  audit rows, so it may update `interlock_audit_head`; moving it back made every later
  append collide with an existing `seq` (and so every audited reviewer write, such as
  `interlock stop`, fail). For a session that may not record decisions (the agent side):
  the head only moves forward; an audit row must follow the last one (`seq - 1` exists and
  its hash is the row's `prev_hash`); and when the transaction commits, the head names an
  existing row with its hash and no row lies past it. The reviewer side and the owner keep
  their full rights, to restore a head.
- **Reviewer-side events are written by the reviewer side.** The agent side may not append
  an audit row whose event only the reviewer side writes (`REVIEWER_EVENTS`), so it cannot
  add a `decision_recorded` or a `reviewer_added` of its own.

The reviewer side is told apart as v6 does: the session may INSERT into the schema's
`interlock_decisions`. No role is named; `interlock db roles` decides who is which side.
"""

from __future__ import annotations

from interlock.runtime.store._schema import GENESIS_HASH, Step

__all__ = ["REVIEWER_EVENTS", "V9", "agent_append_function"]

REVIEWER_EVENTS: tuple[str, ...] = (
    "decision_recorded",
    "in_doubt_resolved",
    "review_expired",
    "reviewer_added",
    "reviewer_updated",
    "reviewer_removed",
    "reviewer_password_changed",
    "scope_stopped",
    "scope_resumed",
    "role_requested",
)
"""Audit events only the reviewer side writes (decisions, expiry, in-doubt resolutions,
reviewers, stops, the console's requests for a role). An event both sides write (such as
`decision_refused`, `approval_issued`, `authentication_failed`) is not listed."""

_SAFE = "SET search_path = pg_catalog, pg_temp"

# True when the session may record decisions in the trigger's own schema (the reviewer side).
_REVIEWER_SIDE = "has_table_privilege(format('%I.interlock_decisions', TG_TABLE_SCHEMA), 'INSERT')"

_AGENT_GUARD = f"""
CREATE OR REPLACE FUNCTION interlock_agent_guard() RETURNS trigger LANGUAGE plpgsql
{_SAFE} AS $$
BEGIN
    IF {_REVIEWER_SIDE} THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'interlock_executions' THEN
        IF OLD.status <> 'started' THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
                'permission denied: the agent side may not change ledger row %s, which is %s',
                OLD.digest, OLD.status);
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' OR NEW.decided_by IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
                'permission denied: the agent side may open review %s only as pending', NEW.id);
        END IF;
    ELSIF (NEW.status, NEW.outcome, NEW.decided_at, NEW.decided_by)
            IS DISTINCT FROM (OLD.status, OLD.outcome, OLD.decided_at, OLD.decided_by)
          AND NOT (OLD.status = 'pending' AND NEW.status = 'cancelled' AND OLD.kind = 'review'
                   AND NEW.decided_by IS NOT DISTINCT FROM OLD.decided_by) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
            'permission denied: the agent side may not settle review %s (%s -> %s)',
            OLD.id, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END
$$
"""

# v1's refusal names no table; it only gets the safe search path.
_APPEND_ONLY = f"ALTER FUNCTION interlock_audit_append_only() {_SAFE}"

# Not a trigger, so no TG_TABLE_SCHEMA: the schema the migration runs in (where v4 created the
# function and its table) is written into the body. `@` never occurs in the text otherwise.
_FENCE_FN = f"""
DO $do$
BEGIN
    EXECUTE replace($fn$
CREATE OR REPLACE FUNCTION @s.interlock_fence(p_thread TEXT, p_token BIGINT) RETURNS BIGINT
LANGUAGE plpgsql {_SAFE} AS $body$
DECLARE
    latest BIGINT;
BEGIN
    SELECT token INTO latest FROM @s.interlock_thread_fences
        WHERE thread_id = p_thread FOR SHARE;
    IF latest IS DISTINCT FROM p_token THEN
        RAISE EXCEPTION 'interlock: the claim on thread % was taken over (token %, latest %)',
            p_thread, p_token, latest USING ERRCODE = 'IL409';
    END IF;
    RETURN latest;
END
$body$
$fn$, '@s', quote_ident(current_schema()));
END
$do$
"""


def agent_append_function(events: tuple[str, ...], *, create: str = "CREATE") -> str:
    """The function behind the agent side's audit appends, refusing `events` (the reviewer
    side's own); a later version replaces it (`create="CREATE OR REPLACE"`) to add events."""
    events_sql = ", ".join(f"'{e}'" for e in events)
    events_text = ", ".join(events)
    return f"""
{create} FUNCTION interlock_audit_agent_append() RETURNS trigger LANGUAGE plpgsql
{_SAFE} AS $$
DECLARE
    before_hash TEXT;
BEGIN
    IF {_REVIEWER_SIDE} THEN
        RETURN NEW;
    END IF;
    IF NEW.event IN ({events_sql}) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
            'permission denied: the agent side may not write audit event %s (only the '
            'reviewer side writes %s); record it through the reviewer database role',
            NEW.event, '{events_text}');
    END IF;
    IF NEW.seq = 1 THEN
        before_hash := '{GENESIS_HASH}';
    ELSE
        EXECUTE format('SELECT hash FROM %I.interlock_audit WHERE seq = $1', TG_TABLE_SCHEMA)
            INTO before_hash USING NEW.seq - 1;
    END IF;
    IF before_hash IS DISTINCT FROM NEW.prev_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
            'permission denied: the agent side may append audit row %s only right after '
            'row %s, linked by its hash; read the head and append after it', NEW.seq,
            NEW.seq - 1);
    END IF;
    RETURN NEW;
END
$$"""


_AUDIT_APPEND = f"""{agent_append_function(REVIEWER_EVENTS)};
CREATE TRIGGER interlock_audit_agent_append BEFORE INSERT ON interlock_audit
    FOR EACH ROW EXECUTE FUNCTION interlock_audit_agent_append();
"""

_HEAD_FORWARD = f"""
CREATE FUNCTION interlock_audit_head_forward() RETURNS trigger LANGUAGE plpgsql
{_SAFE} AS $$
BEGIN
    IF NEW.seq <= OLD.seq AND NOT {_REVIEWER_SIDE} THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
            'permission denied: the agent side may move the audit head only forward '
            '(seq %s -> %s refused); only the reviewer side or the owner may restore it',
            OLD.seq, NEW.seq);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER interlock_audit_head_forward BEFORE UPDATE ON interlock_audit_head
    FOR EACH ROW EXECUTE FUNCTION interlock_audit_head_forward();
"""

# At COMMIT (deferred), for the agent side: the head names an existing row with its hash, and
# no row lies past it. Fires for each appended row and each head move of the transaction.
_HEAD_AT_COMMIT = f"""
CREATE FUNCTION interlock_audit_head_check() RETURNS trigger LANGUAGE plpgsql
{_SAFE} AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
    last_seq BIGINT;
    last_hash TEXT;
BEGIN
    IF {_REVIEWER_SIDE} THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT seq, hash FROM %I.interlock_audit_head WHERE id = 1',
                   TG_TABLE_SCHEMA) INTO head_seq, head_hash;
    EXECUTE format('SELECT seq, hash FROM %I.interlock_audit ORDER BY seq DESC LIMIT 1',
                   TG_TABLE_SCHEMA) INTO last_seq, last_hash;
    IF (head_seq, head_hash) IS DISTINCT FROM (last_seq, last_hash) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
            'permission denied: the agent side left the audit head at seq %s but the last '
            'row is %s; an append moves the head onto the row it adds, in one transaction',
            head_seq, last_seq);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER interlock_audit_head_check AFTER INSERT ON interlock_audit
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION interlock_audit_head_check();
CREATE CONSTRAINT TRIGGER interlock_audit_head_check AFTER UPDATE ON interlock_audit_head
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION interlock_audit_head_check();
"""

V9: tuple[Step, ...] = (
    {"postgres": _AGENT_GUARD},
    {"postgres": _APPEND_ONLY},
    {"postgres": _FENCE_FN},
    {"postgres": _AUDIT_APPEND},
    {"postgres": _HEAD_FORWARD},
    {"postgres": _HEAD_AT_COMMIT},
)
