"""Schema version 10: the policy the deployment pins, which the agent side cannot choose.

`interlock_policy_pin` holds one row: the policy every runtime opening this database must
run (its YAML text, its version, who published it and when). Only the reviewer side writes
it (`interlock policy publish`, admin; the agent role may only SELECT it, as every table it
is not granted more on); a runtime whose own configuration (`INTERLOCK_POLICY`, a `policy=`
argument) names another version refuses to open, and one configured with none runs the
pinned policy. The agent side's audit appends may not write `policy_published` either.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step
from interlock.runtime.store._schema_v9 import REVIEWER_EVENTS, agent_append_function

__all__ = ["REVIEWER_EVENTS_V10", "V10"]

REVIEWER_EVENTS_V10: tuple[str, ...] = (*REVIEWER_EVENTS, "policy_published")
"""Audit events only the reviewer side writes, from this version on."""

_PIN = """
CREATE TABLE interlock_policy_pin (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    actor TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
)
"""

V10: tuple[Step, ...] = (
    _PIN,
    {"postgres": agent_append_function(REVIEWER_EVENTS_V10, create="CREATE OR REPLACE")},
)
