"""Schema v9's guards, attacked with the agent database role only (from `interlock db roles`):
a TEMP table that shadows `interlock_decisions` no longer passes the guard, the audit head
cannot be moved back (or away from the last row) so reviewer-side writes such as a stop keep
working, and the agent cannot append reviewer-side audit events. The agent's own normal run
(a gated call that opens a review and writes audit rows) still works under its role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from interlock.graphs import Infra
from interlock.runtime import AuditLog, Runtime, open_database
from interlock.runtime.execution.worker import Worker
from interlock.runtime.store._schema_v10 import REVIEWER_EVENTS_V10 as REVIEWER_EVENTS
from tests.role_pair import PROD_DELETE, role_pair, scripted_ops


@dataclass(frozen=True)
class Roles:
    admin: str
    agent: str
    reviewer: str
    tmp: Path


@pytest.fixture
def roles(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_keys: tuple[Path, Path]
) -> Iterator[Roles]:
    people = {"ada": ("admin", "ada-password-1"), "sam": ("sre-lead", "sam-password-1")}
    with role_pair(pg_url, reviewers=people) as got:
        monkeypatch.delenv("INTERLOCK_SIGNING_KEY", raising=False)  # the agent side has none
        yield Roles(pg_url, got.agent_url, got.reviewer_url, tmp_path)


def _agent_run(roles: Roles) -> tuple[str, str, Infra]:
    """The agent side's normal run, under its own role: a gated delete waits for review."""
    infra = roles.tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}) as rt:
        run = rt.run("s", "tidy up", options={"infra": str(infra), "turns": [[PROD_DELETE]]})
    assert run.status == "pending", run
    assert run.review_id
    return run.review_id, run.thread_id, Infra(infra)


def _verify(roles: Roles) -> Any:
    with Runtime.open(roles.admin) as rt:
        return rt.audit.verify()


def _head(url: str) -> tuple[int, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT seq, hash FROM interlock_audit_head WHERE id = 1").fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def test_a_temp_table_no_longer_passes_the_guard(roles: Roles) -> None:
    review_id, thread_id, _ = _agent_run(roles)
    with psycopg.connect(roles.admin, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO interlock_executions (digest, thread_id, review_id, tool, status, "
            "started_at) VALUES ('fake-in-doubt', %s, %s, 'delete_volume', 'in_doubt', now())",
            (thread_id, review_id),
        )
    with psycopg.connect(roles.agent, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE interlock_decisions (x int)")
        conn.execute("CREATE TEMP TABLE interlock_audit (x int)")
        assert conn.execute("SELECT has_table_privilege('interlock_decisions', 'INSERT')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="ledger row"):
            conn.execute(
                "UPDATE interlock_executions SET status = 'failed', error = 'never ran' "
                "WHERE digest = 'fake-in-doubt'"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may not settle"):
            conn.execute(
                "UPDATE interlock_reviews SET status = 'decided', outcome = 'by the agent', "
                "decided_at = now() WHERE id = %s",
                (review_id,),
            )
        # The fence function reads its own schema's table, not a temp one.
        conn.execute("CREATE TEMP TABLE interlock_thread_fences (thread_id text, token bigint)")
        conn.execute("INSERT INTO interlock_thread_fences VALUES ('t-x', 1)")
        with pytest.raises(psycopg.DatabaseError, match="taken over"):
            conn.execute("SELECT interlock_fence('t-x', 1)")
    with psycopg.connect(roles.admin, autocommit=True) as conn:
        got = conn.execute("SELECT status FROM interlock_executions").fetchall()
        status = conn.execute("SELECT status FROM interlock_reviews WHERE id = %s", (review_id,))
        assert (got, status.fetchone()) == ([("in_doubt",)], ("pending",))


def test_the_agent_cannot_move_the_audit_head_back_and_a_stop_still_works(roles: Roles) -> None:
    _agent_run(roles)
    seq, good = _head(roles.admin)
    assert seq >= 2
    with psycopg.connect(roles.agent, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only forward"):
            conn.execute(
                "UPDATE interlock_audit_head SET seq = 1, "
                "hash = (SELECT hash FROM interlock_audit WHERE seq = 1)"
            )
        # Forward, but past the last row (or onto one far away): refused at commit.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="last row"):
            conn.execute("UPDATE interlock_audit_head SET seq = seq + 5")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="last row"):
            conn.execute("UPDATE interlock_audit_head SET seq = 9223372036854775806, hash = 'x'")
        # A row left past the head (the next append would collide with it): refused.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="last row"):
            conn.execute(
                "INSERT INTO interlock_audit (seq, ts, event, actor, data, prev_hash, hash) "
                "VALUES (%s, now(), 'run_started', 'agent', '{}', %s, 'h-orphan')",
                (seq + 1, good),
            )
        # A row that does not follow the last one: refused at once.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="right after"):
            conn.execute(
                "INSERT INTO interlock_audit (seq, ts, event, actor, data, prev_hash, hash) "
                "VALUES (%s, now(), 'run_started', 'agent', '{}', %s, 'h-gap')",
                (seq + 10, good),
            )
    assert _head(roles.admin) == (seq, good)
    with Runtime.open(roles.reviewer) as rv:
        ada = rv.authenticate("ada", "ada-password-1")
        rv.stops.stop("environment", "production", by=ada, reason="INC: stop the agent")
        assert [(s.scope, s.value) for s in rv.stops.active()] == [("environment", "production")]
    verified = _verify(roles)
    assert verified.ok, verified
    # The reviewer side (and the owner) may still set the head, to restore one.
    now = _head(roles.admin)
    with psycopg.connect(roles.reviewer, autocommit=True) as conn:
        conn.execute("UPDATE interlock_audit_head SET seq = %s, hash = %s", now)
        conn.execute("UPDATE interlock_audit_head SET seq = seq - 1")
    with psycopg.connect(roles.admin, autocommit=True) as conn:
        conn.execute("UPDATE interlock_audit_head SET seq = %s, hash = %s", now)
    assert _verify(roles).ok


@pytest.mark.parametrize("event", ["decision_recorded", "reviewer_added", "scope_resumed"])
def test_the_agent_cannot_append_a_reviewer_side_event(roles: Roles, event: str) -> None:
    assert event in REVIEWER_EVENTS
    _agent_run(roles)
    with Runtime.open(roles.admin) as rt:
        before = [r.event for r in rt.audit.rows()]
    with open_database(roles.agent) as db:
        log = AuditLog(db)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"audit event {event}"):
            log.append(event, actor="sam", data={"decision": {"type": "approve"}})
        # An event both sides write is still the agent's to append.
        log.append("authentication_failed", actor="unauthenticated:eve", data={"via": "test"})
    with Runtime.open(roles.admin) as rt:
        assert [r.event for r in rt.audit.rows()] == [*before, "authentication_failed"]
        assert rt.audit.verify().ok


def test_the_agent_sides_normal_run_still_works(
    roles: Roles, monkeypatch: pytest.MonkeyPatch, signing_keys: tuple[Path, Path]
) -> None:
    """Run, review, decide on the reviewer side without resuming, resume in an agent-role
    worker: every audit row lands, the tool runs once, the log verifies."""
    review_id, _, infra = _agent_run(roles)
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", str(signing_keys[0]))
    with Runtime.open(roles.reviewer, graphs={"s": scripted_ops}) as rv:
        sam = rv.authenticate("sam", "sam-password-1")
        assert rv.decisions.decide(review_id, {"type": "approve"}, reviewer=sam, resume=False)
    monkeypatch.delenv("INTERLOCK_SIGNING_KEY")
    with Runtime.open(roles.agent, graphs={"s": scripted_ops}) as rt:
        Worker(rt).sweep()
    assert "vol-prod-db" not in infra.read()["volumes"]
    with Runtime.open(roles.admin) as rt:
        events = [r.event for r in rt.audit.rows()]
        assert rt.audit.verify().ok
    for wanted in ("run_started", "review_opened", "decision_recorded", "execution_started"):
        assert wanted in events, events


def test_an_agent_sitting_on_the_audit_head_cannot_hang_a_stop(
    roles: Roles, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agent role may lock the audit head (it appends audit rows) and hold it in an open
    transaction. A reviewer's stop then fails after the lock timeout with one line, records
    nothing, and goes through once the agent lets go."""
    from interlock.runtime.store import lock_wait_message
    from interlock.ui.cli import main

    _agent_run(roles)
    before = _head(roles.admin)
    monkeypatch.setenv("INTERLOCK_LOCK_TIMEOUT", "0.5")
    monkeypatch.setenv("INTERLOCK_REVIEWER_PASSWORD", "ada-password-1")
    argv = ["stop", "--environment", "production", "--as", "ada", "--reason", "INC-9"]
    argv += ["--db", roles.reviewer]
    with psycopg.connect(roles.agent) as squatter:  # not autocommit: the lock stays held
        squatter.execute("SELECT seq FROM interlock_audit_head WHERE id = 1 FOR UPDATE")
        with Runtime.open(roles.reviewer) as rv:
            ada = rv.authenticate("ada", "ada-password-1")
            with pytest.raises(psycopg.errors.LockNotAvailable) as caught:
                rv.stops.stop("environment", "production", by=ada, reason="INC-9")
            line = lock_wait_message(caught.value)
            assert line is not None
            assert "after 0.5 s waiting for a lock" in line
            assert "nothing was recorded" in line
            assert rv.stops.active() == []
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "error: the database gave up after 0.5 s waiting for a lock" in err
        assert "Traceback" not in err
        squatter.rollback()
    assert _head(roles.admin) == before
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    with Runtime.open(roles.admin) as rt:
        assert [(s.scope, s.value) for s in rt.stops.active()] == [("environment", "production")]
        assert rt.audit.verify().ok


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "7200"])
def test_a_bad_lock_timeout_is_one_line(
    roles: Roles, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    from interlock.risk.errors import ConfigError

    monkeypatch.setenv("INTERLOCK_LOCK_TIMEOUT", raw)
    with pytest.raises(ConfigError, match=r"INTERLOCK_LOCK_TIMEOUT must be seconds from 0\.1"):
        Runtime.open(roles.reviewer)
