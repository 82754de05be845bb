"""What a decision came to: the value `DecisionService.decide` returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["DecisionOutcome", "OutcomeStatus", "with_changes"]

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
