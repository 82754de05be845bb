"""`Worker`: resumes decided threads, applies expiry, and keeps the inbox honest.

    with Runtime.open(url) as rt:
        Worker(rt).run(stop=event)          # `interlock worker`; SIGTERM sets `event`

One sweep does, in order:

1. expiry: pending reviews past their deadline escalate one rung or are denied (never
   approved), every `expire_every` seconds;
2. resumes: settled reviews whose thread has not run on yet (decided in the console or the
   CLI with `resume=False`, decided while the thread was busy, or whose resumer died
   mid-run), oldest first;
3. orphans: threads whose run died while a tool was executing (an execution still
   `started` that nobody holds) are carried on: the action is not run again but put in
   front of a human as "in doubt" (`interlock.runtime.execution._recover`);
4. reconcile: rows that no longer match their thread's latest checkpoint, every
   `reconcile_every` seconds (the only step that reads checkpoints).

Any number of workers may share one Postgres, on one machine or many: each thread is
claimed by an advisory lock for the whole resume (a claim row on SQLite), so a review is
carried into its thread once; a worker that finds the thread busy moves on. A stop request
(SIGTERM) lets the resume in progress finish, then returns: nothing half-done is left that
the next worker would not pick up anyway. A database outage is reported and retried with
backoff; the pool reconnects when the server is back.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from interlock.runtime.execution._worker_reports import (
    _COUNTS,
    EventKind,
    SweepResult,
    WorkerEvent,
    WorkerOptions,
    WorkerStats,
    is_outage,
)

if TYPE_CHECKING:
    from interlock.runtime._runtime import Runtime

__all__ = [
    "SweepResult",
    "Worker",
    "WorkerEvent",
    "WorkerOptions",
    "WorkerStats",
    "is_outage",
]


class Worker:
    """Carries decisions into their threads; see the module docstring."""

    def __init__(
        self,
        rt: Runtime,
        options: WorkerOptions | None = None,
        *,
        on_event: Callable[[WorkerEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rt = rt
        self.options = options or WorkerOptions()
        self.on_event = on_event
        self._clock = clock
        self._next_expiry = 0.0
        self._next_reconcile = 0.0 if self.options.reconcile_every else float("inf")
        self._failed_until: dict[str, float] = {}
        self._rng = random.Random()
        self.stats = WorkerStats()

    def warm(self) -> int:
        """Load the engine and build the graphs of the work waiting now, before the first
        sweep (see `_warm`); the number of graphs built."""
        from interlock.runtime.execution._warm import warm

        return warm(self.rt)

    def _emit(self, kind: EventKind, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(WorkerEvent(kind=kind, **fields))

    # -- one sweep --------------------------------------------------------------------------
    def sweep(self, *, stop: threading.Event | None = None) -> SweepResult:
        """One pass over expiry, settled reviews and (when due) reconciliation."""
        now = self._clock()
        counts = dict.fromkeys(_COUNTS, 0)
        whole = False
        try:
            if now >= self._next_expiry:
                self._next_expiry = now + self.options.expire_every
                for out in self._expire_due():
                    counts["expired"] += 1
                    self._emit(
                        "expired",
                        review_id=out.review_id,
                        thread_id=out.thread_id,
                        detail="; ".join(out.notes),
                        thread_status=out.thread_status,
                    )
            for review_id in self._due():
                if stop is not None and stop.is_set():
                    break
                self._resume_one(review_id, counts)
            if stop is None or not stop.is_set():
                self._orphans(counts)
            if now >= self._next_reconcile:
                self._next_reconcile = now + self.options.reconcile_every
                fixed = self.rt.inbox.reconcile()
                counts["reconciled"] = len(fixed.cancelled) + len(fixed.registered)
                if counts["reconciled"]:
                    self._emit(
                        "reconciled",
                        detail=f"cancelled {list(fixed.cancelled)}, "
                        f"registered {list(fixed.registered)}",
                    )
            whole = True
        finally:
            # An outage can end a sweep halfway: what it did before still counts.
            result = SweepResult(**counts)
            self.stats.add(result, whole=whole)
        return result

    def _expire_due(self) -> list[Any]:
        """Expiry writes decisions (escalate, deny), which the agent side's database role may
        not (`interlock db roles`): such a worker says so once and leaves expiry to a worker
        running with the reviewer role's URL."""
        try:
            return self.rt.decisions.expire_due(limit=self.options.batch)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) != "42501":
                raise
            self._next_expiry = float("inf")
            self._emit(
                "failed",
                detail="expiry skipped: this database role may not record decisions (the agent "
                "role); a worker with the reviewer role's URL applies expiry",
            )
            return []

    def _due(self) -> list[str]:
        now = self._clock()
        self._failed_until = {k: t for k, t in self._failed_until.items() if t > now}
        ids = self.rt.decisions.unresumed(limit=self.options.batch + len(self._failed_until))
        due = [i for i in ids if i not in self._failed_until][: self.options.batch]
        # Workers sharing a database would otherwise all queue behind the same oldest thread.
        self._rng.shuffle(due)
        return due

    def _lost(self, exc: BaseException, counts: dict[str, int], **fields: Any) -> bool:
        """Count and report a resume or recovery that ended early, not through a fault of
        its own: True for an outage in flight (re-raised by the caller) or a lost claim."""
        from interlock.runtime.store._claims import ClaimLost

        if is_outage(exc):
            counts["interrupted"] += 1
            self._emit("interrupted", detail=f"{type(exc).__name__}: {exc}", **fields)
            return True
        if isinstance(exc, ClaimLost):
            counts["claim_lost"] += 1
            self._emit("claim_lost", detail=str(exc), **fields)
            return True
        return False

    def _resume_one(self, review_id: str, counts: dict[str, int]) -> None:
        from interlock.risk.errors import InterlockError

        try:
            out = self.rt.decisions.resume_listed(review_id)
        except Exception as exc:
            if self._lost(exc, counts, review_id=review_id):
                if is_outage(exc):
                    raise
                self._failed_until[review_id] = self._clock() + self.options.retry_after
                return
            counts["failed"] += 1
            self._failed_until[review_id] = self._clock() + self.options.retry_after
            kind = "refused" if isinstance(exc, InterlockError) else type(exc).__name__
            self._emit("failed", review_id=review_id, detail=f"{kind}: {exc}")
            return
        if out is None:  # another worker carried it in since it was listed: not ours to count
            return
        if out.status == "queued":  # another worker or process holds the thread
            counts["busy"] += 1
            self._emit("busy", review_id=review_id, thread_id=out.thread_id)
            return
        counts["resumed"] += 1
        detail = out.events[-1] if out.events else "; ".join(out.notes)
        self._emit(
            "resumed",
            review_id=review_id,
            thread_id=out.thread_id,
            detail=detail,
            thread_status=out.thread_status,
        )

    def _orphans(self, counts: dict[str, int]) -> None:
        from interlock.runtime.execution._recover import orphaned_threads, recover_thread

        engine = self.rt.engine()
        if self.rt.langgraph_url:  # the server runs its own threads
            return
        for thread_id in orphaned_threads(engine, self.options.batch):
            if thread_id in self._failed_until:
                continue
            try:
                result = recover_thread(engine, thread_id)
            except Exception as exc:
                if self._lost(exc, counts, thread_id=thread_id):
                    if is_outage(exc):
                        raise
                    self._failed_until[thread_id] = self._clock() + self.options.retry_after
                    continue
                counts["failed"] += 1
                self._failed_until[thread_id] = self._clock() + self.options.retry_after
                self._emit("failed", thread_id=thread_id, detail=f"{type(exc).__name__}: {exc}")
                continue
            if result.busy or not result.ran:  # a live run holds it, or it finished meanwhile
                continue
            counts["orphans"] += 1
            counts["marked_in_doubt"] += result.marked_in_doubt
            marked = f"{result.marked_in_doubt} execution(s) marked in doubt"
            self._emit(
                "orphan",
                thread_id=thread_id,
                detail=f"{marked}; {result.events[-1]}" if result.events else marked,
                thread_status=result.thread_status,
            )

    # -- the loop ---------------------------------------------------------------------------
    def run(
        self,
        *,
        stop: threading.Event | None = None,
        once: bool = False,
        max_sweeps: int | None = None,
    ) -> WorkerStats:
        """Sweep until `stop` is set (or once). Returns the totals."""
        stop = stop or threading.Event()
        started = self._clock()
        backoff = 0.0
        from interlock.runtime.notify.delivery import start_notify_loop

        quiet = threading.Event()  # notifications: own thread, a slow channel never delays us
        notifier = start_notify_loop(self.rt.db, quiet, worker_id=self.options.name)
        try:
            while not stop.is_set():
                try:
                    result = self.sweep(stop=stop)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    self.stats.outages += 1
                    backoff = min(self.options.max_backoff, max(0.5, backoff * 2))
                    self._emit(
                        "outage", detail=f"{type(exc).__name__}: {exc}; retry in {backoff:g}s"
                    )
                    if once:
                        raise
                    stop.wait(backoff)
                    continue
                if backoff:
                    backoff = 0.0
                    self._emit("recovered", detail="the database answers again")
                if once or (max_sweeps is not None and self.stats.sweeps >= max_sweeps):
                    break
                if not result.worked:
                    stop.wait(self.options.poll)
        finally:
            quiet.set()
            if notifier is not None:
                notifier.join(timeout=10)
            self.stats.seconds = self._clock() - started
        return self.stats
