"""interlock.runtime.audit: the append-only, hash-chained audit log.

The log and its verification (`AuditLog`), the rows and their export, the sink the agent
side writes through, `replay_rows` (a policy what-if over recorded actions), and the JSON
lines each committed event is logged as (logger `interlock.events`, `configure_event_logs`).
"""

from interlock.runtime.audit._events_log import (
    EVENTS_LOGGER,
    LOG_FORMAT_ENV,
    JsonEventFormatter,
    configure_event_logs,
    event_line,
)
from interlock.runtime.audit.log import (
    EXPORT_COLUMNS,
    GENESIS_HASH,
    SYSTEM_ACTOR,
    AuditEntry,
    AuditLog,
    AuditRow,
    VerifyResult,
    chain_hash,
)
from interlock.runtime.audit.replay import ReplayItem, ReplayReport, replay_rows

__all__ = [
    "EVENTS_LOGGER",
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "LOG_FORMAT_ENV",
    "SYSTEM_ACTOR",
    "AuditEntry",
    "AuditLog",
    "AuditRow",
    "JsonEventFormatter",
    "ReplayItem",
    "ReplayReport",
    "VerifyResult",
    "chain_hash",
    "configure_event_logs",
    "event_line",
    "replay_rows",
]
