"""What one node run works with: the run's context (LangGraph's `context=`) and the scope
the gate resolves from it."""

from __future__ import annotations

from dataclasses import dataclass

from interlock.nodes._stops import NOTHING_STOPPED, StoppedScopes, StopSource
from interlock.nodes._stores import ApprovalStore, AuditSink, ExecutionLedger
from interlock.risk import Context, Credential

__all__ = ["InterlockContext", "RunScope"]


@dataclass(frozen=True, kw_only=True)
class InterlockContext:
    """Run-scoped settings, passed as LangGraph's `context=`; each one overrides the gate's.

    Any context object with attributes of these names works, so a graph may keep its own
    context type.
    """

    agent: str | None = None
    credential: Credential | None = None
    approvals: ApprovalStore | None = None
    ledger: ExecutionLedger | None = None
    audit: AuditSink | None = None
    stopped_agents: frozenset[str] = frozenset()
    stopped_environments: frozenset[str] = frozenset()
    stops: StopSource | None = None
    """Asked again at every gate evaluation; it adds to the gate's own sources, never
    replaces them (nothing in a context can lift a stop)."""


@dataclass(frozen=True, kw_only=True)
class RunScope:
    """Everything one node run needs, resolved from the gate and the run's context."""

    agent: str
    credential: Credential | None
    approvals: ApprovalStore
    ledger: ExecutionLedger
    audit: AuditSink
    context: Context
    thread_id: str
    checkpoint_ns: str
    stop_sources: tuple[StopSource, ...] = ()
    """Where `context`'s stopped scopes came from, so guarded execution can ask again."""
    static_stops: StoppedScopes = NOTHING_STOPPED
    """The stopped scopes the run's context listed."""
