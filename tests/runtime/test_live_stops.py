"""Live stops: a stop committed while an agent runs reaches its very next action.

The agent's model proposes one staging write per turn. The first write blocks until the
test, from another thread holding its own Runtime (its own connections), has committed a
stop; nothing proposed after that commit may run, approved or not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from langchain_core.tools import tool

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import gated
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


ADA = _principal("ada", "admin")
SAM = _principal("sam", "sre-lead")
GRAPH = "stop_writer"
WAIT_S = 30.0


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.005)


def stop_writer(**kw: Any) -> Any:
    """Options: `log` (every write appends its key), `turns` (lists of (key, env) writes
    per model turn). The write keyed `hold` waits for `<log>.go` after creating
    `<log>.started`."""
    log = Path(kw["options"]["log"])

    @tool
    def write_setting(key: str, env: str = "staging") -> str:
        """Write a setting in an environment."""
        if key == "hold":
            log.with_suffix(".started").write_text("started")
            _wait_for(log.with_suffix(".go"))
        with log.open("a") as out:
            out.write(f"{key}\n")
        return f"{key} written in {env}"

    gated(
        write_setting,
        effects={"write"},
        reversible=True,
        environment=lambda args: str(args.get("env") or "staging"),
    )
    steps = [
        say(f"turn {i}", *[("write_setting", {"key": k, "env": e}) for k, e in turn])
        for i, turn in enumerate(kw["options"]["turns"])
    ]
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=steps),
        [write_setting],
        kw["policy"],
        agent="writer",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


def _written(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _stop_during_hold(
    stop: Callable[[], object], log: Path, work: Callable[[], Any]
) -> tuple[Any, float]:
    """Run `work` in a thread; while its `hold` write blocks, commit a stop with `stop`
    (another Runtime, or another process). Returns what `work` returned and the commit time."""
    out: dict[str, Any] = {}

    def go() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # reported below, on the test's thread
            out["error"] = exc

    runner = threading.Thread(target=go)
    runner.start()
    _wait_for(log.with_suffix(".started"))
    stop()
    committed = time.time()
    log.with_suffix(".go").write_text("go")
    runner.join(WAIT_S)
    assert not runner.is_alive(), "the run never finished"
    if "error" in out:
        raise out["error"]
    return out["value"], committed


def _ledger(rt: Runtime) -> list[dict[str, Any]]:
    with rt.db.connection() as conn:
        return conn.all("SELECT tool, status, finished_at FROM interlock_executions")


def _audit(rt: Runtime, event: str) -> list[Any]:
    return [r for r in rt.audit.rows() if r.event == event]


def test_a_stop_committed_during_a_write_refuses_every_later_write(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt, admin = open_rt(graphs={GRAPH: stop_writer}), open_rt()
    log = tmp_path / "writes.log"
    turns = [[("hold", "staging")], [("w1", "staging")], [("w2", "staging")], [("w3", "staging")]]
    run, _ = _stop_during_hold(
        lambda: admin.stops.stop("environment", "staging", by=ADA, reason="INC-7"),
        log,
        lambda: rt.run(GRAPH, "write them all", options={"log": str(log), "turns": turns}),
    )
    assert run.status == "done"
    assert _written(log) == ["hold"]  # w1, w2, w3 were proposed after the stop: none ran
    assert [(r["tool"], r["status"]) for r in _ledger(rt)] == [("write_setting", "succeeded")]
    (stopped,) = _audit(rt, "scope_stopped")
    denied = _audit(rt, "action_denied")
    assert len(denied) == 3
    for row in denied:
        assert "Environment 'staging' is stopped by an administrator" in row.data["detail"]
        assert row.seq > stopped.seq  # logged after the stop, in the log's own order
    texts = [e for e in run.events if e.startswith("write_setting [error]")]
    assert len(texts) == 3
    assert all("stopped by an administrator" in t for t in texts)


def test_a_stop_from_the_cli_in_another_process_reaches_the_running_agent(
    open_rt: Callable[..., Runtime], db_url: str, tmp_path: Path
) -> None:
    rt = open_rt(graphs={GRAPH: stop_writer})
    env = {
        **os.environ,
        "INTERLOCK_REVIEWERS": str(tmp_path / "reviewers.toml"),
        "INTERLOCK_REVIEWER_PASSWORD": "correct horse",
    }
    env.pop("INTERLOCK_DATABASE_URL", None)

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [str(Path(sys.executable).with_name("interlock")), *args, "--db", db_url]
        return subprocess.run(
            argv, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )

    added = cli(
        "reviewers", "add", "ada", "--role", "admin", "--password-stdin", stdin="correct horse\n"
    )
    assert added.returncode == 0, added.stderr

    def stop() -> None:
        out = cli("stop", "--environment", "staging", "--as", "ada", "--reason", "INC-7")
        assert out.returncode == 0, out.stderr

    log = tmp_path / "writes.log"
    turns = [[("hold", "staging")], [("w1", "staging")], [("w2", "staging")]]
    run, _ = _stop_during_hold(
        stop, log, lambda: rt.run(GRAPH, "write", options={"log": str(log), "turns": turns})
    )
    assert run.status == "done"
    assert _written(log) == ["hold"]
    assert [(r["tool"], r["status"]) for r in _ledger(rt)] == [("write_setting", "succeeded")]
    assert len(_audit(rt, "action_denied")) == 2


def test_an_action_approved_before_the_stop_is_refused_at_execution(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt, admin = open_rt(graphs={GRAPH: stop_writer}), open_rt()
    log = tmp_path / "writes.log"
    run = rt.run(GRAPH, "write", options={"log": str(log), "turns": [[("p1", "production")]]})
    assert run.status == "pending"

    def stop_after_review(node: str, _update: Any) -> None:
        # The approval is recorded and the review node has applied it; the tool step has
        # not started: the stop commits in between, from another runtime.
        if node == "review":
            admin.stops.stop("environment", "production", by=ADA, reason="INC-7")

    out = rt.decisions.decide(
        run.review_id or "", {"type": "approve"}, reviewer=SAM, on_update=stop_after_review
    )
    assert out.thread_status == "done"
    assert _written(log) == []
    assert _ledger(rt) == []
    (refused,) = _audit(rt, "execution_refused")
    assert "Environment 'production' is stopped" in refused.data["detail"]
    assert "approved before the stop" in refused.data["detail"]
    with rt.db.connection() as conn:
        unused = conn.scalar(
            "SELECT count(*) AS n FROM interlock_approvals WHERE consumed_at IS NULL"
        )
    assert unused == 1  # the approval was not spent: it never ran


def test_a_queued_approval_resumed_after_a_stop_runs_nothing(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt(graphs={GRAPH: stop_writer})
    log = tmp_path / "writes.log"
    run = rt.run(GRAPH, "write", options={"log": str(log), "turns": [[("p1", "production")]]})
    rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM, resume=False)
    open_rt().stops.stop("agent", "writer", by=ADA, reason="INC-8")
    done = rt.decisions.resume(run.review_id or "")
    assert done.thread_status == "done"
    assert _written(log) == []
    assert _ledger(rt) == []
    assert any("Agent 'writer' is stopped" in e for e in done.events)
    # Resumed, the writes go through again.
    rt.stops.resume("agent", "writer", by=ADA)
    again = rt.run(GRAPH, "write", options={"log": str(log), "turns": [[("s1", "staging")]]})
    assert again.status == "done"
    assert _written(log) == ["s1"]


def _stale_view(rt: Runtime) -> None:
    """Make `rt` act on a view of the stops from before the stop (as a view read moments
    before a stop commits is): routing, review and the tool step accept it; only a fresh
    read (max_age=0) sees the stop."""
    from interlock.nodes import StoppedScopes

    rt.engine().stop_source.offer(StoppedScopes(), read_at=time.monotonic() + WAIT_S)


def test_a_stop_set_after_the_step_read_the_stops_is_caught_by_the_ledger(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    # The ledger row opens only while the stops are those the call was assessed with, in
    # the very statement that opens it: no window between a read and the write.
    rt = open_rt(graphs={GRAPH: stop_writer})
    log = tmp_path / "writes.log"
    open_rt().stops.stop("environment", "staging", by=ADA, reason="INC-9")
    _stale_view(rt)
    run = rt.run(GRAPH, "write", options={"log": str(log), "turns": [[("s1", "staging")]]})
    assert run.status == "done"
    assert _written(log) == []
    assert _ledger(rt) == []
    (denied,) = _audit(rt, "action_denied")
    assert "Environment 'staging' is stopped by an administrator" in denied.data["detail"]


def test_an_approved_action_under_a_stop_set_after_the_read_is_refused_unspent(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt(graphs={GRAPH: stop_writer})
    log = tmp_path / "writes.log"
    run = rt.run(GRAPH, "write", options={"log": str(log), "turns": [[("p1", "production")]]})
    rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM, resume=False)
    open_rt().stops.stop("environment", "production", by=ADA, reason="INC-9")
    _stale_view(rt)
    done = rt.decisions.resume(run.review_id or "")
    assert done.thread_status == "done"
    assert _written(log) == []
    assert _ledger(rt) == []
    (refused,) = _audit(rt, "execution_refused")
    assert "approved before the stop" in refused.data["detail"]
    with rt.db.connection() as conn:
        unused = conn.scalar(
            "SELECT count(*) AS n FROM interlock_approvals WHERE consumed_at IS NULL"
        )
    assert unused == 1


def test_a_stop_elsewhere_set_after_the_read_only_costs_a_fresh_assessment(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt(graphs={GRAPH: stop_writer})
    log = tmp_path / "writes.log"
    open_rt().stops.stop("environment", "qa", by=ADA, reason="INC-10")
    _stale_view(rt)
    run = rt.run(GRAPH, "write", options={"log": str(log), "turns": [[("s1", "staging")]]})
    assert run.status == "done"
    assert _written(log) == ["s1"]
    assert [(r["tool"], r["status"]) for r in _ledger(rt)] == [("write_setting", "succeeded")]


def test_a_served_graph_reads_stops_from_the_database_not_the_clients_context(
    lg_server: Any, tmp_path: Path
) -> None:
    """On LangGraph Server a client's run context may claim nothing is stopped and rename
    the agent; the governed graph asks the database, and nothing runs."""
    from langgraph_sdk import get_sync_client

    from interlock.graphs.ops_agent import AGENT, SCENARIO_REQUEST

    server, client = lg_server, get_sync_client(url=lg_server.url)
    with Runtime.open(server.db_url, reviewers_path=tmp_path / "reviewers.toml") as admin:
        admin.stops.stop("agent", AGENT, by=ADA, reason="INC-9")
        context = {"agent": "not-the-ops-agent", "stopped_agents": [], "stopped_environments": []}
        thread = client.threads.create()["thread_id"]
        client.runs.wait(
            thread,
            "ops_agent_governed",
            input={"messages": [{"role": "user", "content": SCENARIO_REQUEST}]},
            context=context,
        )
        # No tool ran: the simulated infrastructure was never even read.
        assert not server.infra.exists() or server.ops() == [], server.logs()
        rows = [r for r in admin.audit.rows() if r.thread_id == thread]
        assert not [r for r in rows if r.event.startswith("execution_")], rows
        denied = [r for r in rows if r.event == "action_denied"]
        assert denied, server.logs()
        assert all("is stopped by an administrator" in r.data["detail"] for r in denied)

        # Lifted in the database, the same run goes through: the stop was what held it.
        admin.stops.resume("agent", AGENT, by=ADA)
        again = client.threads.create()["thread_id"]
        client.runs.wait(
            again,
            "ops_agent_governed",
            input={"messages": [{"role": "user", "content": SCENARIO_REQUEST}]},
            context=context,
        )
        assert server.ops() == ["restart_service", "scale_service"], server.logs()
