"""interlock.runtime.store: the database under everything durable.

One URL opens both LangGraph's checkpoints and Interlock's own tables (`open_database`):
connections and pools, transactions (pipelined on Postgres), the schema and its migrations,
per-thread claims, and the settings read from the environment.
"""

from interlock.runtime.store._db import (
    DatabaseURL,
    parse_database_url,
    redact_url,
)
from interlock.runtime.store._lock_wait import LOCK_TIMEOUT_SQLSTATE, lock_wait_message
from interlock.runtime.store._roles import (
    AGENT_GRANTS,
    DEFAULT_AGENT_ROLE,
    DEFAULT_REVIEWER_ROLE,
    RolesResult,
    role_url,
    setup_roles,
)
from interlock.runtime.store.database import (
    Conn,
    Database,
    Dialect,
    open_checkpointer,
    open_database,
)
from interlock.runtime.store.migrations import (
    LATEST_VERSION,
    UpgradeResult,
    require_schema,
    schema_version,
    upgrade,
    upgrade_database,
)
from interlock.runtime.store.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REVIEWERS,
    Settings,
    protect_files,
)

__all__ = [
    "AGENT_GRANTS",
    "DEFAULT_AGENT_ROLE",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_REVIEWERS",
    "DEFAULT_REVIEWER_ROLE",
    "LATEST_VERSION",
    "LOCK_TIMEOUT_SQLSTATE",
    "Conn",
    "Database",
    "DatabaseURL",
    "Dialect",
    "RolesResult",
    "Settings",
    "UpgradeResult",
    "lock_wait_message",
    "open_checkpointer",
    "open_database",
    "parse_database_url",
    "protect_files",
    "redact_url",
    "require_schema",
    "role_url",
    "schema_version",
    "setup_roles",
    "upgrade",
    "upgrade_database",
]
