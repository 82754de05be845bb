"""The CLI and the console, unchanged, against graphs that run on LangGraph Server.

The reviewer's tools only gain `INTERLOCK_LANGGRAPH_URL`; the thread is started on the
server as any LangGraph client would start it (Studio, the SDK).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.runtime import DEMO_PASSWORD, Runtime, ensure_demo_reviewers

INTERLOCK = Path(sys.executable).with_name("interlock")
LangGraphServer = Any  # tests/runtime/conftest.py: a running `langgraph dev`
VOLUME = "vol-prod-db"
ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


def _client(server: LangGraphServer) -> Any:
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=server.url)


def _start(server: LangGraphServer, graph: str) -> tuple[str, dict[str, Any]]:
    client = _client(server)
    thread = client.threads.create(thread_id=str(uuid.uuid4()))["thread_id"]
    client.runs.wait(
        thread, graph, input={"messages": [{"role": "user", "content": SCENARIO_REQUEST}]}
    )
    state = client.threads.get_state(thread)
    return thread, state


def _cli(server: LangGraphServer, where: Path, *args: str) -> subprocess.CompletedProcess[str]:
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


def _pending_cli(server: LangGraphServer, where: Path) -> list[dict[str, Any]]:
    listed = _cli(server, where, "pending", "--json")
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def test_the_pocketos_scenario_on_the_server_decided_through_the_cli(
    lg_sqlite_server: LangGraphServer, tmp_path: Path
) -> None:
    server = lg_sqlite_server
    ensure_demo_reviewers(tmp_path / "reviewers.toml", server.db_url, force=True)
    # The agent runs on the server to the critical review, started as any client would.
    thread, _ = _start(server, "ops_agent_governed")
    (review,) = _pending_cli(server, tmp_path)
    assert (review["thread_id"], review["tool"]) == (thread, "delete_volume")

    message = ADVICE
    reject = ("decide", review["id"], "--as", "sre-lead-demo", "--reject", message, "--json")
    step = _cli(server, tmp_path, *reject)
    # Whatever the agent asks on the safe path is approved, through the CLI as well.
    for _ in range(6):
        assert step.returncode == 0, step.stderr + server.logs()
        out = json.loads(step.stdout)
        assert out["status"] == "resumed", out
        if out["next_review_id"] is None:
            break
        step = _cli(
            server,
            tmp_path,
            *("decide", out["next_review_id"], "--as", "sre-lead-demo", "--approve", "--json"),
        )
    assert out["thread_status"] == "done", out
    assert _pending_cli(server, tmp_path) == []

    state = _client(server).threads.get_state(thread)
    assert state["next"] == []
    assert state["interrupts"] == []
    messages = state["values"]["messages"]
    rejected = [m for m in messages if m.get("name") == "delete_volume"]
    assert message in rejected[-1]["content"]
    # The agent followed the reviewer: the delete was proposed once and never again.
    proposed = [
        c for m in messages for c in m.get("tool_calls") or [] if c["name"] == "delete_volume"
    ]
    assert len(proposed) == 1
    assert VOLUME in server.volumes()
    ops = server.ops()
    assert ops.index("snapshot_volume") < ops.index("rotate_credential")
    assert "delete_volume" not in ops
    verified = _cli(server, tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_console_lists_and_decides_a_review_of_the_server(
    lg_sqlite_server: LangGraphServer,
    lg_runtime: Callable[[LangGraphServer], Runtime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import interlock.ui

    server = lg_sqlite_server
    rt = lg_runtime(server)  # the demo reviewers, and a look at the result afterwards
    thread, _ = _start(server, "ops_agent_governed")
    for name, value in {
        "INTERLOCK_DATABASE_URL": server.db_url,
        "INTERLOCK_LANGGRAPH_URL": server.url,
        "INTERLOCK_REVIEWERS": str(tmp_path / "reviewers.toml"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INTERLOCK_POLICY", raising=False)
    app = Path(interlock.ui.__file__).parent / "console_app.py"
    try:
        at = AppTest.from_file(str(app), default_timeout=60).run()
        at.text_input(key="auth_name").input("sre-lead-demo")
        at.text_input(key="auth_password").input(DEMO_PASSWORD)
        at.button[0].click().run()
        at.switch_page("_console_inbox.py").run()
        assert not at.exception, at.exception
        assert list(at.dataframe[0].value["action"]) == [f"delete_volume · volume {VOLUME}"]

        (review,) = rt.inbox.pending()
        assert review.thread_id == thread
        key = f"decide_{review.id}_0"
        at.query_params["review"] = review.id
        at.switch_page("_console_review.py").run()
        at.radio(key=f"{key}_kind").set_value("reject").run()
        message = ADVICE
        at.text_area(key=f"{key}_message").input(message).run()
        at.button(key=f"{key}_submit").click().run()
        assert not at.exception, at.exception
    finally:
        st.cache_resource.clear()
    assert rt.inbox.summary(review.id).status == "decided"
    (nxt,) = rt.inbox.pending()
    assert nxt.tool == "snapshot_volume"
    assert VOLUME in server.volumes()
