"""Gate events into the audit log, for one run.

The gate reports what it does through `record`. Most events are written at once, each in its
own transaction. The review node's echo of a decision (`decided`, `escalated`) is different:
the decision service already committed the decision and its audit row before the thread
resumed, so the echo waits in `deferred` and is written with the run's next durable write
(the execution ledger's transaction, which guarded execution opens moments later) or when
the run returns (`flush`), in runs the engine drives (`defer=True`). That keeps an approved
action's path to its tool at one transaction instead of two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from interlock.runtime.audit.log import AuditEntry, AuditLog

if TYPE_CHECKING:
    from interlock.nodes import AuditEvent

__all__ = ["DEFERRED", "GATE_EVENTS", "DurableAuditSink"]

GATE_EVENTS: Mapping[str, str] = {
    "review": "review_required",
    "executed": "execution_succeeded",
    "failed": "execution_failed",
    "in_doubt": "execution_in_doubt",
    "refused": "execution_refused",
    "denied": "action_denied",
    "unknown_tool": "action_denied",
    "decided": "decision_applied",
    "escalated": "review_escalated",
    "approval_issued": "approval_issued",
    "decision_refused": "decision_refused",
}
DEFERRED = frozenset({"decided", "escalated"})
"""Gate events that echo a decision already in the log: written with the next write."""


class DurableAuditSink:
    """Gate events into the audit log; `actor` is the agent the run acts for, and every row
    this sink writes is the agent's, also the echo of a decision (a reviewer named in a
    resume is kept as `data["reviewer"]`, never as the actor: the agent side could name
    anyone). Events about an assessed call keep its `action` and `assessment`, which
    `interlock policy replay` reads."""

    def __init__(self, audit: AuditLog, actor: str, *, defer: bool = False) -> None:
        """`defer=True` only where the caller flushes when the run returns."""
        self.audit, self.actor, self.defer = audit, actor, defer
        self.deferred: list[AuditEntry] = []

    def record(self, event: AuditEvent) -> None:
        entry = self.entry(event)
        if self.defer and event["kind"] in DEFERRED:
            self.deferred.append(entry)
            return
        self.audit.append_all([*self.deferred, entry])
        self.deferred.clear()

    def entry(self, event: AuditEvent) -> AuditEntry:
        """The audit row `record` writes for `event`."""
        kind = event["kind"]
        data: dict[str, Any] = {
            "tool": event.get("tool"),
            "tool_call_id": event.get("tool_call_id"),
            "outcome": event.get("outcome"),
            "level": event.get("level"),
            "detail": event.get("detail"),
            "gate_event": kind,
        }
        if event.get("reviewer"):
            # As the resume named them: the agent side writes this row, so its actor is the
            # agent. Who decided, authenticated, is the decision service's own row's actor.
            data["reviewer"] = event["reviewer"]
        if "action" in event:
            data["action"] = event["action"]
        if "assessment" in event:
            data["assessment"] = event["assessment"]
        return AuditEntry(
            event=GATE_EVENTS.get(kind, f"gate_{kind}"),
            actor=self.actor,
            thread_id=event.get("thread_id") or None,
            digest=event.get("digest"),
            data=data,
        )

    def flush(self) -> None:
        """Write what is still deferred (the run is returning)."""
        if self.deferred:
            self.audit.append_all(self.deferred)
            self.deferred.clear()
