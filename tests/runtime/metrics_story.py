"""A database with one of everything the metrics count, and the numbers SQL gives for it.

`build_story` drives the real runtime (the `worker_graphs:slow_ops` agent, the decision
service, the worker's expiry sweep, a run SIGKILLed inside its tool) to leave reviews
pending, decided after ten minutes, rejected, escalated, expired, in doubt; a call allowed,
one denied by a stop; and three outbox rows. `expected_from_sql` computes every published
number with its own plain SQL (and Python), never through the collector's queries.
`scrape_samples` turns an exposition into {(sample name, labels): value}.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from interlock.graphs import Infra
from interlock.runtime import (
    SYSTEM_ACTOR,
    Authenticator,
    Principal,
    Reviewer,
    Reviewers,
    Runtime,
    Worker,
    hash_password,
)
from interlock.runtime.notify import DECISION_BUCKETS
from interlock.runtime.store._db import from_db_ts

__all__ = [
    "GRAPH",
    "PER_PROCESS",
    "Samples",
    "build_story",
    "expected_from_sql",
    "scrape_samples",
    "settled",
]

GRAPH = "worker_graphs:slow_ops"
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
STAGING_SNAPSHOT = [
    "snapshot_volume",
    {"volume_id": "vol-staging-db", "token": "tok-staging-deploy"},
]
# Numbers that are not read from the database: how long this scrape took, ages (now - t).
PER_PROCESS = frozenset(
    {
        "interlock_metrics_read_seconds",
        "interlock_reviews_oldest_pending_age_seconds",
        "interlock_outbox_oldest_pending_age_seconds",
    }
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _principal(name: str, role: str) -> Principal:
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password("pw"))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, "pw")


SAM = _principal("sam", "sre-lead")
ADA = _principal("ada", "admin")


def _run(rt: Runtime, tmp: Path, *turns: list[Any], slow: float = 0.0) -> Any:
    path = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(path), "turns": [list(t) for t in turns], "slow": slow}
    return rt.run(GRAPH, "do it", options=options)


def _killed_child(url: str, reviewers: Path, options: dict[str, Any]) -> None:
    with Runtime.open(url, reviewers_path=reviewers) as rt:
        rt.run(GRAPH, "snapshot staging", options=options)


def build_story(open_rt: Callable[..., Runtime], db_url: str, tmp: Path) -> Runtime:
    """Leave the database with one of everything; the Runtime (its clock is movable)."""
    now = [datetime.now(UTC)]
    rt = open_rt(clock=lambda: now[0])
    # Expired first (the clock jumps a day): escalated to admin, a new review opens.
    _run(rt, tmp, [PROD_DELETE])
    now[0] += timedelta(hours=25)
    assert Worker(rt).sweep().expired == 1
    # In doubt: a run killed inside its (allowed, not idempotent) tool.
    infra = Infra(tmp / "doubt.json")
    options = {"infra": str(infra.path), "turns": [[STAGING_SNAPSHOT]], "slow": 30}
    child = multiprocessing.get_context("fork").Process(
        target=_killed_child, args=(db_url, tmp / "reviewers.toml", options)
    )
    child.start()
    started = Path(f"{infra.path}.started")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline, "the snapshot never started"
        time.sleep(0.05)
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join()
    assert Worker(rt).run(once=True).marked_in_doubt == 1
    # Runs stamp reviews with the real time; decisions take the runtime's clock.
    # Decided ten minutes after it opened (the worker process carries it out later).
    approved = _run(rt, tmp, [PROD_DELETE])
    now[0] = datetime.now(UTC) + timedelta(minutes=10)
    rt.decisions.decide(approved.review_id, {"type": "approve"}, reviewer=SAM, resume=False)
    rejected = _run(rt, tmp, [PROD_DELETE])
    now[0] = datetime.now(UTC) + timedelta(seconds=45)
    rt.decisions.decide(
        rejected.review_id, {"type": "reject", "message": "no"}, reviewer=SAM, resume=False
    )
    now[0] = datetime.now(UTC)
    escalated = _run(rt, tmp, [PROD_DELETE])
    rt.decisions.decide(
        escalated.review_id, {"type": "escalate", "role": "admin"}, reviewer=SAM, resume=False
    )
    waiting = _run(rt, tmp, [PROD_DELETE])  # stays pending, routed to a team
    with rt.db.transaction() as conn:
        conn.execute("UPDATE interlock_reviews SET team = 'sre' WHERE id = ?", (waiting.review_id,))
    assert _run(rt, tmp, [STAGING_SNAPSHOT]).status == "done"  # allowed, ran
    rt.stops.stop("agent", "ops-agent", by=ADA, reason="INC-1")
    assert _run(rt, tmp, [STAGING_SNAPSHOT]).status == "done"  # denied by the stop
    rt.stops.resume("agent", "ops-agent", by=ADA)
    # The outbox, as the worker leaves it: one waiting, one given up on, one delivered.
    with rt.db.transaction() as conn:
        for status, channel in (("pending", "slack"), ("failed", "hook"), ("delivered", "mail")):
            conn.execute(
                "INSERT INTO interlock_outbox (id, event, review_id, team, channel, payload, "
                "status, attempts, created_at, next_attempt_at) "
                "VALUES (?, 'review_opened', ?, 'sre', ?, '{}', ?, 1, ?, ?)",
                (uuid.uuid4().hex, waiting.review_id, channel, status, now[0], now[0]),
            )
    return rt


def settled(rt: Runtime) -> bool:
    """Every settled review has been carried into its thread (the worker is idle)."""
    with rt.db.connection() as conn:
        left = conn.scalar(
            "SELECT count(*) AS n FROM interlock_reviews WHERE resumed_at IS NULL "
            "AND status IN ('decided', 'escalated', 'expired')"
        )
    return int(left) == 0


def _l(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def expected_from_sql(rt: Runtime) -> Samples:
    """Every database-read sample the endpoint should show, from plain SQL."""
    out: Samples = {}
    with rt.db.connection() as conn:
        reviews = conn.all(
            "SELECT status, kind, level, team, outcome, created_at, decided_at "
            "FROM interlock_reviews"
        )
        decisions = conn.all("SELECT type, reviewer FROM interlock_decisions")
        executions = conn.all("SELECT status, review_id FROM interlock_executions")
        outbox = conn.all("SELECT status, channel FROM interlock_outbox")
        events = conn.all("SELECT event FROM interlock_audit")
    for r in reviews:
        key = _l(level=r["level"], team=r["team"] or "", kind=r["kind"])
        if r["status"] == "pending":
            out[("interlock_reviews_pending", key)] = (
                out.get(("interlock_reviews_pending", key), 0) + 1
            )
        name = ("interlock_reviews_opened_total", key)
        out[name] = out.get(name, 0) + 1
    esc = Counter(
        "decision" if r["status"] == "escalated" else "expiry"
        for r in reviews
        if r["status"] == "escalated"
        or (r["status"] == "expired" and r["outcome"].startswith("expired: escalated"))
    )
    for via, n in esc.items():
        out[("interlock_escalations_total", _l(via=via))] = n
    exp = Counter(
        "escalated" if r["outcome"].startswith("expired: escalated") else "denied"
        for r in reviews
        if r["status"] == "expired"
    )
    for result, n in exp.items():
        out[("interlock_expiries_total", _l(result=result))] = n
    times: dict[str, list[float]] = {}
    for r in reviews:
        if r["kind"] == "review" and r["status"] in ("decided", "escalated") and r["decided_at"]:
            took = from_db_ts(r["decided_at"]) - from_db_ts(r["created_at"])  # type: ignore[operator]
            times.setdefault(r["level"], []).append(took.total_seconds())
    for level, secs in times.items():
        for b in DECISION_BUCKETS:
            le = _l(level=level, le=f"{b:g}")
            out[("interlock_review_decision_seconds_bucket", le)] = sum(s <= b for s in secs)
        out[("interlock_review_decision_seconds_bucket", _l(level=level, le="+Inf"))] = len(secs)
        out[("interlock_review_decision_seconds_count", _l(level=level))] = len(secs)
        out[("interlock_review_decision_seconds_sum", _l(level=level))] = sum(secs)
    for (kind, by), n in Counter(
        (d["type"], "expiry" if d["reviewer"] == SYSTEM_ACTOR else "reviewer") for d in decisions
    ).items():
        out[("interlock_decisions_total", _l(type=kind, by=by))] = n
    out[("interlock_in_doubt_total", ())] = sum(r["kind"] == "in_doubt" for r in reviews)
    out[("interlock_executions_in_doubt", ())] = sum(e["status"] == "in_doubt" for e in executions)
    out[("interlock_executions_running", ())] = sum(e["status"] == "started" for e in executions)
    audit = Counter(e["event"] for e in events)
    gate = {
        "allow": sum(e["review_id"] is None for e in executions),
        "review": audit["review_required"],
        "deny": audit["action_denied"],
    }
    for outcome, n in gate.items():
        out[("interlock_gate_outcomes_total", _l(outcome=outcome))] = n
    for event, n in audit.items():
        out[("interlock_audit_events_total", _l(event=event))] = n
    names = {
        "pending": "interlock_outbox_backlog",
        "failed": "interlock_notifications_failed",
        "delivered": "interlock_notifications_delivered",
    }
    for (status, channel), n in Counter((o["status"], o["channel"]) for o in outbox).items():
        out[(names[status], _l(channel=channel))] = n
    return out


def scrape_samples(text: str) -> Samples:
    """{(sample name, sorted labels): value} of an exposition, per-process numbers left out."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in PER_PROCESS or s.name.endswith("_created"):
                continue
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found
