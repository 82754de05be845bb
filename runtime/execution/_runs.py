"""What the engine passes around: a thread's identity, where it stands, what a run did, and
the id-addressed resume built from a review's decision rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from langgraph.types import Command

from interlock.risk.errors import ConfigError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.store.database import Database

__all__ = [
    "RunResult",
    "Snapshot",
    "ThreadInfo",
    "ThreadStatus",
    "Update",
    "claim_thread",
    "resume_command",
]

Update = Callable[[str, Any], None]
ThreadStatus = Literal["pending", "done", "running", "in_doubt"]


@dataclass(frozen=True, kw_only=True)
class ThreadInfo:
    thread_id: str
    graph: str
    options: dict[str, Any]
    agent: str | None
    requester: str | None


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """Where a thread stands after a run: what `_settle` registers and reports."""

    checkpoint_id: str | None
    interrupts: tuple[tuple[str, str, Any], ...]
    """(checkpoint_ns, interrupt id, payload) of every live interrupt."""
    next: tuple[str, ...]
    messages: tuple[Any, ...]


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What one run or resume of a thread did."""

    ran: bool
    """False when the thread was busy (claimed by another process) or had nothing to do."""
    busy: bool = False
    events: tuple[str, ...] = ()
    review_ids: tuple[str, ...] = ()
    """The reviews the thread is stopped at now."""
    thread_status: ThreadStatus = "running"
    final_message: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    marked_in_doubt: int = 0
    """Execution-ledger rows this run or recovery moved from `started` to `in_doubt`."""
    thread_id: str | None = None
    """The thread, when the caller named only a review (`Engine.resume`)."""


def resume_command(row: Mapping[str, Any], decisions: Sequence[Mapping[str, Any]]) -> Command[Any]:
    """The id-addressed resume, built from the review's decision rows alone."""
    by_action: dict[int, dict[str, Any]] = {}
    approvers: dict[int, list[str]] = {}
    for d in decisions:
        i = int(d["action_index"])
        if d["type"] == "approve":
            approvers.setdefault(i, []).append(d["reviewer"])
        if d["settles"]:
            by_action[i] = json.loads(d["payload"])
    for i, names in approvers.items():
        if by_action[i].get("type") == "approve":
            by_action[i] = {**by_action[i], "reviewer": ", ".join(names)}
    count = int(row["action_count"])
    missing = [i for i in range(count) if i not in by_action]
    if missing:
        msg = f"review {row['id']} is settled but action(s) {missing} have no decision"
        raise ConfigError(msg)
    return Command(
        resume={row["interrupt_id"]: {"decisions": [by_action[i] for i in range(count)]}}
    )


def claim_thread(
    db: Database,
    audit: AuditLog,
    thread_id: str,
    graph: str,
    options: Mapping[str, Any],
    agent: str | None,
    requester: str | None,
    now: datetime,
) -> None:
    """Record a new run of `thread_id` (its row on the first run) and audit it; refused
    while the thread waits for a review, or when it runs another graph."""
    from interlock.risk import canonical_json
    from interlock.risk.errors import ConflictError

    with db.transaction() as conn:
        found = conn.one("SELECT graph FROM interlock_threads WHERE thread_id = ?", (thread_id,))
        if found is None:
            conn.execute(
                "INSERT INTO interlock_threads (thread_id, graph, options, agent, requester, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    thread_id,
                    graph,
                    canonical_json(dict(options)),
                    agent,
                    requester,
                    now,
                ),
            )
        elif found["graph"] != graph:
            msg = f"thread {thread_id!r} runs graph {found['graph']!r}, not {graph!r}."
            raise ConflictError(msg)
        waiting = conn.scalar(
            "SELECT count(*) AS n FROM interlock_reviews WHERE thread_id = ? "
            "AND status = 'pending' AND kind = 'review'",
            (thread_id,),
        )
        if waiting:
            msg = (
                f"thread {thread_id!r} is waiting for a review; decide it first "
                "(`interlock pending`)."
            )
            raise ConflictError(msg)
        audit.append(
            "run_started",
            actor=requester or agent or "agent",
            thread_id=thread_id,
            data={"graph": graph, "agent": agent, "requester": requester},
            conn=conn,
        )
