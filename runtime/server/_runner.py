"""The runtime's server backend: threads run on LangGraph Server, decisions stay Interlock's.

`ServerEngine` is the `Engine` with the three places that touch a graph's execution moved
onto the server (`langgraph-sdk`): running a step (`_stream`: a run with
`multitask_strategy="reject"`, so the server refuses a second run on a busy thread), reading
where a thread stands (`snapshot`) and which interrupts are live on it (`live`). Everything
else is the embedded engine's: the per-thread claim in Interlock's database, the id-addressed
resume built from the decision rows, registering the interrupts a run stopped at as review
rows, cancelling rows whose interrupt went away. The graph is still built locally (never run
here): the decision service needs its gate to re-assess edits.

`sync()` registers interrupts that appeared on the server without this runtime (a thread
started from Studio, another client, a run this process did not see end) as review rows,
so the SQL inbox lists them; the inbox calls it before listing, at most once a second. It
asks only for threads updated since its last look (newest first, one short page when
little changed), and sweeps every interrupted thread every `FULL_SYNC_S`; a thread whose
rows already match costs nothing but that page. Only graphs Interlock governs are taken in
(`SERVED_GRAPHS`, or a graph registered with the runtime under its served id): threads of
the reference `ops_agent`, which approves on resume, are not Interlock's to decide.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from langchain_core.messages import convert_to_messages
from langgraph.types import Command

from interlock.risk.errors import ConfigError, NotFoundError
from interlock.runtime.audit.log import AuditEntry
from interlock.runtime.execution._runner import Engine, RunResult, Snapshot, Update, cancel_stale
from interlock.runtime.execution._transcript import describe_update
from interlock.runtime.execution.registry import BuiltGraph
from interlock.runtime.review._records import LiveState, is_review, register_interrupts
from interlock.runtime.server._client import ServerBusy, ServerClient
from interlock.runtime.server._served import SERVED_GRAPHS, served_graph_id
from interlock.runtime.store._claims import Claim

__all__ = ["FULL_SYNC_S", "SYNC_EVERY_S", "ServerEngine"]

SYNC_EVERY_S = 1.0
FULL_SYNC_S = 30.0
_OVERLAP = timedelta(seconds=1)
_STALE_CHECKS = 50


def _plain(value: Any) -> Any:
    """A node update from the server with its messages as LangChain messages again."""
    if not isinstance(value, Mapping) or not value.get("messages"):
        return value
    return {**value, "messages": convert_to_messages(list(value["messages"]))}


def _input(payload: Any) -> dict[str, Any] | None:
    """The JSON input for a new run: `("user", text)` messages become role/content dicts."""
    if payload is None:
        return None
    out = dict(payload)
    out["messages"] = [
        {"role": m[0], "content": m[1]} if isinstance(m, tuple) else m
        for m in out.get("messages") or []
    ]
    return out


class ServerEngine(Engine):
    """Runs and resumes threads on the LangGraph Server at `client.url`."""

    local = False

    def __init__(self, *, client: ServerClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self._synced_at = 0.0
        self._full_at = 0.0
        self._seen_upto: datetime | None = None
        self._sync_lock = threading.Lock()

    def new_thread_id(self, graph: str) -> str:
        del graph
        return str(uuid.uuid4())  # LangGraph Server takes UUIDs only

    def start(self, *, options: Mapping[str, Any], **kwargs: Any) -> RunResult:
        if options:
            msg = (
                f"graph options {sorted(options)} cannot be sent to LangGraph Server: the "
                "served graph is built once by the server, from langgraph.json and the "
                "server's environment (e.g. INTERLOCK_OPS_INFRA). Start the run without them."
            )
            raise ConfigError(msg)
        return super().start(options=options, **kwargs)

    def resume(self, review_id: str, on: Update | None = None) -> RunResult:
        try:
            return super().resume(review_id, on)
        except ServerBusy:
            # A run Interlock did not start holds the thread: the decision stays recorded and
            # is carried in later (a worker, or `decisions.resume`), as with a local claim.
            return RunResult(ran=False, busy=True)

    # -- where a thread stands ----------------------------------------------------------------
    def live(self, thread_id: str) -> LiveState:
        try:
            state = self.client.thread(thread_id)
        except NotFoundError:
            return LiveState(checkpoint_id=None, interrupts={})
        # Someone answered or re-opened a review on the server behind our back: bring the
        # inbox up to date now rather than at the next listing.
        reviews = {iid for iid, v in state.interrupts.items() if is_review(v)}
        if reviews != self._pending(thread_id).get(thread_id, set()):
            self._reconcile(thread_id, None, state.interrupts, self.clock())
        return LiveState(checkpoint_id=state.checkpoint_id, interrupts=dict(state.interrupts))

    def snapshot(self, built: BuiltGraph, thread_id: str) -> Snapshot:
        state = self.client.thread(thread_id)
        return Snapshot(
            checkpoint_id=state.checkpoint_id,
            interrupts=tuple(("", iid, value) for iid, value in state.interrupts.items()),
            next=state.next,
            messages=tuple(convert_to_messages(list(state.values.get("messages") or []))),
        )

    # -- running ------------------------------------------------------------------------------
    def _stream(
        self,
        built: BuiltGraph,
        payload: Any,
        thread_id: str,
        agent: str | None,
        on: Update | None,
        *,
        claim: Claim | None = None,  # the server writes its own checkpoints: not fenced here
        hand_over: list[AuditEntry] | None = None,  # the server's graph audits for itself
        seen: list[Snapshot] | None = None,  # the state is read back from the server
    ) -> list[str]:
        graph_id = served_graph_id(built.name)
        self.client.ensure_thread(thread_id, {"interlock_graph": built.name})
        # No stops in the context: the governed graph reads them from the database itself.
        context = {"agent": agent}
        if isinstance(payload, Command):
            resume: Any = payload.resume
            steps = self.client.stream(thread_id, graph_id, resume=resume, context=context)
        else:
            steps = self.client.stream(thread_id, graph_id, input=_input(payload), context=context)
        events: list[str] = []
        for node, value in steps:
            if node == "__interrupt__":
                continue
            update = _plain(value)
            if on is not None:
                on(node, update)
            events.extend(describe_update(node, update))
        return events

    # -- interrupts that appeared without us --------------------------------------------------
    def _runtime_name(self, graph_id: str | None) -> str | None:
        """The runtime graph a served graph id stands for; None for graphs Interlock does
        not govern (such as the reference `ops_agent`, which approves on resume)."""
        if not graph_id:
            return None
        for name, served in SERVED_GRAPHS.items():
            if served == graph_id:
                return name
        if graph_id in SERVED_GRAPHS:
            return None
        return graph_id if graph_id in self.registry.names() else None

    def sync(self, *, force: bool = False) -> list[str]:
        """Register the server's pending Interlock reviews as review rows and cancel rows
        whose interrupt is gone. Returns the ids of rows it created."""
        with self._sync_lock:
            if not force and time.monotonic() - self._synced_at < SYNC_EVERY_S:
                return []
            created = self._sync()
            self._synced_at = time.monotonic()
            return created

    def _pending(self, thread_id: str | None = None) -> dict[str, set[str]]:
        """thread id -> interrupt ids of its pending review rows (one indexed query)."""
        sql = (
            "SELECT thread_id, interrupt_id FROM interlock_reviews "
            "WHERE status = 'pending' AND kind = 'review'"
        )
        args: tuple[str, ...] = ()
        if thread_id is not None:
            sql, args = sql + " AND thread_id = ?", (thread_id,)
        out: dict[str, set[str]] = {}
        with self.db.connection() as conn:
            for r in conn.all(sql, args):
                out.setdefault(r["thread_id"], set()).add(r["interrupt_id"])
        return out

    def _sync(self) -> list[str]:
        """Look only at threads updated since the last look (a short page), except for a
        full sweep every `FULL_SYNC_S`, which also finds rows whose thread left the
        interrupted state behind our back (a decision re-checks its own thread anyway)."""
        now = self.clock()
        full = self._seen_upto is None or time.monotonic() - self._full_at >= FULL_SYNC_S
        since = None if full or self._seen_upto is None else self._seen_upto - _OVERLAP
        threads = self.client.interrupted(since=since)
        rows = self._pending()
        created: list[str] = []
        for t in threads:
            if t.updated_at is not None and (
                self._seen_upto is None or t.updated_at > self._seen_upto
            ):
                self._seen_upto = t.updated_at
            name = self._runtime_name(t.graph_id)
            if name is None:
                continue
            reviews = {iid for iid, v in t.interrupts.items() if is_review(v)}
            if reviews != rows.get(t.thread_id, set()):
                created += self._reconcile(t.thread_id, name, t.interrupts, now)
        if full:
            listed = {t.thread_id for t in threads}
            for thread_id in [t for t in rows if t not in listed][:_STALE_CHECKS]:
                try:
                    live = self.client.thread(thread_id).interrupts
                except NotFoundError:
                    continue  # not a thread of this server
                self._reconcile(thread_id, None, live, now)
            self._full_at = time.monotonic()
        return created

    def _reconcile(
        self, thread_id: str, graph: str | None, interrupts: Mapping[str, Any], now: Any
    ) -> list[str]:
        """Make the thread's pending review rows match the interrupts live on the server:
        register the new ones, cancel the ones gone. The ids of the rows it created."""
        info = self.thread(thread_id)
        if info is None and graph is None:
            return []
        reviews = [iid for iid, v in interrupts.items() if is_review(v)]
        with self.db.transaction() as conn:
            # Row locks before the audit head, in the order the decision service takes them.
            cancel_stale(conn, self.audit, thread_id, set(interrupts), now)
            if info is None and graph is not None:
                self._adopt(conn, thread_id, graph, now)
            known = {
                r["interrupt_id"]
                for r in conn.all(
                    "SELECT interrupt_id FROM interlock_reviews WHERE thread_id = ?", (thread_id,)
                )
            }
            ids = register_interrupts(
                conn,
                self.audit,
                self.policy,
                thread_id=thread_id,
                graph=info.graph if info else str(graph),
                checkpoint_id=None,
                interrupts=[("", iid, interrupts[iid]) for iid in reviews],
                agent=info.agent if info else None,
                requester=info.requester if info else None,
                now=now,
            )
        return [rid for iid, rid in zip(reviews, ids, strict=True) if iid not in known]

    def _adopt(self, conn: Any, thread_id: str, graph: str, now: Any) -> None:
        """A thread started on the server by someone else: the runtime takes it in."""
        conn.execute(
            "INSERT INTO interlock_threads (thread_id, graph, options, agent, requester, "
            "created_at) VALUES (?, ?, '{}', NULL, NULL, ?) ON CONFLICT (thread_id) DO NOTHING",
            (thread_id, graph, now),
        )
        self.audit.append(
            "run_adopted",
            actor="interlock-sync",
            thread_id=thread_id,
            data={"graph": graph, "server": self.client.url},
            conn=conn,
        )
