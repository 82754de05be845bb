"""interlock.runtime: everything durable.

Opening the database (checkpoints and Interlock's own tables) from one URL, the migrations
of our tables, the audit log and the reviewers file; the `Runtime` facade over the review
inbox, the decision service, approvals, the execution ledger and the stop switch. Importing
this package is cheap: the database drivers and LangGraph load only when a database is
opened (and graphs only when a thread is run or resumed).
"""

from interlock.runtime.audit import AuditLog, AuditRow, VerifyResult, chain_hash
from interlock.runtime.decisions import SYSTEM_ACTOR, DecisionOutcome, DecisionService
from interlock.runtime.facade import RunOutcome, Runtime
from interlock.runtime.inbox import (
    DecisionRow,
    Inbox,
    ReviewDetail,
    ReviewSummary,
    TimelineEntry,
)
from interlock.runtime.migrations import (
    LATEST_VERSION,
    UpgradeResult,
    require_schema,
    schema_version,
    upgrade,
    upgrade_database,
)
from interlock.runtime.prune import PrunedThread, PruneResult, parse_age, prune
from interlock.runtime.reviewers import (
    DEMO_PASSWORD,
    Reviewer,
    Reviewers,
    ensure_demo_reviewers,
    hash_password,
    verify_password,
)
from interlock.runtime.settings import Settings
from interlock.runtime.stops import ADMIN_ROLE, Stop, StopSwitch
from interlock.runtime.storage import Conn, Database, open_checkpointer, open_database
from interlock.runtime.worker import (
    SweepResult,
    Worker,
    WorkerEvent,
    WorkerOptions,
    WorkerStats,
)

__all__ = [
    "ADMIN_ROLE",
    "DEMO_PASSWORD",
    "LATEST_VERSION",
    "SYSTEM_ACTOR",
    "AuditLog",
    "AuditRow",
    "Conn",
    "Database",
    "DecisionOutcome",
    "DecisionRow",
    "DecisionService",
    "Inbox",
    "PruneResult",
    "PrunedThread",
    "ReviewDetail",
    "ReviewSummary",
    "Reviewer",
    "Reviewers",
    "RunOutcome",
    "Runtime",
    "Settings",
    "Stop",
    "StopSwitch",
    "SweepResult",
    "TimelineEntry",
    "UpgradeResult",
    "VerifyResult",
    "Worker",
    "WorkerEvent",
    "WorkerOptions",
    "WorkerStats",
    "chain_hash",
    "ensure_demo_reviewers",
    "hash_password",
    "open_checkpointer",
    "open_database",
    "parse_age",
    "prune",
    "require_schema",
    "schema_version",
    "upgrade",
    "upgrade_database",
    "verify_password",
]
