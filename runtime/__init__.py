"""interlock.runtime: everything durable, one room per concern.

- `interlock.runtime.store`: the database (one URL for checkpoints and our tables), pools,
  transactions, schema and migrations, thread claims, settings.
- `interlock.runtime.audit`: the hash-chained audit log, its export, policy replay.
- `interlock.runtime.review`: review records and the inbox, reviewers, stop switches.
- `interlock.runtime.execution`: the thread runner, the graph registry, approvals and the
  execution ledger, recovery, the worker, prune.
- `interlock.runtime.decisions`: the decision service.
- `interlock.runtime.server`: the LangGraph Server backend and governed graphs.

`Runtime` ties them together. This package re-exports every public name of its rooms.
Importing it is cheap: the database drivers load only when a database is opened.
"""

from typing import Any

from interlock.runtime._runtime import RunOutcome, Runtime
from interlock.runtime.audit import AuditLog, AuditRow, VerifyResult, chain_hash, replay_rows
from interlock.runtime.decisions import (
    SYSTEM_ACTOR,
    DecisionOutcome,
    DecisionService,
    edit_scope,
)
from interlock.runtime.execution import (
    BuiltGraph,
    DurableStopSource,
    GraphFactory,
    GraphRegistry,
    PrunedThread,
    PruneResult,
    SweepResult,
    Worker,
    WorkerEvent,
    WorkerOptions,
    WorkerStats,
    parse_age,
    prune,
)
from interlock.runtime.review import (
    ADMIN_ROLE,
    DEMO_PASSWORD,
    DEMO_REVIEWERS,
    ActionFacts,
    Authenticator,
    DatabaseReviewers,
    DecisionRow,
    Inbox,
    PinnedPolicy,
    PolicyPin,
    Principal,
    ReviewDetail,
    Reviewer,
    ReviewerBook,
    Reviewers,
    ReviewSummary,
    Stop,
    StopSwitch,
    TimelineEntry,
    action_facts,
    calls_digest,
    ensure_demo_reviewers,
    hash_password,
    identity_key,
    qualifies,
    same_identity,
    top_reasons,
    verify_password,
)
from interlock.runtime.store import (
    LATEST_VERSION,
    Conn,
    Database,
    Settings,
    UpgradeResult,
    open_checkpointer,
    open_database,
    parse_database_url,
    redact_url,
    require_schema,
    schema_version,
    upgrade,
    upgrade_database,
)


def governed_graph(name: str = "ops_agent", **options: Any) -> Any:
    """`interlock.runtime.server.governed_graph`, loaded on first use: the server side pulls
    in LangGraph, which `import interlock.runtime` (the CLI) does not pay for."""
    from interlock.runtime.server import governed_graph as build

    return build(name, **options)


__all__ = [
    "ADMIN_ROLE",
    "DEMO_PASSWORD",
    "DEMO_REVIEWERS",
    "LATEST_VERSION",
    "SYSTEM_ACTOR",
    "ActionFacts",
    "AuditLog",
    "AuditRow",
    "Authenticator",
    "BuiltGraph",
    "Conn",
    "Database",
    "DatabaseReviewers",
    "DecisionOutcome",
    "DecisionRow",
    "DecisionService",
    "DurableStopSource",
    "GraphFactory",
    "GraphRegistry",
    "Inbox",
    "PinnedPolicy",
    "PolicyPin",
    "Principal",
    "PruneResult",
    "PrunedThread",
    "ReviewDetail",
    "ReviewSummary",
    "Reviewer",
    "ReviewerBook",
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
    "action_facts",
    "calls_digest",
    "chain_hash",
    "edit_scope",
    "ensure_demo_reviewers",
    "governed_graph",
    "hash_password",
    "identity_key",
    "open_checkpointer",
    "open_database",
    "parse_age",
    "parse_database_url",
    "prune",
    "qualifies",
    "redact_url",
    "replay_rows",
    "require_schema",
    "same_identity",
    "schema_version",
    "top_reasons",
    "upgrade",
    "upgrade_database",
    "verify_password",
]
