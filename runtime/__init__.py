"""interlock.runtime: everything durable.

Opening the database (checkpoints and Interlock's own tables) from one URL, the migrations
of our tables, the audit log and the reviewers file. Importing this package is cheap: the
database drivers and LangGraph load only when a database is opened.
"""

from interlock.runtime.audit import AuditLog, AuditRow, VerifyResult, chain_hash
from interlock.runtime.migrations import (
    LATEST_VERSION,
    UpgradeResult,
    require_schema,
    schema_version,
    upgrade,
    upgrade_database,
)
from interlock.runtime.reviewers import (
    DEMO_PASSWORD,
    Reviewer,
    Reviewers,
    ensure_demo_reviewers,
    hash_password,
    verify_password,
)
from interlock.runtime.settings import Settings
from interlock.runtime.storage import Conn, Database, open_checkpointer, open_database

__all__ = [
    "DEMO_PASSWORD",
    "LATEST_VERSION",
    "AuditLog",
    "AuditRow",
    "Conn",
    "Database",
    "Reviewer",
    "Reviewers",
    "Settings",
    "UpgradeResult",
    "VerifyResult",
    "chain_hash",
    "ensure_demo_reviewers",
    "hash_password",
    "open_checkpointer",
    "open_database",
    "require_schema",
    "schema_version",
    "upgrade",
    "upgrade_database",
    "verify_password",
]
