"""After Postgres restarts, the next operation reconnects instead of failing for ever, and a
worker whose claim died with the restart is fenced out instead of forking the thread.

The restart test runs its own throwaway cluster (initdb as the `postgres` OS user when we
are root, since initdb refuses root), so the shared test server is never restarted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TypedDict

import psycopg
import pytest

from interlock.runtime import AuditLog, Database, Runtime, open_database, upgrade_database
from interlock.runtime.execution.worker import Worker, WorkerOptions, is_outage

HERE = Path(__file__).resolve().parent
INTERLOCK = Path(sys.executable).with_name("interlock")


class _State(TypedDict, total=False):
    answer: str


def _graph(checkpointer: Any) -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    def ask(state: _State) -> dict[str, str]:
        return {"answer": str(interrupt("go?"))}

    builder = StateGraph(_State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer)


def _use(db: Database, graph: Any, step: str) -> None:
    """One checkpointer operation and one write to our own tables."""
    from langgraph.types import Command

    cfg = {"configurable": {"thread_id": f"thread-{step}"}}
    assert graph.invoke({}, cfg)["__interrupt__"][0].value == "go?"
    assert graph.invoke(Command(resume=step), cfg) == {"answer": step}
    AuditLog(db).append("probe", actor="test", data={"step": step})


def test_restart_then_next_operation_succeeds(cluster: Any) -> None:
    with open_database(cluster.url) as db:
        upgrade_database(db)
        graph = _graph(db.checkpointer())
        _use(db, graph, "before")
        cluster.restart()  # every pooled connection is now dead
        _use(db, graph, "after")
        assert [r.data["step"] for r in AuditLog(db).rows()] == ["before", "after"]
        assert AuditLog(db).verify().ok


def test_operation_during_an_outage_completes_when_the_server_returns(
    cluster: Any,
) -> None:
    with open_database(cluster.url) as db:
        upgrade_database(db)
        graph = _graph(db.checkpointer())
        _use(db, graph, "before")
        cluster.stop()
        back = threading.Timer(1.0, cluster.start)
        back.start()
        try:
            _use(db, graph, "during")  # waits for a connection, then gets a fresh one
        finally:
            back.join()
        _use(db, graph, "after")
        assert AuditLog(db).verify().rows == 3


def test_killed_backends_are_replaced(pg_url: str) -> None:
    """The same on the shared server, by terminating this database's connections."""
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = pg_url.rsplit("/", 1)[1]
    with open_database(pg_url) as db:
        upgrade_database(db)
        graph = _graph(db.checkpointer())
        _use(db, graph, "before")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            ours = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
            pids = [r[0] for r in admin.execute(ours, (name,))]
            assert pids
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
            # Wait until those backends are really gone (the pool may open new ones meanwhile).
            while admin.execute(f"{ours} AND pid = ANY(%s)", (name, pids)).fetchone():
                time.sleep(0.05)
        _use(db, graph, "after")
        assert AuditLog(db).verify().ok


def test_a_restart_mid_tool_leaves_one_story(
    cluster: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signing_keys: tuple[Path, Path],
) -> None:
    """Worker A runs a slow approved tool; the server restarts (A's advisory lock dies with
    its session, the tool goes on); worker B claims the thread, marks the action in doubt
    and finishes the thread; then A's tool returns. A is fenced out: one history, ledger and
    reviews agree, the log is causal, the tool ran once, and A reports `claim_lost`."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", str(signing_keys[0]))
    monkeypatch.setenv("INTERLOCK_PUBLIC_KEYS", str(signing_keys[1]))
    from fencing_story import check_one_story, queue_slow_delete, wait_for

    with Runtime.open(cluster.url, reviewers_path=tmp_path / "reviewers.toml") as rt:
        review_id, thread_id, infra = queue_slow_delete(rt, tmp_path, slow=6.0)
        env = {**os.environ, "PYTHONPATH": str(HERE), "INTERLOCK_DATABASE_URL": cluster.url}
        worker_a = subprocess.Popen(
            [str(INTERLOCK), "worker", "--json", "--poll", "0.05", "--reconcile-every", "0"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(Path(f"{infra.path}.started").exists, "worker A's delete to start")
            cluster.restart()  # A's session, and its advisory lock, are gone
            worker_b = Worker(rt, WorkerOptions(reconcile_every=0))
            took_over: list[str] = []

            def b_resumed() -> bool:
                try:
                    took_over.extend("x" * worker_b.sweep().resumed)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                return bool(took_over)

            wait_for(b_resumed, "worker B to take the thread over", timeout=30)
            assert infra.events() == []  # A's tool is still running: B did not run it
            wait_for(lambda: _audited(rt, "claim_lost"), "A to report its lost claim")
        finally:
            worker_a.send_signal(signal.SIGTERM)
            out, err = worker_a.communicate(timeout=60)
        assert worker_a.returncode == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        lost = [e for e in lines if e.get("kind") == "claim_lost"]
        assert [e.get("review_id") for e in lost] == [review_id], out
        assert lines[-1]["claim_lost"] == 1
        assert lines[-1]["resumed"] == 0
        check_one_story(rt, thread_id, infra)


def _audited(rt: Runtime, event: str) -> bool:
    with rt.db.connection() as conn:
        return bool(
            conn.scalar("SELECT count(*) AS n FROM interlock_audit WHERE event = ?", (event,))
        )
