"""The agent side on Postgres, with exactly its own credentials: the agent database role (from
`interlock db roles`), the public keys and its environment. From a shell it tries the
issue's attacks through the `interlock` CLI and SQL; each is refused in one line, the
production volume survives, and each refusal that reaches Interlock is audited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from interlock.graphs import Infra
from interlock.runtime import Runtime
from interlock.runtime.execution.worker import Worker
from tests.role_pair import PROD_DELETE, role_pair, scripted_ops

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


@dataclass(frozen=True)
class Agent:
    admin: str
    url: str
    reviewer_url: str
    env: dict[str, str]
    tmp: Path
    signing_key: str

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INTERLOCK, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.tmp,
            timeout=120,
        )

    def events(self, event: str) -> list[Any]:
        with Runtime.open(self.admin) as rt:
            return [r for r in rt.audit.rows() if r.event == event]


@pytest.fixture
def agent(pg_url: str, tmp_path: Path, signing_keys: tuple[Path, Path]) -> Iterator[Agent]:
    with role_pair(pg_url, reviewers={"ada": ("admin", "ada-password-1")}) as got:
        base = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
        env = {
            **base,
            "INTERLOCK_DATABASE_URL": got.agent_url,
            "INTERLOCK_PUBLIC_KEYS": str(signing_keys[1]),
            "INTERLOCK_REVIEWERS": str(tmp_path / "mine.toml"),  # a file the attacker controls
        }
        yield Agent(pg_url, got.agent_url, got.reviewer_url, env, tmp_path, str(signing_keys[0]))


def _pending_delete(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, Infra]:
    for key, value in agent.env.items():
        if key.startswith("INTERLOCK_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("INTERLOCK_SIGNING_KEY", raising=False)
    infra = agent.tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    with Runtime.open(agent.url, graphs={"s": scripted_ops}) as rt:
        run = rt.run("s", "tidy up", options={"infra": str(infra), "turns": [[PROD_DELETE]]})
    assert run.status == "pending"
    assert run.review_id
    return run.review_id, run.thread_id, Infra(infra)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_reviewer_added_through_an_environment_file_decides_nothing(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    review_id, _, infra = _pending_delete(agent, monkeypatch)
    added = agent.cli(
        "reviewers", "add", "eve", "--role", "admin", "--password-stdin", stdin="eve-password-1\n"
    )
    assert "permission denied" in _one_line(added)
    assert (
        not (agent.tmp / "mine.toml").exists() or "eve" not in (agent.tmp / "mine.toml").read_text()
    )
    decided = agent.cli(
        "decide",
        review_id,
        "--as",
        "eve",
        "--approve",
        "--password-stdin",
        stdin="eve-password-1\n",
    )
    _one_line(decided)
    with Runtime.open(agent.admin, graphs={"s": scripted_ops}) as rt:
        Worker(rt).sweep()
        assert rt.inbox.summary(review_id).status == "pending"
    assert "vol-prod-db" in infra.read()["volumes"]
    assert [r.actor for r in agent.events("authentication_failed")] == ["unauthenticated:eve"]


def test_demo_decide_is_refused_outside_the_demo_database(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    review_id, thread_id, infra = _pending_delete(agent, monkeypatch)
    done = agent.cli("demo", "--decide", "approve", "--thread", thread_id, "--db", agent.url)
    _one_line(done)
    assert len(done.stderr.strip().splitlines()) <= 4
    assert "vol-prod-db" in infra.read()["volumes"]
    with Runtime.open(agent.admin) as rt:
        assert rt.inbox.summary(review_id).status == "pending"
        with rt.db.connection() as conn:
            assert conn.scalar("SELECT count(*) AS n FROM interlock_decisions") == 0


def test_a_stop_cannot_be_lifted_from_the_agent_side(agent: Agent) -> None:
    with Runtime.open(agent.admin) as rt:
        ada = rt.authenticate("ada", "ada-password-1")
        rt.stops.stop("environment", "production", by=ada, reason="INC-7")
    lifted = agent.cli(
        "resume-scope",
        "--environment",
        "production",
        "--as",
        "ada",
        "--password-stdin",
        stdin="guessed-password\n",
    )
    _one_line(lifted)
    with (
        psycopg.connect(agent.url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("DELETE FROM interlock_stops")
    with Runtime.open(agent.admin) as rt:
        assert [(s.scope, s.value) for s in rt.stops.active()] == [("environment", "production")]
    assert [r.actor for r in agent.events("authentication_failed")] == ["unauthenticated:ada"]


def test_an_in_doubt_action_cannot_be_resolved_from_the_agent_side(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An approved delete whose run died mid-tool (its ledger row is `started`, nothing
    recorded an outcome) is put in doubt by an agent-role worker. The agent side then tries
    to close it: `interlock resolve` as a made-up reviewer, and SQL that would settle the
    in-doubt review or record the decision resolving writes. All refused; it stays in doubt."""
    review_id, thread_id, infra = _pending_delete(agent, monkeypatch)
    with Runtime.open(agent.admin) as admin:
        admin.reviewers.add("sam", ["sre-lead"], "sam-password-1")
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", agent.signing_key)
    with Runtime.open(agent.reviewer_url, graphs={"s": scripted_ops}) as rv:
        sam = rv.authenticate("sam", "sam-password-1")
        assert rv.decisions.decide(review_id, {"type": "approve"}, reviewer=sam, resume=False)
    monkeypatch.delenv("INTERLOCK_SIGNING_KEY")
    with psycopg.connect(agent.admin, autocommit=True) as conn:  # the crash, as it leaves it
        conn.execute(
            "INSERT INTO interlock_executions (digest, thread_id, review_id, tool, status, "
            "started_at, action_digest, tool_call_id) SELECT digest, thread_id, review_id, tool, "
            "'started', now(), digest, tool_call_id FROM interlock_approvals WHERE review_id = %s",
            (review_id,),
        )
    with Runtime.open(agent.url, graphs={"s": scripted_ops}) as rt:
        Worker(rt).sweep()
    with psycopg.connect(agent.admin, autocommit=True) as conn:
        found = conn.execute(
            "SELECT id FROM interlock_reviews WHERE kind = 'in_doubt' AND thread_id = %s",
            (thread_id,),
        ).fetchall()
    assert len(found) == 1, found
    (in_doubt,) = found[0]
    resolved = agent.cli(
        "resolve", in_doubt, "--as", "mallory", "--did-not-run", "--password-stdin", stdin="x\n"
    )
    _one_line(resolved)
    with psycopg.connect(agent.url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO interlock_decisions (id, review_id, reviewer, type, settles, "
                "payload, created_at) VALUES ('dc-x', %s, 'mallory', 'resolve', 1, '{}', now())",
                (in_doubt,),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "UPDATE interlock_reviews SET status = 'decided' WHERE id = %s", (in_doubt,)
            )
    with psycopg.connect(agent.admin, autocommit=True) as conn:
        row = conn.execute("SELECT status FROM interlock_reviews WHERE id = %s", (in_doubt,))
        assert row.fetchone() == ("pending",)
        ledger = conn.execute("SELECT status FROM interlock_executions").fetchall()
    assert ledger == [("in_doubt",)]
    assert "vol-prod-db" in infra.read()["volumes"]  # the tool never ran here
    assert [r.actor for r in agent.events("authentication_failed")] == ["unauthenticated:mallory"]


def test_the_agent_side_cannot_choose_or_pin_its_own_policy(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinned by an admin on the reviewer side, the policy is not the agent's to choose: a
    lenient INTERLOCK_POLICY refuses to open, and neither publishing nor SQL moves the pin."""
    from interlock.risk import bundled_policy_path
    from interlock.risk.errors import ConfigError

    lenient = agent.tmp / "lenient.yaml"
    text = bundled_policy_path("default").read_text(encoding="utf-8")
    lenient.write_text(text.replace("name: interlock-default", "name: lenient", 1), "utf-8")
    with Runtime.open(agent.reviewer_url) as rt:
        ada = rt.authenticate("ada", "ada-password-1")
        pinned = rt.policy_pin.publish(text, by=ada, source="default.yaml")
    for key, value in {**agent.env, "INTERLOCK_POLICY": str(lenient)}.items():
        if key.startswith("INTERLOCK_"):
            monkeypatch.setenv(key, value)
    with pytest.raises(
        ConfigError, match=f"this database pins policy interlock-default version {pinned.version}"
    ):
        Runtime.open(agent.url)
    monkeypatch.delenv("INTERLOCK_POLICY")
    with Runtime.open(agent.url) as rt:
        assert rt.policy.version == pinned.version  # the pinned one, with nothing configured
    published = agent.cli(
        "policy", "publish", str(lenient), "--as", "ada", "--password-stdin",
        stdin="guessed-password\n",
    )  # fmt: skip
    _one_line(published)
    with psycopg.connect(agent.url, autocommit=True) as conn:
        for sql in (
            "UPDATE interlock_policy_pin SET version = 'x'",
            "DELETE FROM interlock_policy_pin",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    with Runtime.open(agent.admin) as rt:
        now = rt.policy_pin.current()
        assert now is not None
        assert (now.version, now.actor) == (pinned.version, "ada")
        assert [r.actor for r in rt.audit.rows() if r.event == "policy_published"] == ["ada"]
