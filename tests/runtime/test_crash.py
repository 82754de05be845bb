"""Crash injection: workers killed with SIGKILL at random points in decide → resume → execute.

Each run forks a worker process that opens its own Runtime, then decides pending reviews
in-process (decide → resume → the approved tool runs) and sweeps settled reviews the way
`interlock worker` does, until the test kills it with SIGKILL after a random delay. The
approved action is a production volume delete against a simulated infrastructure file per
thread, slowed down a little on both sides of the write so that kills land before, during
and after the side effect. After all runs, one clean worker sweep finishes what is left and
the test checks, for every thread:

- the delete ran at most once (0 duplicate executions in the simulated infrastructure);
- every decision a worker reported is recorded, and every settled review was carried into
  its thread (0 lost decisions);
- every execution ended done exactly once or in doubt (in front of a human), never
  "started" with nobody looking; the audit chain verifies.

`INTERLOCK_CRASH_RUNS` sets the number of kills (50 by default; `make torture` runs 500).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import Infra, scripted_ops_agent
from interlock.runtime import Runtime, ensure_demo_reviewers
from interlock.runtime.execution.worker import Worker, WorkerOptions

RUNS = int(os.environ.get("INTERLOCK_CRASH_RUNS", "50"))
BATCH = 20  # threads created whenever the pending work runs out
DELETE = {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}


class _SlowInfra(Infra):
    """Widens the windows on both sides of the side effect."""

    def change(self, op: str, target: str, fn: Callable[[dict[str, Any]], Any]) -> Any:
        time.sleep(random.uniform(0, 0.02))
        try:
            return super().change(op, target, fn)
        finally:
            time.sleep(random.uniform(0, 0.02))


def crash_graph(**kw: Any) -> Any:
    infra = _SlowInfra(kw["options"]["infra"])
    return scripted_ops_agent([[("delete_volume", DELETE)]], infra, **kw)


def _open(url: str, reviewers: Path) -> Runtime:
    return Runtime.open(url, reviewers_path=reviewers, graphs={"crash": crash_graph})


def _worker_process(url: str, reviewers: Path, log: Path, ready: Any, seed: int) -> None:
    """One worker's life: decide and resume until there is nothing left (or SIGKILL)."""
    random.seed(seed)
    with _open(url, reviewers) as rt:
        me = rt.reviewers.authenticate("sre-lead-demo", "demo")
        worker = Worker(rt, WorkerOptions(poll=0, expire_every=3600, reconcile_every=0))
        ready.set()
        while True:
            worker.sweep()
            pending = [r for r in rt.inbox.pending(limit=50) if r.kind == "review"]
            if not pending:
                return
            review = random.choice(pending)
            kind = "approve" if random.random() < 0.8 else "reject"
            decision = {"type": kind} if kind == "approve" else {"type": kind, "message": "no"}
            try:
                rt.decisions.decide(review.id, decision, reviewer=me)
            except Exception as exc:  # another worker won, or the thread moved on
                if type(exc).__name__ != "ConflictError":
                    raise
                continue
            with log.open("a") as fh:  # reported only once decide() returned
                fh.write(json.dumps({"review": review.id, "type": kind}) + "\n")


def _new_threads(url: str, reviewers: Path, infra_dir: Path, n: int) -> list[str]:
    with _open(url, reviewers) as rt:
        made = []
        for _ in range(n):
            path = infra_dir / f"infra-{len(list(infra_dir.glob('infra-*.json')))}.json"
            Infra(path).reset()
            run = rt.run("crash", "tidy up", options={"infra": str(path)})
            assert run.status == "pending", run
            made.append(run.thread_id)
        return made


def _check(url: str, reviewers: Path, log: Path, kills: int) -> None:
    with _open(url, reviewers) as rt:
        stats = Worker(rt, WorkerOptions(poll=0, reconcile_every=0)).run(once=True)
        assert stats.failed == 0
        with rt.db.connection() as conn:
            threads = conn.all("SELECT thread_id, options FROM interlock_threads")
            reviews = conn.all(
                "SELECT id, thread_id, kind, status, resumed_at FROM interlock_reviews"
            )
            decisions = conn.all("SELECT review_id, type FROM interlock_decisions")
            ledger = conn.all("SELECT thread_id, status FROM interlock_executions")
        assert rt.audit.verify().ok
    decided = {d["review_id"]: d["type"] for d in decisions}
    reported = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    # 0 lost decisions: everything a worker reported is recorded as it was reported ...
    assert all(decided.get(r["review"]) == r["type"] for r in reported)
    # ... and every settled review was carried into its thread.
    unresumed = [r for r in reviews if r["status"] != "pending" and r["resumed_at"] is None]
    assert unresumed == [], f"settled but never resumed after {kills} kills: {unresumed}"
    by_thread: dict[str, list[str]] = {}
    for row in ledger:
        by_thread.setdefault(row["thread_id"], []).append(row["status"])
    in_doubt = {r["thread_id"] for r in reviews if r["kind"] == "in_doubt"}
    outcomes = {"once": 0, "in doubt": 0, "rejected": 0, "still pending": 0}
    thread_of = {r["id"]: r["thread_id"] for r in reviews}
    approved = {thread_of[d["review_id"]] for d in decisions if d["type"] == "approve"}
    waiting = {
        r["thread_id"] for r in reviews if r["kind"] == "review" and r["status"] == "pending"
    }
    for t in threads:
        deletes = Infra(json.loads(t["options"])["infra"]).events("delete_volume")
        statuses = by_thread.get(t["thread_id"], [])
        assert len(deletes) <= 1, f"{t['thread_id']} deleted the volume {len(deletes)} times"
        assert len(statuses) <= 1, f"{t['thread_id']} has ledger rows {statuses}"
        assert "started" not in statuses, f"{t['thread_id']} was left running unseen"
        if statuses == ["succeeded"]:
            assert len(deletes) == 1
            outcomes["once"] += 1
        elif statuses == ["in_doubt"]:
            assert t["thread_id"] in in_doubt  # a human is asked what happened
            outcomes["in doubt"] += 1
        else:
            assert deletes == [], f"{t['thread_id']} ran without a ledger record"
            assert t["thread_id"] not in approved, f"{t['thread_id']}: approved but never run"
            outcomes["still pending" if t["thread_id"] in waiting else "rejected"] += 1
    print(f"{kills} kills over {len(threads)} threads: {outcomes}")
    assert outcomes["once"] > 0


@pytest.mark.parametrize("runs", [RUNS])
def test_sigkill_at_random_points_never_duplicates_or_loses_anything(
    db_url: str, tmp_path: Path, runs: int
) -> None:
    reviewers = tmp_path / "reviewers.toml"
    ensure_demo_reviewers(reviewers, db_url, force=True)
    infra_dir = tmp_path / "infra"
    infra_dir.mkdir()
    log = tmp_path / "decisions.jsonl"
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20261124)
    kills = 0
    while kills < runs:
        _new_threads(db_url, reviewers, infra_dir, BATCH)
        while kills < runs:
            ready = ctx.Event()
            proc = ctx.Process(
                target=_worker_process,
                args=(db_url, reviewers, log, ready, rng.randrange(1 << 30)),
            )
            proc.start()
            assert ready.wait(60), "the worker did not start"
            proc.join(rng.uniform(0, 0.4))
            if not proc.is_alive():  # it ran out of work before the kill
                assert proc.exitcode == 0, f"worker failed with exit code {proc.exitcode}"
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            if proc.exitcode == 0:  # it finished just before the signal arrived
                break
            assert proc.exitcode == -signal.SIGKILL
            kills += 1
    _check(db_url, reviewers, log, kills)
