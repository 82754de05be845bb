"""The console when another session sits on a lock Interlock needs (an agent-role session
holding the audit log's head in an open transaction): the decision is not recorded, the page
says so in one line with how to find that session, the reviewer's input stays, and the same
click records it once the lock is let go."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

MESSAGE = "Snapshot it first, then fix the staging credential."


def _k(review_id: str, name: str) -> str:
    return f"decide_{review_id}_0_{name}"


def test_a_held_audit_head_is_one_line_and_nothing_is_recorded(
    pg_url: str, console_on: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERLOCK_LOCK_TIMEOUT", "0.5")
    console = console_on(pg_url)
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("reject").run()
    at.text_area(key=_k(rid, "message")).input(MESSAGE).run()
    with psycopg.connect(pg_url) as squatter:  # not autocommit: the row lock stays held
        squatter.execute("SELECT seq FROM interlock_audit_head WHERE id = 1 FOR UPDATE")
        at.button(key=_k(rid, "submit")).click().run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert any(
            e.startswith("**Not recorded.** The database gave up after 0.5 s waiting for a lock")
            and "`SELECT pg_terminate_backend(pid)`" in e  # shown as code, not escaped
            for e in errors
        ), errors
        assert at.text_area(key=_k(rid, "message")).value == MESSAGE
        squatter.rollback()
    with console.runtime() as rt:
        assert rt.inbox.summary(rid).status == "pending"
        assert "decision_recorded" not in [r.event for r in rt.audit.rows()]
    at.button(key=_k(rid, "submit")).click().run()
    assert not at.exception
    assert "Your decision (reject) was recorded." in console.texts(at)
