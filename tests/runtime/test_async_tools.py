"""The durable runtime runs and resumes graphs whose tools are async-only (`async def`).

The runtime drives threads with the sync `graph.stream`; the gated tool step runs an
async-only tool's coroutine to completion on a private event loop (interlock.nodes._bridge),
so a thread starts, stops for review, is decided and resumes as with sync tools: the
approved call runs once, its ledger row closes, on SQLite and on Postgres. The same holds
for a `create_agent` thread gated by InterlockMiddleware, whose sync `wrap_tool_call` runs
the coroutine the same way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import InterlockMiddleware, gated
from interlock.runtime import (
    Authenticator,
    Principal,
    Reviewer,
    Reviewers,
    Runtime,
    Worker,
    WorkerOptions,
    hash_password,
)


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")


def _write_tool(log: Path) -> Any:

    @tool
    async def write_setting(key: str, env: str = "staging") -> str:
        """Write a setting in an environment."""
        await asyncio.sleep(0.001)  # really awaits: a loop runs this
        asyncio.get_running_loop()
        main = threading.current_thread() is threading.main_thread()
        with log.open("a") as out:
            out.write(f"{key} {env} {'main' if main else 'worker'}\n")
        return f"{key} written in {env}"

    gated(
        write_setting,
        effects={"write"},
        reversible=True,
        environment=lambda args: str(args.get("env") or "staging"),
    )
    return write_setting


def _model(options: Any) -> ScriptedChatModel:
    steps = [
        say(f"turn {i}", *[("write_setting", {"key": k, "env": e}) for k, e in turn])
        for i, turn in enumerate(options["turns"])
    ]
    return ScriptedChatModel(steps=steps)


def async_writer(**kw: Any) -> Any:
    """Options: `log` (each write appends `key env thread-kind`), `turns` (lists of
    (key, env) writes per model turn). The only tool is async-only."""
    builder, gate = build_gated_graph(
        _model(kw["options"]),
        [_write_tool(Path(kw["options"]["log"]))],
        kw["policy"],
        agent="writer",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


def async_writer_mw(**kw: Any) -> Any:
    """The same agent as LangChain's create_agent with InterlockMiddleware."""
    tools = [_write_tool(Path(kw["options"]["log"]))]
    mw = InterlockMiddleware(
        tools,
        kw["policy"],
        agent="writer",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    graph = create_agent(
        _model(kw["options"]), tools, middleware=[mw], checkpointer=kw["checkpointer"]
    )
    return SimpleNamespace(graph=graph, gate=mw.gate)


FACTORIES = {"async_writer": async_writer, "async_writer_mw": async_writer_mw}


@pytest.fixture(params=sorted(FACTORIES))
def graph(request: pytest.FixtureRequest) -> str:
    """Both agents: create_gated_agent's graph and create_agent with the middleware."""
    return str(request.param)


def _written(log: Path) -> list[str]:
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def _ledger(rt: Runtime) -> list[tuple[str, str]]:
    with rt.db.connection() as conn:
        rows = conn.all("SELECT tool, status FROM interlock_executions ORDER BY started_at")
    return [(r["tool"], r["status"]) for r in rows]


def test_an_allowed_async_only_tool_runs_in_a_runtime_thread(
    open_rt: Callable[..., Runtime], tmp_path: Path, graph: str
) -> None:
    rt = open_rt(graphs=FACTORIES)
    log = tmp_path / "writes.log"
    turns = [[("s1", "staging"), ("s2", "staging")], [("s3", "staging")]]
    run = rt.run(graph, "write them", options={"log": str(log), "turns": turns})
    assert run.status == "done", run.events
    assert sorted(_written(log)) == ["s1", "s2", "s3"]
    assert _ledger(rt) == [("write_setting", "succeeded")] * 3


def test_an_async_only_tool_stops_for_review_and_runs_once_when_approved(
    open_rt: Callable[..., Runtime], tmp_path: Path, graph: str
) -> None:
    rt = open_rt(graphs=FACTORIES)
    log = tmp_path / "writes.log"
    turns = [[("p1", "production")]]
    run = rt.run(graph, "write prod", options={"log": str(log), "turns": turns})
    assert run.status == "pending"
    assert _written(log) == []
    out = rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM)
    assert out.status == "resumed", out
    assert out.thread_status == "done"
    assert _written(log) == ["p1"]
    assert _ledger(rt) == [("write_setting", "succeeded")]
    # Deciding again (or resuming again) runs nothing more.
    again = rt.engine().resume(run.review_id or "")
    assert not again.ran or again.thread_status == "done"
    assert _written(log) == ["p1"]


def test_a_worker_resumes_an_async_only_tool(
    open_rt: Callable[..., Runtime], tmp_path: Path, graph: str
) -> None:
    rt = open_rt(graphs=FACTORIES)
    log = tmp_path / "writes.log"
    run = rt.run(graph, "write prod", options={"log": str(log), "turns": [[("p2", "production")]]})
    assert run.status == "pending"
    rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM, resume=False)
    assert _written(log) == []
    # A worker (as in another process: a Runtime of its own on the database) carries it in.
    other = open_rt(graphs=FACTORIES)
    Worker(other, WorkerOptions(poll=0, reconcile_every=0)).run(once=True)
    assert _written(log) == ["p2"]
    assert _ledger(other) == [("write_setting", "succeeded")]
    assert rt.engine().resume(run.review_id or "").ran is False  # resumed once, only
