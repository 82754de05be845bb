"""What the decision transaction reads first, in one round trip.

A decision needs the review row (locked), the decisions already taken on it, the thread it
belongs to, the stop switches, the audit head (locked: the transaction appends), the id of
the thread's latest checkpoint and, when the decider will also resume, the thread's claim.
On Postgres these statements go out together in the transaction's pipeline; on SQLite they
run in-process under BEGIN IMMEDIATE, which already serialises writers.

The review row is locked before the audit head, in the order every other writer takes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interlock.runtime.audit._sql import head_query
from interlock.runtime.review._records import APPROVAL_COLUMNS, REVIEW_COLUMNS
from interlock.runtime.store._claims import PG_CLAIM_BY_REVIEW, Claim, ThreadLocks
from interlock.runtime.store._db import Conn

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine

__all__ = [
    "Current",
    "current_interrupt",
    "moved_on",
    "on_latest",
    "read_current",
    "send_current",
]

_REVIEW = ", ".join(f"r.{c.strip()}" for c in REVIEW_COLUMNS.split(","))


@dataclass(frozen=True, kw_only=True)
class Current:
    row: dict[str, Any]
    decisions: list[dict[str, Any]]
    """The review's decisions so far: action_index, reviewer, type, settles, payload."""
    thread: dict[str, Any] | None
    """Its `interlock_threads` row (graph, options, agent, requester)."""
    stopped_agents: frozenset[str]
    stopped_environments: frozenset[str]
    head: tuple[int, str] | None
    """The audit head, locked; None when its row is missing (appending then says so)."""
    latest_checkpoint: str | None
    """The thread's latest root checkpoint in this database; None when not read (threads
    that live on a LangGraph Server) or when there is none."""
    claim: Claim | None
    read_at: float = 0.0
    """`time.monotonic()` when the read was sent: the stop switches are at least this fresh."""
    approvals: tuple[dict[str, Any], ...] = ()
    """The review's approval rows, signatures included, when asked for (`approvals=True`)."""


def read_current(
    conn: Conn,
    locks: ThreadLocks,
    review_id: str,
    *,
    checkpoints: bool,
    claim: bool,
    head: bool = True,
    approvals: bool = False,
) -> Current | None:
    """Read and lock what a decision on `review_id` needs, inside the caller's transaction;
    None when there is no review with exactly that id. A resume (`head=False`) appends
    nothing to the audit log here, so it leaves the head unlocked. `approvals=True` also reads
    the review's approval rows (a resume: guarded execution then verifies the copy it holds
    and consumes exactly that signed row, in one statement)."""
    args = {"checkpoints": checkpoints, "claim": claim, "head": head, "approvals": approvals}
    return send_current(conn, locks, review_id, **args)()


def send_current(
    conn: Conn,
    locks: ThreadLocks,
    review_id: str,
    *,
    checkpoints: bool,
    claim: bool,
    head: bool = True,
    approvals: bool = False,
) -> Callable[[], Current | None]:
    """`read_current` for a caller that needs nothing of it before its transaction commits
    (a resume): on Postgres the statements are only queued, and the function returned, called
    after the commit, reads what the commit's round trip brought. On SQLite (whose claim is
    taken inside the transaction) everything is read at once."""
    lock = " FOR UPDATE OF r" if conn.dialect == "postgres" else ""
    latest = (
        "(SELECT checkpoint_id FROM checkpoints c WHERE c.thread_id = r.thread_id "
        "AND c.checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1)"
        if checkpoints
        else "NULL"
    )
    statements: list[tuple[str, tuple[Any, ...]]] = [
        (
            f"SELECT {_REVIEW}, {latest} AS latest_checkpoint, t.thread_id AS t_thread_id, "
            "t.graph AS t_graph, t.options AS t_options, t.agent AS t_agent, "
            "t.requester AS t_requester FROM interlock_reviews r "
            f"LEFT JOIN interlock_threads t ON t.thread_id = r.thread_id WHERE r.id = ?{lock}",
            (review_id,),
        ),
        (
            "SELECT action_index, reviewer, type, settles, payload FROM interlock_decisions "
            "WHERE review_id = ? ORDER BY created_at, id",
            (review_id,),
        ),
        ("SELECT scope, value FROM interlock_stops", ()),
        (head_query(conn.dialect) if head else "SELECT NULL AS seq", ()),
    ]
    if approvals:
        signed = f"SELECT {APPROVAL_COLUMNS} FROM interlock_approvals WHERE review_id = ?"
        statements.append((signed, (review_id,)))
    pg_claim = claim and conn.dialect == "postgres"
    if pg_claim:
        statements.append((PG_CLAIM_BY_REVIEW, (review_id,)))
    read_at = time.monotonic()
    rows = conn.queue_all(statements)
    if conn.dialect == "postgres":
        return lambda: _current(rows(), locks, conn, read_at, pg_claim, claim, head, approvals)
    done = _current(rows(), locks, conn, read_at, pg_claim, claim, head, approvals)
    return lambda: done


def _current(
    found: list[list[dict[str, Any]]],
    locks: ThreadLocks,
    conn: Conn,
    read_at: float,
    pg_claim: bool,
    claim: bool,
    head: bool,
    approvals: bool,
) -> Current | None:
    if not found[0]:
        return None
    first = found[0][0]
    row = {k: v for k, v in first.items() if k != "latest_checkpoint" and not k.startswith("t_")}
    got: Claim | None = None
    if pg_claim:
        if found[-1] and found[-1][0]["ok"]:
            got = Claim(thread_id=row["thread_id"], owner="", token=int(found[-1][0]["token"]))
    elif claim:
        got = locks.claim_in(conn, row["thread_id"])
    stops, top = found[2], found[3]
    latest = first["latest_checkpoint"]
    thread = {k[2:]: v for k, v in first.items() if k.startswith("t_")}
    return Current(
        row=row,
        decisions=found[1],
        thread=thread if thread["thread_id"] is not None else None,
        stopped_agents=_scope(stops, "agent"),
        stopped_environments=_scope(stops, "environment"),
        head=(int(top[0]["seq"]), str(top[0]["hash"])) if top and head else None,
        latest_checkpoint=None if latest is None else str(latest),
        claim=got,
        read_at=read_at,
        approvals=tuple(found[4]) if approvals else (),
    )


def _scope(rows: Sequence[Mapping[str, Any]], scope: str) -> frozenset[str]:
    return frozenset(str(r["value"]) for r in rows if r["scope"] == scope)


def moved_on(row: Mapping[str, Any]) -> str:
    return (
        f"review {row['id']} is no longer current: thread {row['thread_id']} moved on "
        "(its interrupt is not pending on the latest checkpoint). Nothing was changed; "
        "run `interlock pending` for what is open now."
    )


def current_interrupt(engine: Engine, cur: Current) -> bool:
    """The review's interrupt is still live: the thread's latest checkpoint is the one the
    review was registered on (read in the same round trip as the review), or failing that,
    the interrupt is among the pending writes of the latest checkpoint."""
    row = cur.row
    return on_latest(cur) or row["interrupt_id"] in engine.live(row["thread_id"]).interrupts


def on_latest(cur: Current) -> bool:
    """The thread has not moved since the review was registered: its latest checkpoint is
    the one the review's interrupt was written on."""
    latest = cur.latest_checkpoint
    return latest is not None and latest == cur.row["checkpoint_id"]
