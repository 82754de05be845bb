"""Throughput of a pool of `interlock worker` processes sharing one Postgres.

For each pool size (1, 2 and 4 workers) a fresh database gets `N` threads stopped at a
production-change review, every review is approved with `resume=False` (recorded, queued for a
worker), and the pool is started: real `interlock worker` processes, each rebuilding the
graph by name, claiming threads by advisory lock, resuming, running the approved tool and
settling. Until every worker of the pool has reported it is up, the benchmark itself holds
every thread's advisory lock, so the workers find all of them busy; it then releases them
all at once. Throughput is `N` divided by the time from that release to the last
`resumed_at` in the database: process start-up is excluded, and nothing is estimated.

The baseline of each row is raw LangGraph doing the same resumes with the same number of
processes on the same Postgres server (`bench._raw_resumer`: the same scripted agent and
tools, a plain `interrupt()` review, LangGraph's own `PostgresSaver`, the threads split
between the processes up front since raw LangGraph has no claims), timed the same way: from
the release of a barrier every process waits on to the last process's last resume. Goal:
the pool reaches at least 0.8x raw. The scaling against one worker is in each row's note: on
a machine with few cores a pool is CPU-bound, so that is what this machine can do, not a
property of the design.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench._common import Row, postgres_db, row, signing_keys
from bench._worker_graph import GRAPH
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password

__all__ = ["run"]

TARGET = 0.8

ROOT = Path(__file__).resolve().parents[1]
INTERLOCK = Path(sys.executable).with_name("interlock")


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


LEAD = _principal("bench-lead", "sre-lead")


def _prepare(url: str, tmp: Path, n: int) -> None:
    with Runtime.open(url, reviewers_path=tmp / "reviewers.toml") as rt:
        for _ in range(n):
            run = rt.run(GRAPH, "tidy up", options={"infra": str(tmp / "infra.json")})
            if run.review_id is None:
                msg = f"bench thread {run.thread_id} did not stop for review: {run.status}"
                raise RuntimeError(msg)
            rt.decisions.decide(run.review_id, {"type": "approve"}, reviewer=LEAD, resume=False)


def _pool(url: str, workers: int) -> tuple[float, list[subprocess.Popen[str]]]:
    """Start the pool; return when every worker has opened the database (and that time).

    The processes are terminated if not all of them come up."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTERLOCK_DATABASE_URL": url}
    cmd = [str(INTERLOCK), "worker", "--json", "--poll", "0.02", "--reconcile-every", "0"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    up: list[datetime] = []

    def hello(proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.startswith('{"started"'):
            up.append(datetime.now(UTC))

    readers = [threading.Thread(target=hello, args=(p,)) for p in procs]
    for t in readers:
        t.start()
    for t in readers:
        t.join(120)
    if len(up) != workers:
        for p in procs:
            p.terminate()
        errors = [p.communicate(timeout=60)[1] for p in procs]
        msg = f"only {len(up)} of {workers} workers started: {errors}"
        raise RuntimeError(msg)
    return max(up).timestamp(), procs


def _measure(url: str, tmp: Path, n: int, workers: int) -> tuple[float, int]:
    import psycopg

    _prepare(url, tmp, n)
    with psycopg.connect(url, autocommit=True) as gate:
        # Hold every thread (the workers' own claim) until the whole pool is up.
        gate.execute(
            "SELECT pg_advisory_lock(hashtextextended(thread_id, 0)) FROM interlock_threads"
        )
        _, procs = _pool(url, workers)
        start = datetime.now(UTC).timestamp()
        gate.execute("SELECT pg_advisory_unlock_all()")
    try:
        with Runtime.open(url, reviewers_path=tmp / "reviewers.toml") as rt:
            deadline = time.monotonic() + 600
            while rt.decisions.unresumed(limit=1):
                if time.monotonic() > deadline:
                    msg = f"{workers} worker(s) did not finish {n} resumes in 10 minutes"
                    raise RuntimeError(msg)
                time.sleep(0.05)
            with rt.db.connection() as conn:
                stamps = [
                    r["resumed_at"] for r in conn.all("SELECT resumed_at FROM interlock_reviews")
                ]
                done = conn.scalar(
                    "SELECT count(*) AS n FROM interlock_executions WHERE status = 'succeeded'"
                )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.communicate(timeout=60)
    if int(done) != n:
        msg = f"{done} of {n} approved restarts succeeded"
        raise RuntimeError(msg)
    times = [s.timestamp() for s in stamps if s is not None]
    early = [t for t in times if t < start]
    if early or len(times) != n:
        msg = f"{len(early)} resumes happened before the pool was released; {len(times)} of {n}"
        raise RuntimeError(msg)
    return n / (max(times) - start), n


def _measure_raw(url: str, tmp: Path, n: int, workers: int) -> float:
    """Raw LangGraph resumes per second by `workers` processes (see the module docstring)."""
    import json

    import psycopg

    from bench._raw_resumer import BARRIER

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    infra = str(tmp / "raw-infra.json")
    base = [sys.executable, "-m", "bench._raw_resumer"]
    subprocess.run([*base, "prepare", url, infra, str(n)], env=env, check=True, timeout=600)
    with psycopg.connect(url, autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", (BARRIER,))
        procs = [
            subprocess.Popen(
                [*base, "resume", url, infra, str(i), str(workers), str(n)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(workers)
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                if not p.stdout.readline().startswith('{"ready"'):
                    msg = f"a raw resumer did not start: {p.communicate(timeout=60)[1]}"
                    raise RuntimeError(msg)
            start = time.time()
            gate.execute("SELECT pg_advisory_unlock(%s)", (BARRIER,))
            outs = [p.communicate(timeout=600) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
    if any(p.returncode for p in procs):
        msg = f"a raw resumer failed: {[err for _, err in outs]}"
        raise RuntimeError(msg)
    done = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    if sum(d["resumed"] for d in done) != n:
        msg = f"raw resumers resumed {sum(d['resumed'] for d in done)} of {n} threads"
        raise RuntimeError(msg)
    return n / (max(d["done"] for d in done) - start)


def run(quick: bool = False) -> list[Row]:
    n = 30 if quick else 240
    sizes = (1, 2) if quick else (1, 2, 4)
    rows: list[Row] = []
    one: float | None = None
    for workers in sizes:
        with signing_keys(), postgres_db() as url, tempfile.TemporaryDirectory() as tmp:
            rate, counted = _measure(url, Path(tmp), n, workers)
        with postgres_db() as url, tempfile.TemporaryDirectory() as tmp:
            raw = _measure_raw(url, Path(tmp), n, workers)
        one = one or rate
        rows.append(
            row(
                f"worker pool throughput, {workers} worker(s), Postgres",
                rate,
                "resumes/s",
                baseline=raw,
                baseline_name=f"raw LangGraph, {workers} process(es)",
                target=f">= {TARGET}x raw",
                ok=rate >= TARGET * raw,
                note=f"{counted} of {n} decided reviews resumed after the pool was up; "
                f"{rate / one:.2f}x the 1-worker pool; {os.cpu_count()} CPU(s)",
            )
        )
    return rows
