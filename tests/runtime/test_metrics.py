"""The Prometheus endpoint: scraped over HTTP from a real `interlock worker` and compared,
number by number, with what SQL says about the same database (both backends)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from interlock.runtime import AuditLog, Runtime
from interlock.runtime.audit import AuditEntry
from interlock.runtime.notify import InterlockCollector, metrics_text

HERE = Path(__file__).resolve().parent
INTERLOCK = Path(sys.executable).with_name("interlock")


@pytest.fixture(autouse=True)
def _story_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(url: str, wait: float = 60.0) -> str:
    """GET `url`, waiting up to `wait` seconds for the server to come up."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.status == 200
                return str(answer.read().decode())
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _compare(found: dict, expected: dict) -> None:  # type: ignore[type-arg]
    assert set(found) == set(expected), (
        f"only scraped: {sorted(set(found) - set(expected))}; "
        f"only in SQL: {sorted(set(expected) - set(found))}"
    )
    for key, want in expected.items():
        assert found[key] == pytest.approx(want, abs=1e-3), key


def test_every_number_matches_sql_and_the_story_is_all_there(
    open_rt: Callable[..., Runtime], db_url: str, tmp_path: Path
) -> None:
    from metrics_story import build_story, expected_from_sql, scrape_samples

    rt = build_story(open_rt, db_url, tmp_path)
    found = scrape_samples(metrics_text(rt.db))
    expected = expected_from_sql(rt)
    _compare(found, expected)
    # The story left one of each thing to count (so the comparison compared something).
    assert found[("interlock_decisions_total", (("by", "expiry"), ("type", "escalate")))] == 1
    for kind in ("approve", "reject", "escalate"):
        assert found[("interlock_decisions_total", (("by", "reviewer"), ("type", kind)))] == 1
    assert found[("interlock_escalations_total", (("via", "decision"),))] == 1
    assert found[("interlock_escalations_total", (("via", "expiry"),))] == 1
    assert found[("interlock_expiries_total", (("result", "escalated"),))] == 1
    assert found[("interlock_in_doubt_total", ())] == 1
    assert found[("interlock_executions_in_doubt", ())] == 1
    assert found[("interlock_gate_outcomes_total", (("outcome", "deny"),))] == 1
    assert found[("interlock_gate_outcomes_total", (("outcome", "allow"),))] == 2
    assert found[("interlock_notifications_failed", (("channel", "hook"),))] == 1
    assert found[("interlock_outbox_backlog", (("channel", "slack"),))] == 1
    pending_sre = [
        k for k in found if k[0] == "interlock_reviews_pending" and ("team", "sre") in k[1]
    ]
    assert [found[k] for k in pending_sre] == [1]
    # Time to decision: the escalation at once, the rejection after 45 s, the approval after
    # ten minutes (<= 900 s, > 300 s).
    level = next(k for k in found if k[0] == "interlock_review_decision_seconds_count")[1]
    buckets = {dict(k[1])["le"]: v for k, v in found.items() if k[0].endswith("_bucket")}
    assert (buckets["30"], buckets["60"], buckets["300"], buckets["900"]) == (1, 2, 2, 3)
    assert found[("interlock_review_decision_seconds_count", level)] == 3


def test_a_worker_process_serves_the_same_numbers_and_logs_json_events(
    open_rt: Callable[..., Runtime], db_url: str, tmp_path: Path
) -> None:
    from metrics_story import build_story, expected_from_sql, scrape_samples, settled

    rt = build_story(open_rt, db_url, tmp_path)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(HERE), "INTERLOCK_DATABASE_URL": db_url}
    env.pop("INTERLOCK_LOG_FORMAT", None)
    proc = subprocess.Popen(
        [str(INTERLOCK), "worker", "--poll", "0.05", "--metrics-port", str(port), "--log-json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seq_before = rt.audit.head()[0]
    try:
        deadline = time.monotonic() + 90
        while not settled(rt):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the worker never carried the decisions out"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/metrics"
        first = scrape_samples(_scrape(url))
        _compare(first, expected_from_sql(rt))
        assert scrape_samples(_scrape(url)) == first  # nothing changed: the same again
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"metrics on http://127.0.0.1:{port}/metrics" in err
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    rows = {r.seq: r for r in rt.audit.rows() if r.seq > seq_before}
    assert lines, err
    assert {x["seq"] for x in lines} == set(rows)  # every event the worker audited, once
    for x in lines:
        row = rows[x["seq"]]
        assert (x["event"], x["review_id"], x["thread_id"], x["actor"]) == (
            row.event,
            row.review_id,
            row.thread_id,
            row.actor,
        )
        assert set(x) >= {"ts", "event", "review_id", "thread_id", "team", "level", "actor"}
    assert "execution_succeeded" in {x["event"] for x in lines}  # the approved delete ran


def test_the_audit_tally_reads_only_new_rows_and_agrees_with_a_fresh_reader(
    db_url: str, tmp_path: Path
) -> None:
    from interlock.runtime import open_database, upgrade_database

    with open_database(db_url) as db:
        upgrade_database(db)
        audit = AuditLog(db)
        long_lived = InterlockCollector(db)
        audit.append("review_required", actor="agent", data={"level": "high"})
        assert long_lived.snapshot().audit_events == {"review_required": 1}
        audit.append_all([AuditEntry(event="action_denied", actor="agent")] * 3)
        seen_at = long_lived.tally.seq
        assert long_lived.snapshot().audit_events == {"review_required": 1, "action_denied": 3}
        assert long_lived.tally.seq == seen_at + 3
        assert InterlockCollector(db).snapshot() == long_lived.snapshot()
        assert long_lived.snapshot().gate_outcomes == {"allow": 0, "review": 1, "deny": 3}


def test_a_scrape_of_thousands_of_reviews_stays_fast(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """2,000 reviews (half decided, with their decisions and audit rows): the first scrape
    reads the whole audit log, the next ones only what was appended since."""
    from interlock.runtime import open_database, upgrade_database

    n = 2000
    with open_database(db_url) as db:
        upgrade_database(db)
        t0 = datetime.now(UTC) - timedelta(days=2)
        with db.transaction() as conn:
            for i in range(n):
                rid = f"rv-{i}"
                created = t0 + timedelta(seconds=i)
                decided = i % 2 == 0
                conn.send(
                    "INSERT INTO interlock_reviews (id, thread_id, interrupt_id, status, level, "
                    "tool, created_at, decided_at, payload, team) "
                    "VALUES (?, ?, 'i', ?, ?, 'delete_volume', ?, ?, '{}', ?)",
                    (
                        rid,
                        f"t-{i}",
                        "decided" if decided else "pending",
                        ("low", "medium", "high", "critical")[i % 4],
                        created,
                        created + timedelta(seconds=i % 4000) if decided else None,
                        ("sre", "data", None)[i % 3],
                    ),
                )
                if decided:
                    conn.send(
                        "INSERT INTO interlock_decisions (id, review_id, reviewer, type, "
                        "settles, payload, created_at) VALUES (?, ?, 'sam', 'approve', 1, '{}', ?)",
                        (uuid.uuid4().hex, rid, created),
                    )
        AuditLog(db).append_all(
            [
                AuditEntry(event="review_opened", actor="agent", review_id=f"rv-{i}")
                for i in range(n)
            ]
        )
        registry = CollectorRegistry(auto_describe=False)
        registry.register(InterlockCollector(db))
        took = []
        for _ in range(5):
            start = time.perf_counter()
            text = generate_latest(registry).decode()
            took.append(time.perf_counter() - start)
        assert 'interlock_audit_events_total{event="review_opened"} 2000.0' in text
        assert (
            sum(
                float(x.split()[-1])
                for x in text.splitlines()
                if x.startswith("interlock_reviews_pending{")
            )
            == n / 2
        )
        with capsys.disabled():
            print(
                f"\n{db.dialect}: scrape of {n} reviews: first {took[0] * 1000:.1f} ms, "
                f"then median {sorted(took[1:])[2] * 1000:.1f} ms"
            )
        assert max(took[1:]) < 1.0


def test_both_database_roles_may_read_the_metrics(pg_url: str) -> None:
    """A worker runs as the agent role and the console as the reviewer role (`interlock db
    roles`): both read every table the endpoint counts, and show the same numbers."""
    from metrics_story import scrape_samples

    from interlock.runtime import open_database, upgrade_database
    from interlock.runtime.store import setup_roles

    tag = uuid.uuid4().hex[:8]
    agent, reviewer = f"ia_{tag}", f"ir_{tag}"
    with open_database(pg_url) as db:
        upgrade_database(db)
        AuditLog(db).append("review_required", actor="agent")
        got = setup_roles(
            db, agent=agent, reviewer=reviewer, agent_password="a-pw-1", reviewer_password="r-pw-1"
        )
        owner = scrape_samples(metrics_text(db))
    try:
        for url in (got.agent_url, got.reviewer_url):
            with open_database(url, create=False) as as_role:
                assert scrape_samples(metrics_text(as_role)) == owner
        assert owner[("interlock_gate_outcomes_total", (("outcome", "review"),))] == 1
    finally:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{agent}", "{reviewer}"')
            conn.execute(f'DROP ROLE IF EXISTS "{agent}"')
            conn.execute(f'DROP ROLE IF EXISTS "{reviewer}"')
