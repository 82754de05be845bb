"""After Postgres restarts, the next operation reconnects instead of failing for ever.

The restart test runs its own throwaway cluster (initdb as the `postgres` OS user when we
are root, since initdb refuses root), so the shared test server is never restarted.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import psycopg
import pytest

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


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(f"{name} not found: install the postgresql server package", pytrace=False)
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Cluster:
    """A private Postgres server in a temporary directory."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="interlock-pg-"))
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(
            _bin("initdb"),
            "-D",
            f"{self.dir}/data",
            "--auth=trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _run(self, *args: str) -> None:
        out = subprocess.run([*self._as, *args], capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"{args[0]} failed: {out.stdout}{out.stderr}"

    def _ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _bin("pg_ctl"),
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-o",
            opts,
            "-w",
            *args,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def destroy(self) -> None:
        self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[_Cluster]:
    c = _Cluster()
    c.start()
    try:
        yield c
    finally:
        c.destroy()


def _use(db: Database, graph: Any, step: str) -> None:
    """One checkpointer operation and one write to our own tables."""
    from langgraph.types import Command

    cfg = {"configurable": {"thread_id": f"thread-{step}"}}
    assert graph.invoke({}, cfg)["__interrupt__"][0].value == "go?"
    assert graph.invoke(Command(resume=step), cfg) == {"answer": step}
    AuditLog(db).append("probe", actor="test", data={"step": step})


def test_restart_then_next_operation_succeeds(cluster: _Cluster) -> None:
    with open_database(cluster.url) as db:
        upgrade_database(db)
        graph = _graph(db.checkpointer())
        _use(db, graph, "before")
        cluster.restart()  # every pooled connection is now dead
        _use(db, graph, "after")
        assert [r.data["step"] for r in AuditLog(db).rows()] == ["before", "after"]
        assert AuditLog(db).verify().ok


def test_operation_during_an_outage_completes_when_the_server_returns(
    cluster: _Cluster,
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
