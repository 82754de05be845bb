"""An agent whose shell names the deployment's own policy file, wherever the operator put it,
is refused by the runtime's gate, and the file is unchanged: `Runtime.open` registers the
files it was configured with (`INTERLOCK_POLICY`, the reviewers file, the SQLite database,
the keys), so the refusal does not depend on the file living under `.interlock/`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import gated
from interlock.risk import bundled_policy_path, protected_paths
from interlock.runtime import Runtime


def _shell_agent(command: str, ran: list[str]) -> Any:
    @tool
    def shell(command: str) -> str:
        """Run a shell command."""
        ran.append(command)
        done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
        return done.stdout + done.stderr

    gated(shell, effects={"write"}, reversible=True, environment="dev")

    def factory(*, checkpointer: Any, policy: Any, **stores: Any) -> Any:
        from types import SimpleNamespace

        model = ScriptedChatModel(
            steps=[say("Loosening the policy.", ("shell", {"command": command}))]
        )
        builder, gate = build_gated_graph(
            model,
            [shell],
            policy,
            agent="ops-agent",
            approvals=stores["approvals"],
            ledger=stores["ledger"],
            audit=stores["audit"],
            issue_on_resume=stores["issue_on_resume"],
        )
        return SimpleNamespace(graph=builder.compile(checkpointer=checkpointer), gate=gate)

    return factory


def test_an_agent_cannot_rewrite_the_configured_policy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = tmp_path / "etc-ops"
    ops.mkdir()
    policy = ops / "policy.yaml"
    shutil.copy(bundled_policy_path("default"), policy)
    before = policy.read_bytes()
    monkeypatch.setenv("INTERLOCK_POLICY", str(policy))
    monkeypatch.setenv("INTERLOCK_REVIEWERS", str(ops / "people.toml"))
    monkeypatch.chdir(ops)  # the agent's shell runs beside the file: a relative name
    ran: list[str] = []
    command = "sed -i 's/outcome: deny/outcome: allow/' policy.yaml"
    url = f"sqlite:///{tmp_path}/state/interlock.db"
    with Runtime.open(url, graphs={"sh": _shell_agent(command, ran)}) as rt:
        listed = protected_paths()
        assert listed[str(policy)] == "Interlock's policy file"
        assert listed[str(ops / "people.toml")] == "Interlock's reviewers file"
        assert listed[str(tmp_path / "state" / "interlock.db")] == "Interlock's database"
        out = rt.run("sh", "make the policy less strict")
        assert out.status == "done"
        events = [r.event for r in rt.audit.rows(thread_id=out.thread_id)]
    assert ran == []  # the tool never started
    assert policy.read_bytes() == before
    assert "action_denied" in events


def test_the_bundled_policy_is_protected_where_no_policy_file_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With INTERLOCK_POLICY unset the gate uses the bundled policy, so the installed copy is
    what an agent would rewrite: it is protected too (a read here, so a failure of this test
    changes nothing on disk)."""
    monkeypatch.delenv("INTERLOCK_POLICY", raising=False)
    monkeypatch.setenv("INTERLOCK_REVIEWERS", str(tmp_path / "people.toml"))
    installed = bundled_policy_path("default")
    ran: list[str] = []
    url = f"sqlite:///{tmp_path}/interlock.db"
    with Runtime.open(url, graphs={"sh": _shell_agent(f"cat {installed}", ran)}) as rt:
        assert protected_paths()[str(installed)] == "Interlock's bundled policy"
        out = rt.run("sh", "show me the policy")
        events = [r.event for r in rt.audit.rows(thread_id=out.thread_id)]
    assert ran == []
    assert "action_denied" in events
