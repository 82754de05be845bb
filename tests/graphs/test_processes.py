"""Across processes: a review survives its process, a resume happens in another, and a crash
after the side effect never leads to a second run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from interlock.graphs import Infra, open_checkpointer
from interlock.graphs.ops_agent import build_ops_agent
from interlock.nodes import pending_reviews

SCRIPT = r"""
import json, os, sys
from interlock.graphs import Infra, open_checkpointer
from interlock.graphs.ops_agent import SCENARIO_REQUEST, build_ops_agent
from interlock.nodes import pending_reviews, resume_command

db, infra_path, thread, phase = sys.argv[1:5]
if phase == "crash":  # the delete happens, then the process dies before anything is saved
    real = Infra.change
    def change(self, op, target, fn):
        out = real(self, op, target, fn)
        if op == "delete_volume":
            os._exit(17)
        return out
    Infra.change = change
with open_checkpointer(db) as saver:
    agent = build_ops_agent(infra=Infra(infra_path), checkpointer=saver)
    cfg = {"configurable": {"thread_id": thread}}
    if phase == "start":
        agent.graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, cfg)
    elif phase in ("approve", "crash"):
        (review,) = pending_reviews(agent.graph, cfg)
        command = resume_command(review, {"type": "approve"})
        agent.graph.invoke(command, cfg, durability="sync")
    elif phase == "continue":
        agent.graph.invoke(None, cfg)
    names = [a["name"] for p in pending_reviews(agent.graph, cfg)
             for a in p.request["action_requests"]]
    print(json.dumps(names))
"""


def run(db: str, infra: Path, thread: str, phase: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, db, str(infra), thread, phase],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_review_is_resumed_by_another_process(db_url: str, tmp_path: Path) -> None:
    infra_path = tmp_path / "infra.json"
    first = run(db_url, infra_path, "proc", "start")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == ["delete_volume"]
    infra = Infra(infra_path)
    assert infra.events("delete_volume") == []

    # This process sees the same pending review through the checkpointer alone.
    with open_checkpointer(db_url) as saver:
        graph = build_ops_agent(infra=infra, checkpointer=saver).graph
        (review,) = pending_reviews(graph, {"configurable": {"thread_id": "proc"}})
        assert review.request["action_requests"][0]["args"]["volume_id"] == "vol-prod-db"

    second = run(db_url, infra_path, "proc", "approve")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == ["rotate_credential"], second.stderr
    assert [e["target"] for e in infra.events("delete_volume")] == ["vol-prod-db"]


def test_a_crash_after_the_side_effect_does_not_run_it_again(db_url: str, tmp_path: Path) -> None:
    infra_path = tmp_path / "infra.json"
    assert run(db_url, infra_path, "crash", "start").returncode == 0
    crashed = run(db_url, infra_path, "crash", "crash")
    assert crashed.returncode == 17, crashed.stderr
    infra = Infra(infra_path)
    assert len(infra.events("delete_volume")) == 1

    # A restarted worker finds no approval it could use: it refuses instead of re-running.
    again = run(db_url, infra_path, "crash", "continue")
    assert again.returncode == 0, again.stderr
    assert len(infra.events("delete_volume")) == 1
    with open_checkpointer(db_url) as saver:
        graph = build_ops_agent(infra=infra, checkpointer=saver).graph
        state = graph.get_state({"configurable": {"thread_id": "crash"}})
    results = [m for m in state.values["messages"] if getattr(m, "name", "") == "delete_volume"]
    assert results[-1].status == "error"
    assert "Refused to run delete_volume" in results[-1].content


def test_langgraph_json_names_importable_graphs_compiled_without_a_checkpointer() -> None:
    import importlib

    root = Path(__file__).resolve().parents[2]
    spec = json.loads((root / "langgraph.json").read_text())
    assert spec["graphs"]["ops_agent"] == "interlock.graphs.ops_agent:graph"
    for target in spec["graphs"].values():
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        graph = getattr(module, attr)
        assert graph.checkpointer is None  # LangGraph Server brings its own
        if module_name.startswith("interlock.graphs."):
            assert attr == "graph"
            assert callable(module.build_graph)
            assert {"model", "tools", "review"} <= set(graph.nodes)
