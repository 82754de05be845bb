"""Schema version 6: the reviewer-side table of reviewers.

`interlock_reviewers` holds who may decide on a shared (Postgres) deployment: the login name,
its roles, a display name and the scrypt password hash. `name_key` is the name normalised
(stripped, casefolded): it is unique, so `Alice` and `alice` cannot both exist, and it is what
authentication looks up. On Postgres only the reviewer role may write this table; `interlock
db roles` grants that (role names are configurable, so no GRANT lives in a migration). The
embedded SQLite mode keeps using the reviewers file and trusts the local user; the table
exists there too, so both backends have one schema.

On Postgres a guard trigger also limits what a session that may not record decisions (the
agent side) can do with the rows it may update: see `_AGENT_GUARD`.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V6"]

_REVIEWERS = """
CREATE TABLE interlock_reviewers (
    name TEXT PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,
    roles TEXT NOT NULL CHECK (roles <> '[]'),
    display TEXT,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
)
"""

# On Postgres the agent role holds column-level UPDATE on reviews and the ledger (it cancels a
# review whose interrupt is gone, stamps resumed_at, finishes or marks in doubt what it ran).
# A GRANT cannot say "only pending -> cancelled" or "only rows still started", so this guard
# does, for any session that may not record decisions (the agent side). It names no role:
# `interlock db roles` decides who is which side.
_AGENT_GUARD = """
CREATE FUNCTION interlock_agent_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF has_table_privilege('interlock_decisions', 'INSERT') THEN
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
$$;
CREATE TRIGGER interlock_reviews_agent_guard BEFORE INSERT OR UPDATE ON interlock_reviews
    FOR EACH ROW EXECUTE FUNCTION interlock_agent_guard();
CREATE TRIGGER interlock_executions_agent_guard BEFORE UPDATE ON interlock_executions
    FOR EACH ROW EXECUTE FUNCTION interlock_agent_guard();
"""

V6: tuple[Step, ...] = (_REVIEWERS, {"postgres": _AGENT_GUARD})
