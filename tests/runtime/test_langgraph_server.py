"""The same graphs on LangGraph Server (`langgraph dev`), governed by Interlock's database.

One `langgraph dev` per test module, on a free loopback port, serving the repository's own
`langgraph.json` from a temporary working directory. Its environment names the test's
database, so the governed graph keeps approvals, the ledger and the audit log there.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs.ops_agent import SCENARIO_REQUEST

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).with_name("langgraph")
VOLUME = "vol-prod-db"
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    db_url: str
    infra: Path
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def volumes(self) -> set[str]:
        return set(json.loads(self.infra.read_text())["volumes"])

    def ops(self) -> list[str]:
        return [e["op"] for e in json.loads(self.infra.read_text())["events"]]


def _wait_ok(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"langgraph dev did not answer /ok in {START_TIMEOUT_S:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`langgraph dev` on the repository's langgraph.json, with a SQLite database of its own.

    The process runs in its own process group, which is always terminated (then killed),
    whatever the test did; its output is kept in `log` and shown when something fails."""
    where = tmp_path_factory.mktemp("langgraph-server")
    db_url = f"sqlite:///{where}/interlock.db"
    infra = where / "ops-infra.json"
    log = where / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INTERLOCK_DATABASE_URL": db_url,
        "INTERLOCK_OPS_INFRA": str(infra),
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    env.pop("INTERLOCK_LANGGRAPH_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(LANGGRAPH),
                "dev",
                "--config",
                str(ROOT / "langgraph.json"),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--no-browser",
                "--no-reload",
            ],
            cwd=where,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ok(proc, url, log)
        yield Server(url=url, db_url=db_url, infra=infra, log=log)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _client(server: Server) -> Any:
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=server.url)


def _start(server: Server, graph: str) -> tuple[str, dict[str, Any]]:
    client = _client(server)
    thread = client.threads.create(thread_id=str(uuid.uuid4()))["thread_id"]
    client.runs.wait(
        thread, graph, input={"messages": [{"role": "user", "content": SCENARIO_REQUEST}]}
    )
    state = client.threads.get_state(thread)
    return thread, state


def test_the_server_serves_the_reference_graph_and_its_governed_form(server: Server) -> None:
    graphs = {a["graph_id"] for a in _client(server).assistants.search()}
    assert graphs == {"ops_agent", "ops_agent_governed"}, server.logs()


def test_an_approve_sent_straight_to_the_server_runs_nothing(server: Server) -> None:
    from interlock.runtime import AuditLog, open_database

    thread, state = _start(server, "ops_agent_governed")
    (pending,) = state["interrupts"]
    assert pending["value"]["kind"] == "interlock.review"
    assert pending["value"]["action_requests"][0]["name"] == "delete_volume"
    # The steps the policy allows ran inside the server and were audited in our database.
    with open_database(server.db_url) as db:
        events = [r.event for r in AuditLog(db).rows() if r.thread_id == thread]
    assert "execution_succeeded" in events

    # Studio (or any client) answering the interrupt directly: strict mode mints nothing.
    client = _client(server)
    answer = {pending["id"]: {"decisions": [{"type": "approve"}]}}
    client.runs.wait(thread, "ops_agent_governed", command={"resume": answer})
    (again,) = client.threads.get_state(thread)["interrupts"]
    assert again["value"]["action_requests"][0]["name"] == "delete_volume"
    assert "decision service" in again["value"]["notes"][0]
    assert VOLUME in server.volumes()
