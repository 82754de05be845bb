"""interlock.runtime.audit: the append-only, hash-chained audit log.

The log and its verification (`AuditLog`), the rows and their export, the sink the agent
side writes through, and `replay_rows` (a policy what-if over recorded actions).
"""

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
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "AuditEntry",
    "AuditLog",
    "AuditRow",
    "ReplayItem",
    "ReplayReport",
    "VerifyResult",
    "chain_hash",
    "replay_rows",
]
