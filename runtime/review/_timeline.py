"""A thread's history for `interlock show`: its checkpoints, decisions and audit events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from interlock.runtime.store._db import Conn, from_db_ts

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["MAX_CHECKPOINTS", "TimelineEntry", "timeline"]

MAX_CHECKPOINTS = 200
_SHOWN_EVENTS = (
    "run_started",
    "review_opened",
    "review_cancelled",
    "review_expired",
    "review_escalated",
    "execution_started",
    "execution_succeeded",
    "execution_failed",
    "execution_in_doubt",
    "execution_refused",
    "action_denied",
    "in_doubt_resolved",
)


@dataclass(frozen=True, kw_only=True)
class TimelineEntry:
    at: datetime
    kind: Literal["checkpoint", "decision", "audit"]
    text: str
    step: int | None = None
    node: str | None = None
    review_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


def _checkpoints(saver: BaseCheckpointSaver[str], thread_id: str) -> list[TimelineEntry]:
    # Only this thread's root namespace, newest first, capped: never a scan of all threads.
    cfg: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    tuples = list(saver.list(cfg, limit=MAX_CHECKPOINTS))
    tuples.reverse()
    out: list[TimelineEntry] = []
    ran_next = "input"
    for tup in tuples:
        meta = tup.metadata or {}
        step = meta.get("step")
        ts = from_db_ts(tup.checkpoint.get("ts"))
        node = ran_next if meta.get("source") != "input" else "input"
        if meta.get("source") == "update":
            node = "update_state"
        waits = any(w[1] == "__interrupt__" for w in tup.pending_writes or ())
        updated = tup.checkpoint.get("updated_channels") or []
        nxt = [c.removeprefix("branch:to:") for c in updated if c.startswith("branch:to:")]
        ran_next = ", ".join(nxt) or ("start" if "__start__" in updated else "?")
        text = f"step {step}: {node}"
        if waits:
            text += " (stopped for review)"
        if ts is not None:
            out.append(TimelineEntry(at=ts, kind="checkpoint", text=text, step=step, node=node))
    return out


def timeline(conn: Conn, saver: BaseCheckpointSaver[str], thread_id: str) -> list[TimelineEntry]:
    entries = _checkpoints(saver, thread_id)
    for d in conn.all(
        "SELECT d.review_id, d.action_index, d.reviewer, d.type, d.settles, d.payload, "
        "d.created_at FROM interlock_decisions d JOIN interlock_reviews r ON r.id = d.review_id "
        "WHERE r.thread_id = ? ORDER BY d.created_at, d.id",
        (thread_id,),
    ):
        body = json.loads(d["payload"])
        note = body.get("message") or body.get("role") or ""
        args = f" args {json.dumps(body['args'], sort_keys=True)}" if "args" in body else ""
        wait = "" if d["settles"] else " (more approvals needed)"
        when = from_db_ts(d["created_at"])
        if when is not None:
            entries.append(
                TimelineEntry(
                    at=when,
                    kind="decision",
                    text=f"{d['reviewer']}: {d['type']} action {d['action_index'] + 1}"
                    f"{args}{': ' + note if note else ''}{wait}",
                    review_id=d["review_id"],
                )
            )
    marks = ", ".join("?" for _ in _SHOWN_EVENTS)
    for a in conn.all(
        f"SELECT ts, event, actor, review_id, data FROM interlock_audit WHERE thread_id = ? "
        f"AND event IN ({marks}) ORDER BY seq",
        (thread_id, *_SHOWN_EVENTS),
    ):
        data = json.loads(a["data"])
        what = data.get("tool") or data.get("graph") or ""
        detail = data.get("detail") or data.get("reason") or ""
        when = from_db_ts(a["ts"])
        if when is not None:
            text = f"{a['event']} by {a['actor']}" + (f": {what}" if what else "")
            if detail:
                text += f" ({str(detail)[:160]})"
            entries.append(
                TimelineEntry(at=when, kind="audit", text=text, review_id=a["review_id"])
            )
    entries.sort(key=lambda e: e.at)
    return entries
