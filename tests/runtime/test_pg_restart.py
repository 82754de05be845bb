"""After Postgres restarts, the next operation reconnects instead of failing for ever.

The restart test runs its own throwaway cluster (initdb as the `postgres` OS user when we
are root, since initdb refuses root), so the shared test server is never restarted.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TypedDict

import psycopg

from interlock.runtime import AuditLog, Database, open_database, upgrade_database


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
