"""`interlock db roles`: the agent side's database role cannot decide, approve, add reviewers
or lift stops (the database refuses), yet it runs a gated thread to its interrupt and executes
an approved action; the reviewer side's role decides. Real Postgres, real roles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from interlock.graphs import Infra
from interlock.runtime import Runtime, open_database
from interlock.runtime.execution.worker import Worker, WorkerEvent
from interlock.runtime.store import setup_roles
from tests.role_pair import PROD_DELETE, role_pair, scripted_ops

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


@dataclass(frozen=True)
class Roles:
    admin: str
    agent: str
    reviewer: str
    agent_role: str
    reviewer_role: str


@pytest.fixture
def roles(pg_url: str) -> Iterator[Roles]:
    """The test database upgraded, with its own pair of roles (role names are cluster-wide,
    so each test has unique ones, dropped afterwards)."""
    with role_pair(pg_url) as got:
        assert got.created == (got.agent, got.reviewer)
        yield Roles(pg_url, got.agent_url, got.reviewer_url, got.agent, got.reviewer)


def _refused(url: str, sql: str) -> str:
    with (
        psycopg.connect(url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as err,
    ):
        conn.execute(sql)
    return str(err.value)


def _start(rt: Runtime, tmp: Path) -> tuple[str, Infra]:
    infra = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    run = rt.run("s", "tidy up", options={"infra": str(infra), "turns": [[PROD_DELETE]]})
    assert run.status == "pending"
    assert run.review_id
    return run.review_id, Infra(infra)


def test_the_agent_role_may_not_decide_approve_add_reviewers_or_lift_stops(
    roles: Roles, tmp_path: Path
) -> None:
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}) as rt:
        review_id, _ = _start(rt, tmp_path)
    agent = roles.agent
    decision = (
        "INSERT INTO interlock_decisions (id, review_id, reviewer, type, settles, payload, "
        f"created_at) VALUES ('dc-x', '{review_id}', 'eve', 'approve', 1, '{{}}', now())"
    )
    assert "permission denied for table interlock_decisions" in _refused(agent, decision)
    approval = (
        "INSERT INTO interlock_approvals (digest, review_id, thread_id, reviewers, issued_at, "
        f"expires_at) VALUES ('d', '{review_id}', 't', '[\"eve\"]', now(), now() + '1h')"
    )
    assert "permission denied" in _refused(agent, approval)
    assert "permission denied" in _refused(
        agent, "UPDATE interlock_approvals SET expires_at = now() + '1 day'"
    )
    assert "permission denied" in _refused(
        agent,
        "INSERT INTO interlock_reviewers (name, name_key, roles, password_hash, created_at, "
        "updated_at, updated_by) VALUES ('eve', 'eve', '[\"admin\"]', 'x', now(), now(), 'eve')",
    )
    assert "permission denied" in _refused(agent, "SELECT password_hash FROM interlock_reviewers")
    assert "permission denied" in _refused(agent, "DELETE FROM interlock_stops")
    assert "permission denied" in _refused(
        agent,
        "INSERT INTO interlock_stops (scope, value, actor, created_at) "
        "VALUES ('agent', 'x', 'eve', now())",
    )
    # It may update a review's status column, but not to settle it: the v6 guard refuses.
    settle = f"UPDATE interlock_reviews SET status = 'decided' WHERE id = '{review_id}'"
    assert "may not settle review" in _refused(agent, settle)
    assert "permission denied" in _refused(
        agent, f"UPDATE interlock_reviews SET decided_by = 'eve' WHERE id = '{review_id}'"
    )
    with psycopg.connect(roles.admin) as conn:
        (status,) = conn.execute(
            "SELECT status FROM interlock_reviews WHERE id = %s", (review_id,)
        ).fetchone() or ("?",)
        assert status == "pending"
        assert conn.execute("SELECT count(*) FROM interlock_decisions").fetchone() == (0,)


def test_the_agent_role_runs_to_the_interrupt_and_executes_what_the_reviewer_role_approved(
    roles: Roles, tmp_path: Path
) -> None:
    with Runtime.open(roles.admin) as admin:
        admin.reviewers.add("sam", ["sre-lead"], "sam-password-1")
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}) as rt:
        review_id, infra = _start(rt, tmp_path)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rt.reviewers.authenticate("sam", "sam-password-1")  # cannot even read the hashes
    assert "vol-prod-db" in infra.read()["volumes"]
    with Runtime.open(roles.reviewer, graphs={"s": scripted_ops}) as rv:
        sam = rv.reviewers.authenticate("SAM", "sam-password-1")  # case-insensitive login
        assert sam.name == "sam"
        out = rv.decisions.decide(review_id, {"type": "approve"}, reviewer=sam, resume=False)
        assert out.status == "queued"
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}) as rt:
        swept = Worker(rt).sweep()
    assert swept.resumed == 1
    assert "vol-prod-db" not in infra.read()["volumes"]
    with psycopg.connect(roles.admin) as conn:
        rows = conn.execute("SELECT status FROM interlock_executions").fetchall()
    assert rows == [("succeeded",)]


def test_roles_setup_is_idempotent_and_grants_exactly_the_matrix(roles: Roles) -> None:
    with open_database(roles.admin) as db:
        again = setup_roles(db, agent=roles.agent_role, reviewer=roles.reviewer_role)
    assert again.created == ()
    with psycopg.connect(roles.admin) as conn:

        def may(role: str, table: str, what: str) -> bool:
            row = conn.execute("SELECT has_table_privilege(%s, %s, %s)", (role, table, what))
            return bool((row.fetchone() or (False,))[0])

        a, r = roles.agent_role, roles.reviewer_role
        assert not may(a, "interlock_decisions", "INSERT")
        assert may(r, "interlock_decisions", "INSERT")
        assert not may(a, "interlock_stops", "INSERT")
        assert may(r, "interlock_stops", "DELETE")
        assert not may(a, "interlock_reviewers", "SELECT")
        assert may(r, "interlock_reviewers", "INSERT")
        assert may(a, "checkpoints", "INSERT")
        assert may(a, "interlock_audit", "INSERT")
        assert not may(a, "interlock_audit", "UPDATE")
        assert not may(r, "interlock_audit", "DELETE")


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "INTERLOCK_DATABASE_URL"}
    return subprocess.run(
        [INTERLOCK, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_the_cli_refuses_agent_side_writes_in_one_line(roles: Roles, tmp_path: Path) -> None:
    added = _cli(
        "reviewers",
        "add",
        "eve",
        "--role",
        "admin",
        "--password-stdin",
        "--db",
        roles.agent,
        stdin="eve-password-1\n",
    )
    assert added.returncode == 2, added.stderr
    assert "permission denied for table interlock_reviewers" in added.stderr
    assert "Traceback" not in added.stderr
    assert len(added.stderr.strip().splitlines()) <= 3  # one line, maybe wrapped
    # The reviewer role may; listing shows it; an environment path is not who reviews.
    ok = _cli(
        "reviewers",
        "add",
        "Eve",
        "--role",
        "admin",
        "--password-stdin",
        "--db",
        roles.reviewer,
        stdin="eve-password-1\n",
    )
    assert ok.returncode == 0, ok.stderr
    dup = _cli(
        "reviewers",
        "add",
        "eve",
        "--role",
        "oncall",
        "--password-stdin",
        "--db",
        roles.reviewer,
        stdin="eve-password-2\n",
    )
    assert dup.returncode == 2
    assert "already exists" in dup.stderr
    listed = _cli("reviewers", "list", "--json", "--db", roles.reviewer)
    assert [r["name"] for r in json.loads(listed.stdout)] == ["Eve"]
    via_file = _cli("reviewers", "list", "--db", roles.reviewer, "--file", str(tmp_path / "x"))
    assert via_file.returncode == 2
    assert "embedded SQLite mode only" in via_file.stderr
    on_sqlite = _cli("db", "roles", "--db", f"sqlite:///{tmp_path}/x.db")
    assert on_sqlite.returncode == 2
    assert "need Postgres" in on_sqlite.stderr


def test_expiry_is_left_to_the_reviewer_role(roles: Roles, tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(days=30)  # every review is past its deadline then
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}) as rt:
        review_id, _ = _start(rt, tmp_path)
    events: list[WorkerEvent] = []
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}, clock=lambda: later) as rt:
        worker = Worker(rt, on_event=events.append)
        assert worker.sweep().expired == 0
        assert worker.sweep().expired == 0  # said once, not every sweep
        assert rt.inbox.summary(review_id).status == "pending"
    skipped = [e for e in events if "expiry skipped" in e.detail]
    assert len(skipped) == 1
    assert "reviewer role" in skipped[0].detail
    with Runtime.open(roles.reviewer, graphs={"s": scripted_ops}, clock=lambda: later) as rv:
        assert Worker(rv).sweep().expired == 1
        assert rv.inbox.summary(review_id).status == "expired"
