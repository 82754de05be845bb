"""The overtaken-holder story, shared by the fencing tests (`test_fencing.py`, both backends,
the claim killed by hand) and the Postgres-restart test (`test_pg_restart.py`).

Holder A carries an approved `delete_volume` into its thread and the tool is slow; A's claim
dies meanwhile; holder B takes the thread over, finds the ledger row `started`, marks it in
doubt and finishes the thread; then A's tool returns. `check_one_story` asserts what a user
would see afterwards: one history, ledger and reviews that agree, a causal audit log, the
tool run once and A's lost outcome in the log.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interlock.graphs import Infra
from interlock.risk.errors import NotFoundError
from interlock.runtime import Runtime

__all__ = ["GRAPH", "check_one_story", "queue_slow_delete", "wait_for"]

GRAPH = "worker_graphs:slow_ops"

SAM_PASSWORD = "sam-password-1"
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def queue_slow_delete(rt: Runtime, tmp: Path, slow: float) -> tuple[str, str, Infra]:
    """A thread stopped at the review of a slow prod delete, approved with `resume=False`:
    (review id, thread id, its infrastructure)."""
    path = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(path), "turns": [[PROD_DELETE]], "slow": slow}
    run = rt.run(GRAPH, "tidy up", options=options)
    assert run.status == "pending"
    assert run.review_id
    try:
        sam = rt.reviewers.authenticate("sam", SAM_PASSWORD)
    except NotFoundError:
        rt.reviewers.add("sam", ["sre-lead"], SAM_PASSWORD)
        sam = rt.reviewers.authenticate("sam", SAM_PASSWORD)
    out = rt.decisions.decide(run.review_id, {"type": "approve"}, reviewer=sam, resume=False)
    assert out.status == "queued"
    return run.review_id, run.thread_id, Infra(path)


def check_one_story(rt: Runtime, thread_id: str, infra: Infra) -> None:
    """What the overtaken holder must not have broken."""
    with rt.db.connection() as conn:
        checkpoints = conn.all(
            "SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints "
            "WHERE thread_id = ? AND checkpoint_ns = ''",
            (thread_id,),
        )
        ledger = conn.all(
            "SELECT digest, action_digest, status, result FROM interlock_executions "
            "WHERE thread_id = ?",
            (thread_id,),
        )
        reviews = conn.all(
            "SELECT interrupt_id, status, kind FROM interlock_reviews WHERE thread_id = ?",
            (thread_id,),
        )
        events = conn.all(
            "SELECT seq, event, digest, data FROM interlock_audit WHERE thread_id = ? ORDER BY seq",
            (thread_id,),
        )
    # One history: no checkpoint has two children.
    children = Counter(c["parent_checkpoint_id"] for c in checkpoints)
    forks = {parent: n for parent, n in children.items() if n > 1}
    assert not forks, f"history forked at {forks}"
    # The tool ran once, by A; B did not run it again.
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    # Ledger and reviews agree: the row B marked in doubt stays in doubt (A's late
    # "succeeded" was refused) and a human has exactly one in-doubt review for it.
    [row] = ledger
    assert row["status"] == "in_doubt", row
    doubts = [r for r in reviews if r["kind"] == "in_doubt"]
    assert [(r["interrupt_id"], r["status"]) for r in doubts] == [
        (f"in-doubt:{row['digest']}", "pending")
    ]
    # Audit order is causal: the action started before anything said it was in doubt, and
    # it is never reported as having succeeded.
    digest = row["action_digest"]
    seqs: dict[str, list[int]] = {}
    for e in events:
        if e["digest"] == digest:
            seqs.setdefault(e["event"], []).append(int(e["seq"]))
    assert len(seqs.get("execution_started", [])) == 1, seqs
    assert seqs["execution_started"][0] < min(seqs["execution_in_doubt"]), seqs
    assert "execution_succeeded" not in seqs, seqs
    # A said what happened to it, with the outcome the ledger refused.
    lost = [e for e in events if e["event"] == "claim_lost"]
    assert len(lost) == 1, [e["event"] for e in events]
    import json

    data: dict[str, Any] = json.loads(lost[0]["data"])
    assert (data["execution"], data["status"]) == (row["digest"], "succeeded")
    assert rt.audit.verify().ok
