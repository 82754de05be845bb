"""Client side of a review: find what is pending, check an answer, build the resume.

`resume_command` validates before anything is resumed, so a bad answer leaves the thread
pending and unchanged. It addresses the interrupt by id and binds every decision to the
digest the reviewer saw: if the state changed since (a hand edit, a new proposal), the answer
does not apply and the review re-opens with what is pending now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot

from interlock.nodes._decisions import validate_response
from interlock.nodes._payloads import ReviewRequest, ReviewResponse

__all__ = ["PendingReview", "pending_reviews", "resume_command"]


class _HasState(Protocol):
    def get_state(self, config: RunnableConfig, *, subgraphs: bool = ...) -> StateSnapshot: ...


@dataclass(frozen=True, kw_only=True)
class PendingReview:
    """One open review of a thread: the interrupt id and the request it carries."""

    thread_id: str
    interrupt_id: str
    request: ReviewRequest


def pending_reviews(graph: _HasState, config: RunnableConfig) -> list[PendingReview]:
    """The Interlock reviews waiting on the thread named by `config`."""
    snapshot = graph.get_state(config)
    thread = str((config.get("configurable") or {}).get("thread_id", ""))
    return [
        PendingReview(thread_id=thread, interrupt_id=i.id, request=cast(ReviewRequest, i.value))
        for i in snapshot.interrupts
        if isinstance(i.value, dict) and i.value.get("kind") == "interlock.review"
    ]


def resume_command(
    pending: PendingReview, answer: Any, *, now: datetime | None = None
) -> Command[Any]:
    """Validate `answer` against the request and build `Command(resume={id: response})`."""
    response: ReviewResponse = validate_response(pending.request, answer, now=now)
    for decision, action in zip(
        response["decisions"], pending.request["action_requests"], strict=True
    ):
        if "digest" in action:
            decision.setdefault("digest", action["digest"])
    return Command(resume={pending.interrupt_id: response})
