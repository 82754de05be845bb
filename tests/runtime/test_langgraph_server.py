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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.risk.errors import AuthorizationError, ConfigError, ConflictError
from interlock.runtime import DEMO_PASSWORD, Runtime, _server_engine, ensure_demo_reviewers

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).with_name("langgraph")
INTERLOCK = Path(sys.executable).with_name("interlock")
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


@contextmanager
def serve(db_url: str, where: Path) -> Iterator[Server]:
    """`langgraph dev` on the repository's langgraph.json, its environment naming `db_url`.

    The process runs in its own process group, which is always terminated (then killed),
    whatever the test did; its output is kept in `log` and shown when something fails."""
    where.mkdir(parents=True, exist_ok=True)
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


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """A server per test, on SQLite and on Postgres."""
    with serve(db_url, tmp_path / "server") as found:
        yield found


@pytest.fixture
def sqlite_server(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    with serve(sqlite_url, tmp_path / "server") as found:
        yield found


@pytest.fixture
def rt_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Server], Runtime]]:
    """Opens a Runtime on a server's database with the server backend, and demo reviewers."""
    opened: list[Runtime] = []

    def open_on(server: Server) -> Runtime:
        reviewers = tmp_path / "reviewers.toml"
        ensure_demo_reviewers(reviewers, server.db_url, force=True)
        # The graph is built here too (never run): the decision service re-assesses edits.
        monkeypatch.setenv("INTERLOCK_OPS_INFRA", str(server.infra))
        rt = Runtime.open(server.db_url, reviewers_path=reviewers, langgraph_url=server.url)
        opened.append(rt)
        return rt

    yield open_on
    for rt in opened:
        rt.close()


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


def test_an_approve_sent_straight_to_the_server_runs_nothing(
    sqlite_server: Server, rt_on: Callable[[Server], Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sqlite_server
    graphs = {a["graph_id"] for a in _client(server).assistants.search()}
    assert graphs == {"ops_agent", "ops_agent_governed"}, server.logs()
    thread, state = _start(server, "ops_agent_governed")
    (pending,) = state["interrupts"]
    assert pending["value"]["kind"] == "interlock.review"
    assert pending["value"]["action_requests"][0]["name"] == "delete_volume"
    # The steps the policy allows ran inside the server and were audited in our database.
    rt = rt_on(server)
    events = [r.event for r in rt.audit.rows() if r.thread_id == thread]
    assert "execution_succeeded" in events
    # The inbox lists the thread that started without Interlock (Studio, another client).
    (review,) = rt.inbox.pending()
    assert (review.thread_id, review.tool, review.level) == (thread, "delete_volume", "critical")

    # Studio (or any client) answering the interrupt directly: strict mode mints nothing.
    client = _client(server)
    answer = {pending["id"]: {"decisions": [{"type": "approve"}]}}
    client.runs.wait(thread, "ops_agent_governed", command={"resume": answer})
    (again,) = client.threads.get_state(thread)["interrupts"]
    assert again["value"]["action_requests"][0]["name"] == "delete_volume"
    assert "decision service" in again["value"]["notes"][0]
    assert VOLUME in server.volumes()

    # The runtime's review stood for the interrupt that was answered: it is stale now, and a
    # decision on it is refused and changes nothing; the inbox shows the re-opened review.
    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    with pytest.raises(ConflictError, match="no longer"):
        rt.decisions.decide(review.id, {"type": "approve"}, reviewer=lead)
    (fresh,) = rt.inbox.pending()
    assert fresh.id != review.id
    assert rt.inbox.summary(review.id).status == "cancelled"
    assert VOLUME in server.volumes()

    # A thread that reaches a review later shows up at the next listing; a thread of the
    # reference graph (which approves on resume, ungoverned) never does.
    monkeypatch.setattr(_server_engine, "SYNC_EVERY_S", 0.0)
    later, _ = _start(server, "ops_agent_governed")
    _start(server, "ops_agent")
    assert {r.thread_id for r in rt.inbox.pending()} == {thread, later}


def test_the_pocketos_scenario_on_the_server_decided_through_the_runtime(
    server: Server, rt_on: Callable[[Server], Runtime]
) -> None:
    rt = rt_on(server)
    # The served graph is the server's: per-run graph options cannot reach it.
    with pytest.raises(ConfigError, match="cannot be sent"):
        rt.run("ops_agent", SCENARIO_REQUEST, options={"infra": "elsewhere.json"})
    run = rt.run("ops_agent", SCENARIO_REQUEST, requester="dev-on-call")
    assert run.status == "pending", server.logs()
    (review,) = rt.inbox.pending()
    assert review.id == run.review_id
    assert (review.tool, review.target, review.level) == (
        "delete_volume",
        f"volume {VOLUME}",
        "critical",
    )
    assert server.ops() == ["restart_service", "scale_service"]

    # Authorisation is still the decision service's: on-call may not decide a critical review.
    oncall = rt.reviewers.authenticate("oncall-demo", DEMO_PASSWORD)
    with pytest.raises(AuthorizationError):
        rt.decisions.decide(review.id, {"type": "approve"}, reviewer=oncall)
    assert VOLUME in server.volumes()

    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    message = "Never delete production volumes. Snapshot it, then fix the staging credential."
    out = rt.decisions.decide(review.id, {"type": "reject", "message": message}, reviewer=lead)
    assert out.status == "resumed", server.logs()
    assert any("snapshot_volume" in e for e in out.events), out.events
    # The agent takes the safe path on the server; what it asks on the way is approved.
    reviewed: list[str] = []
    while out.next_review_id is not None:
        nxt = rt.inbox.summary(out.next_review_id)
        reviewed.append(nxt.tool)
        assert len(reviewed) < 6, reviewed
        out = rt.decisions.decide(nxt.id, {"type": "approve"}, reviewer=lead)
        assert out.status == "resumed", server.logs()
    assert out.thread_status == "done", out
    assert "delete_volume" not in reviewed
    assert "rotate_credential" in reviewed
    assert VOLUME in server.volumes()
    assert server.ops() == [
        "restart_service",
        "scale_service",
        "snapshot_volume",
        "rotate_credential",
        "restart_service",
    ]
    assert rt.inbox.pending() == []
    verified = rt.audit.verify()
    assert verified.ok, verified
    events = [r.event for r in rt.audit.rows() if r.thread_id == run.thread_id]
    for expected in ("run_started", "review_opened", "decision_recorded", "execution_succeeded"):
        assert expected in events, events


def test_a_server_that_does_not_answer_leaves_the_inbox_readable_and_changes_nothing(
    sqlite_url: str, tmp_path: Path, rt_on: Callable[[Server], Runtime]
) -> None:
    with serve(sqlite_url, tmp_path / "server") as server:
        rt = rt_on(server)
        run = rt.run("ops_agent", SCENARIO_REQUEST)
    # The server is gone: listing shows what is registered and says why it may be stale.
    (review,) = rt.inbox.pending()
    assert review.id == run.review_id
    assert "does not answer" in (getattr(rt.inbox, "sync_error", None) or "")
    # Deciding needs the server to say the review is current: refused, nothing recorded.
    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    with pytest.raises(ConfigError, match="does not answer"):
        rt.decisions.decide(review.id, {"type": "reject", "message": "Not now."}, reviewer=lead)
    assert rt.inbox.summary(review.id).status == "pending"
    assert rt.inbox.get(review.id).decisions == ()
    assert VOLUME in server.volumes()


def _cli(server: Server, where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`interlock ...` as a reviewer runs it, pointed at the server and its database."""
    env = {
        **os.environ,
        "INTERLOCK_DATABASE_URL": server.db_url,
        "INTERLOCK_LANGGRAPH_URL": server.url,
        "INTERLOCK_REVIEWERS": str(where / "reviewers.toml"),
        "INTERLOCK_REVIEWER_PASSWORD": DEMO_PASSWORD,
        "INTERLOCK_OPS_INFRA": str(server.infra),
    }
    return subprocess.run(
        [str(INTERLOCK), *args],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _pending_cli(server: Server, where: Path) -> list[dict[str, Any]]:
    listed = _cli(server, where, "pending", "--json")
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def test_the_pocketos_scenario_on_the_server_decided_through_the_cli(
    sqlite_server: Server, tmp_path: Path
) -> None:
    server = sqlite_server
    ensure_demo_reviewers(tmp_path / "reviewers.toml", server.db_url, force=True)
    # The agent runs on the server to the critical review, started as any client would.
    thread, _ = _start(server, "ops_agent_governed")
    (review,) = _pending_cli(server, tmp_path)
    assert (review["thread_id"], review["tool"]) == (thread, "delete_volume")

    message = "Never delete production volumes. Snapshot it, then fix the staging credential."
    decided = _cli(
        server, tmp_path, "decide", review["id"], "--as", "sre-lead-demo", "--reject", message
    )
    assert decided.returncode == 0, decided.stderr + server.logs()
    # Whatever the agent asks on the safe path is approved, through the CLI as well.
    reviewed: list[str] = []
    while pending := _pending_cli(server, tmp_path):
        (nxt,) = pending
        reviewed.append(nxt["tool"])
        assert len(reviewed) < 6, reviewed
        step = _cli(server, tmp_path, "decide", nxt["id"], "--as", "sre-lead-demo", "--approve")
        assert step.returncode == 0, step.stderr
    assert "delete_volume" not in reviewed
    assert "rotate_credential" in reviewed

    state = _client(server).threads.get_state(thread)
    assert state["next"] == []
    assert state["interrupts"] == []
    rejected = [m for m in state["values"]["messages"] if m.get("name") == "delete_volume"]
    assert message in rejected[-1]["content"]
    assert VOLUME in server.volumes()
    ops = server.ops()
    assert ops.index("snapshot_volume") < ops.index("rotate_credential")
    assert "delete_volume" not in ops
    verified = _cli(server, tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_decision_on_a_thread_the_server_is_busy_with_is_recorded_and_carried_in_later(
    sqlite_server: Server, rt_on: Callable[[Server], Runtime]
) -> None:
    server = sqlite_server
    rt = rt_on(server)
    run = rt.run("ops_agent", SCENARIO_REQUEST)
    review = rt.inbox.summary(run.review_id or "")
    # Another client has a run waiting on the thread: the server refuses a second one.
    client = _client(server)
    held = client.runs.create(run.thread_id, "ops_agent_governed", input=None, after_seconds=600)
    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    message = "Never delete production volumes. Snapshot it, then fix the staging credential."
    out = rt.decisions.decide(review.id, {"type": "reject", "message": message}, reviewer=lead)
    assert out.status == "queued"
    assert rt.inbox.summary(review.id).status == "decided"
    assert server.ops() == ["restart_service", "scale_service"]
    # Once the thread is free, the recorded decision is carried in (what a worker does).
    client.runs.cancel(run.thread_id, held["run_id"])
    later = rt.decisions.resume(review.id)
    assert later.status == "resumed", server.logs()
    assert any("snapshot_volume" in e for e in later.events), later.events
    assert "delete_volume" not in server.ops()
    assert VOLUME in server.volumes()
