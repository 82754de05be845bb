"""What a decision came to: the value `DecisionService.decide` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from interlock.runtime.execution._runs import RunResult

__all__ = [
    "DecisionOutcome",
    "OutcomeStatus",
    "outcome_of",
    "span_end",
    "span_start",
    "with_changes",
]

OutcomeStatus = Literal["resumed", "waiting", "escalated", "queued"]
ThreadStatus = Literal["pending", "done", "running", "in_doubt"]


@dataclass(frozen=True, kw_only=True)
class DecisionOutcome:
    review_id: str
    thread_id: str
    status: OutcomeStatus
    """resumed; waiting (more approvals or actions to decide); escalated; queued (recorded,
    a worker or the process holding the thread resumes it)."""
    approvals: tuple[str, ...] = ()
    next_review_id: str | None = None
    thread_status: ThreadStatus = "pending"
    events: tuple[str, ...] = ()
    """Human lines: what the agent did after the decision."""
    final_message: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "approvals": list(self.approvals),
            "events": list(self.events),
            "notes": list(self.notes),
        }


def with_changes(base: DecisionOutcome, **changes: Any) -> DecisionOutcome:
    return replace(base, **changes)


def outcome_of(base: DecisionOutcome, status: OutcomeStatus, result: RunResult) -> DecisionOutcome:
    """`base` completed with what the resume that carried it did."""
    if result.busy:
        return with_changes(base, status="queued", thread_status="running")
    if not result.ran:  # carried into its thread before: nothing left to do
        return with_changes(
            base,
            status="resumed",
            next_review_id=result.review_ids[0] if result.review_ids else None,
            thread_status="pending" if result.review_ids else "done",
            notes=(*base.notes, "already resumed; nothing ran again"),
        )
    return with_changes(
        base,
        status=status,
        next_review_id=result.review_ids[0] if result.review_ids else None,
        thread_status=result.thread_status,
        events=result.events,
        final_message=result.final_message,
    )


def span_start(review_id: str, reviewer: str, items: Mapping[int, Any]) -> dict[str, Any]:
    """The `interlock.decision` span's attributes before deciding: who decides what."""
    types = [str(d.get("type")) if isinstance(d, Mapping) else "?" for d in items.values()]
    return {
        "interlock.review_id": str(review_id),
        "interlock.reviewer": reviewer,
        "interlock.decision": types,
        "interlock.actions": list(items),
    }


def span_end(span: Span, out: DecisionOutcome) -> DecisionOutcome:
    """`out`, with what it came to on the `interlock.decision` span."""
    if span.is_recording():
        span.set_attribute("interlock.review_id", out.review_id)  # the full id, if a prefix
        span.set_attribute("interlock.thread_id", out.thread_id)
        span.set_attribute("interlock.status", out.status)
        span.set_attribute("interlock.approvals", list(out.approvals))
        span.set_attribute("interlock.thread_status", out.thread_status)
    return out
