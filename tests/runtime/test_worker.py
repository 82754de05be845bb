"""`interlock worker`: carries queued decisions into their threads, applies expiry, stops
cleanly on SIGTERM and rides out a Postgres restart without losing anything."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import Infra
from interlock.risk.errors import ConfigError
from interlock.runtime import (
    Authenticator,
    Principal,
    Reviewer,
    Reviewers,
    Runtime,
    hash_password,
    upgrade,
)
from interlock.runtime.execution.worker import Worker, WorkerEvent, WorkerOptions

HERE = Path(__file__).resolve().parent
GRAPH = "worker_graphs:slow_ops"
INTERLOCK = Path(sys.executable).with_name("interlock")


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]


@pytest.fixture(autouse=True)
def _graphs_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))


def _start(rt: Runtime, tmp: Path, slow: float = 0.0) -> tuple[str, Infra]:
    path = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(path), "turns": [[PROD_DELETE]], "slow": slow}
    run = rt.run(GRAPH, "tidy up", options=options)
    assert run.status == "pending"
    assert run.review_id
    return run.review_id, Infra(path)


def _queue(rt: Runtime, review_id: str) -> None:
    out = rt.decisions.decide(review_id, {"type": "approve"}, reviewer=SAM, resume=False)
    assert out.status == "queued"


def _worker(url: str, cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(HERE), "INTERLOCK_DATABASE_URL": url}
    return subprocess.Popen(
        [str(INTERLOCK), "worker", "--poll", "0.05", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"worker exit {proc.returncode}: {err}"
    return out, err


def _wait(check: Callable[[], bool], what: str, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the worker died while waiting for {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _resumed(rt: Runtime, review_id: str) -> bool:
    with rt.db.connection() as conn:
        row = conn.one("SELECT resumed_at FROM interlock_reviews WHERE id = ?", (review_id,))
    return row is not None and row["resumed_at"] is not None


def test_a_queued_decision_is_carried_into_its_thread_once(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt()
    review_id, infra = _start(rt, tmp_path)
    _queue(rt, review_id)
    assert infra.events() == []  # recorded, not run: the worker runs it
    seen: list[WorkerEvent] = []
    stats = Worker(rt, on_event=seen.append).run(once=True)
    assert (stats.resumed, stats.failed) == (1, 0)
    assert [e.kind for e in seen] == ["resumed"]
    assert (seen[0].review_id, seen[0].thread_status) == (review_id, "done")
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    # A second worker (or sweep) finds nothing left: the action never runs twice.
    assert Worker(rt).run(once=True).resumed == 0
    assert len(infra.events()) == 1
    assert rt.audit.verify().ok


def test_expiry_escalates_then_denies_and_never_approves(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    now = [datetime.now(UTC)]
    rt = open_rt(clock=lambda: now[0])
    review_id, infra = _start(rt, tmp_path)
    worker = Worker(rt, WorkerOptions(expire_every=0, reconcile_every=0))
    assert worker.sweep().expired == 0  # not due yet
    now[0] += timedelta(hours=25)
    assert worker.sweep().expired == 1
    first = rt.inbox.summary(review_id)
    assert (first.status, first.outcome) == ("expired", "expired: escalated to admin")
    (upper,) = rt.inbox.pending()
    assert upper.required_roles == ("admin",)
    now[0] += timedelta(hours=25)
    assert worker.sweep().expired == 1
    assert rt.inbox.summary(upper.id).outcome == "expired: denied"
    assert rt.inbox.pending() == []
    assert infra.events() == []  # expiry never approves
    assert "vol-prod-db" in infra.read()["volumes"]


def test_an_outage_halfway_through_a_sweep_keeps_count_of_what_it_did(
    open_rt: Callable[..., Runtime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = open_rt()
    for _ in range(2):
        _queue(rt, _start(rt, tmp_path)[0])
    seen: list[WorkerEvent] = []
    worker = Worker(rt, WorkerOptions(poll=0, reconcile_every=0), on_event=seen.append)
    resume, calls = rt.decisions.resume_listed, []

    def the_server_goes_away_after_one(review_id: str, **kwargs: Any) -> Any:
        calls.append(review_id)
        if len(calls) == 2:
            msg = "the server closed the connection"
            raise ConnectionError(msg)
        return resume(review_id, **kwargs)

    monkeypatch.setattr(rt.decisions, "resume_listed", the_server_goes_away_after_one)
    with pytest.raises(ConnectionError):
        worker.sweep()
    assert (worker.stats.resumed, worker.stats.sweeps) == (1, 0)  # the first one happened
    # The resume in flight when the outage began is counted, and said.
    assert worker.stats.interrupted == 1
    assert [e.kind for e in seen] == ["resumed", "interrupted"]
    assert seen[1].review_id == calls[1]
    monkeypatch.setattr(rt.decisions, "resume_listed", resume)
    worker.sweep()
    assert (worker.stats.resumed, worker.stats.sweeps) == (2, 1)


def test_bad_options_are_refused_with_the_allowed_range() -> None:
    with pytest.raises(ConfigError, match=r"batch must be 1-10000, got 0"):
        WorkerOptions(batch=0)
    with pytest.raises(ConfigError, match=r"poll must be a number of seconds >= 0, got -1"):
        WorkerOptions(poll=-1)
    out = subprocess.run(
        [str(INTERLOCK), "worker", "--batch", "0", "--once"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert "batch must be 1-10000, got 0" in out.stderr
    assert "Traceback" not in out.stderr


def test_sigterm_lets_the_running_action_finish_then_exits_cleanly(
    open_rt: Callable[..., Runtime], db_url: str, tmp_path: Path
) -> None:
    rt = open_rt()
    review_id, infra = _start(rt, tmp_path, slow=1.5)
    _queue(rt, review_id)
    proc = _worker(db_url, tmp_path)
    started = Path(f"{infra.path}.started")
    _wait(started.exists, "the approved delete to start", proc)
    _, err = _stop(proc)  # arrives while the tool is running
    assert "SIGTERM: finishing the current step" in err
    assert "1 resumed" in err
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    assert _resumed(rt, review_id)
    with rt.db.connection() as conn:
        assert conn.scalar("SELECT status FROM interlock_executions") == "succeeded"
    assert Worker(rt).run(once=True).resumed == 0  # nothing was left half-done


def test_a_worker_on_a_missing_sqlite_file_creates_nothing_and_says_so(tmp_path: Path) -> None:
    # A mistyped path would otherwise be a new, empty database swept forever.
    missing = tmp_path / "typo" / "interlock.db"
    done = subprocess.run(
        [str(INTERLOCK), "worker", "--once", "--db", f"sqlite:///{missing}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: no database at {missing}")
    assert "interlock db upgrade --db" in line
    assert not missing.parent.exists()


def test_an_idle_worker_stops_on_sigterm_and_prints_json_totals(
    db_url: str, tmp_path: Path
) -> None:
    upgrade(db_url)  # a worker opens an existing database, never a new one
    proc = _worker(db_url, tmp_path, "--json")
    assert proc.stdout is not None
    hello = json.loads(proc.stdout.readline())  # printed once the database is open
    assert hello["started"]
    assert hello["db"].split("://")[0] == db_url.split("://")[0]
    out, _ = _stop(proc)
    totals = json.loads(out.strip().splitlines()[-1])
    assert totals["stopped"] is True
    assert totals["resumed"] == 0
    assert totals["failed"] == 0
    assert totals["outages"] == 0


@pytest.fixture
def cluster_rt(cluster: Any, tmp_path: Path) -> Iterator[Runtime]:
    with Runtime.open(cluster.url, reviewers_path=tmp_path / "reviewers.toml") as rt:
        yield rt


def test_a_postgres_restart_mid_run_loses_nothing(
    cluster: Any, cluster_rt: Runtime, tmp_path: Path
) -> None:
    rt = cluster_rt
    before = [_start(rt, tmp_path) for _ in range(3)]
    after = [_start(rt, tmp_path) for _ in range(3)]
    for review_id, _ in before:
        _queue(rt, review_id)
    proc = _worker(cluster.url, tmp_path, "--json")
    try:
        _wait(lambda: all(_resumed(rt, r) for r, _ in before), "the first resumes", proc)
        cluster.restart()  # every connection the worker holds dies
        for review_id, _ in after:
            _queue(rt, review_id)  # our own pool reconnects too
        _wait(lambda: all(_resumed(rt, r) for r, _ in after), "resumes after the restart", proc)
    finally:
        out, _ = _stop(proc)
    totals = json.loads(out.strip().splitlines()[-1])
    assert totals["resumed"] == 6, out
    assert totals["failed"] == 0
    for _, infra in before + after:
        assert [e["op"] for e in infra.events()] == ["delete_volume"]
    with rt.db.connection() as conn:
        statuses = [r["status"] for r in conn.all("SELECT status FROM interlock_executions")]
    assert statuses == ["succeeded"] * 6
    assert rt.audit.verify().ok


# A write the policy lets run unattended, and that is not idempotent (never silently retried).
STAGING_SNAPSHOT = [
    "snapshot_volume",
    {"volume_id": "vol-staging-db", "token": "tok-staging-deploy"},
]


def _run_in_child(url: str, reviewers: Path, options: dict[str, Any]) -> None:
    with Runtime.open(url, reviewers_path=reviewers) as rt:
        rt.run(GRAPH, "restart staging, then tidy up", options=options)


def test_a_run_killed_mid_tool_is_put_in_front_of_a_human_not_rerun(
    open_rt: Callable[..., Runtime], db_url: str, tmp_path: Path
) -> None:
    rt = open_rt()
    infra = Infra(tmp_path / "infra.json")
    options = {"infra": str(infra.path), "turns": [[STAGING_SNAPSHOT], [PROD_DELETE]], "slow": 30}
    child = multiprocessing.get_context("fork").Process(
        target=_run_in_child, args=(db_url, tmp_path / "reviewers.toml", options)
    )
    child.start()
    started = Path(f"{infra.path}.started")
    _wait(started.exists, "the unattended snapshot to start")
    os.kill(child.pid or 0, signal.SIGKILL)  # the run dies inside the tool
    child.join()
    assert rt.inbox.pending() == []  # no review yet: nothing would ever pick it up
    seen: list[WorkerEvent] = []
    stats = Worker(rt, on_event=seen.append).run(once=True)
    assert (stats.orphans, stats.marked_in_doubt) == (1, 1)
    assert [e.kind for e in seen] == ["orphan"]
    assert seen[0].detail.startswith("1 execution(s) marked in doubt")
    doubt, delete = sorted(rt.inbox.pending(), key=lambda r: r.kind)
    assert (doubt.kind, doubt.tool) == ("in_doubt", "snapshot_volume")
    assert (delete.kind, delete.tool) == ("review", "delete_volume")  # the agent went on
    assert infra.events() == []  # the snapshot was not run a second time
    assert Worker(rt).run(once=True).orphans == 0


def test_an_orphan_that_finished_meanwhile_is_not_reported_as_marked(
    open_rt: Callable[..., Runtime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker lists orphans, then claims each: a run that finished in between (its
    claim released, its execution recorded) has nothing left to mark, and is not counted."""
    from interlock.runtime.execution import _recover

    rt = open_rt()
    infra = Infra(tmp_path / "infra.json")
    options = {"infra": str(infra.path), "turns": [[STAGING_SNAPSHOT]]}
    run = rt.run(GRAPH, "snapshot staging", options=options)
    assert run.status == "done"
    # The list the worker read a moment ago, while the run still had its tool going.
    monkeypatch.setattr(_recover, "orphaned_threads", lambda engine, limit: [run.thread_id])
    seen: list[WorkerEvent] = []
    stats = Worker(rt, WorkerOptions(reconcile_every=0), on_event=seen.append).run(once=True)
    assert (stats.orphans, stats.marked_in_doubt, stats.failed) == (0, 0, 0)
    assert seen == []
    assert rt.inbox.pending() == []
    with rt.db.connection() as conn:
        assert conn.scalar("SELECT status FROM interlock_executions") == "succeeded"


def test_a_review_another_worker_carried_in_after_the_listing_is_not_counted(
    open_rt: Callable[..., Runtime], tmp_path: Path, db_url: str
) -> None:
    rt = open_rt()
    review_id, infra = _start(rt, tmp_path)
    _queue(rt, review_id)
    worker = Worker(rt, WorkerOptions(poll=0, reconcile_every=0), on_event=(seen := []).append)
    listed = worker._due()
    assert listed == [review_id]
    # Another worker resumes it between this worker's listing and its turn.
    assert rt.decisions.resume(review_id).status == "resumed"
    counts = dict.fromkeys(("resumed", "busy", "failed", "claim_lost", "interrupted"), 0)
    worker._resume_one(listed[0], counts)
    assert counts == dict.fromkeys(counts, 0)
    assert seen == []
    assert len(infra.events("delete_volume")) == 1  # the action ran once, by the first
    if db_url.startswith("postgres"):
        # No claim was taken for nothing: the thread's fencing token moved once per claim.
        with rt.db.connection() as conn:
            token = conn.scalar(
                "SELECT token FROM interlock_thread_fences WHERE thread_id = "
                "(SELECT thread_id FROM interlock_reviews WHERE id = ?)",
                (review_id,),
            )
        assert token == 2  # the run, the first resume


def test_warm_builds_the_waiting_graphs_before_any_sweep_and_changes_nothing(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt()
    review_id, infra = _start(rt, tmp_path)
    _queue(rt, review_id)
    fresh = open_rt()  # a worker process starting with that decision waiting
    worker = Worker(fresh)
    assert worker.warm() == 1  # its graph, built ahead: the first resume does not pay for it
    assert len(fresh.engine().registry._built) == 1
    assert not _resumed(fresh, review_id)  # nothing claimed, run or written
    assert infra.events() == []
    assert worker.run(once=True).resumed == 1
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    assert Worker(open_rt()).warm() == 0  # nothing waits any more
