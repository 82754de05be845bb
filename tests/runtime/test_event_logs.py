"""JSON event logs (logger `interlock.events`): one line per audited event, written only once
its transaction commits, and off unless asked for."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from interlock.runtime import AuditLog, Database
from interlock.runtime.audit import EVENTS_LOGGER, configure_event_logs


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The event lines of this test, as a text buffer."""
    out = io.StringIO()
    handler = configure_event_logs(out)
    log = logging.getLogger(EVENTS_LOGGER)
    previous = handler.stream  # type: ignore[attr-defined]
    handler.setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
        log.propagate = True


def _parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.getvalue().splitlines()]


def test_a_committed_event_is_one_json_line_naming_the_review(
    db: Database, lines: io.StringIO
) -> None:
    row = AuditLog(db).append(
        "review_opened",
        actor="ops-agent",
        thread_id="t-1",
        review_id="rv-1",
        data={"level": "critical", "team": "sre", "tool": "delete_volume", "args": {"x": 1}},
    )
    (line,) = _parsed(lines)
    assert line == {
        "ts": row.to_dict()["ts"],
        "event": "review_opened",
        "seq": row.seq,
        "review_id": "rv-1",
        "thread_id": "t-1",
        "team": "sre",
        "level": "critical",
        "tool": "delete_volume",
        "outcome": None,
        "actor": "ops-agent",
    }


def test_an_event_whose_transaction_rolls_back_is_never_logged(
    db: Database, lines: io.StringIO
) -> None:
    audit = AuditLog(db)

    def lose_the_race() -> None:
        with db.transaction() as conn:
            audit.append("decision_recorded", actor="sam", review_id="rv-2", conn=conn)
            assert lines.getvalue() == ""  # not before the commit
            raise RuntimeError("the decision lost its race")

    with pytest.raises(RuntimeError, match="lost its race"):
        lose_the_race()
    assert lines.getvalue() == ""
    assert [r.event for r in audit.rows()] == []  # and the log agrees: nothing happened
    with db.transaction() as conn:
        audit.append("decision_recorded", actor="sam", review_id="rv-2", conn=conn)
        audit.append("review_escalated", actor="sam", review_id="rv-2", conn=conn)
        assert lines.getvalue() == ""
    assert [x["event"] for x in _parsed(lines)] == ["decision_recorded", "review_escalated"]
    assert [x["seq"] for x in _parsed(lines)] == [r.seq for r in audit.rows()]


def test_an_error_that_surfaces_only_at_commit_logs_nothing(
    db: Database, lines: io.StringIO
) -> None:
    """In a Postgres pipeline a statement's error arrives at COMMIT, after the audit row
    was appended: still no line."""
    audit = AuditLog(db)
    stop = "INSERT INTO interlock_stops (scope, value, actor, created_at) VALUES (?, ?, ?, ?)"
    audit.append("scope_stopped", actor="ada")
    with db.transaction() as conn:
        conn.send(stop, ("agent", "ops", "ada", audit.clock()))
    lines.truncate(0)
    lines.seek(0)

    def twice() -> None:
        with db.transaction() as conn:
            audit.append("scope_stopped", actor="ada", conn=conn)
            conn.send(stop, ("agent", "ops", "ada", audit.clock()))  # the same key again

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        twice()
    assert lines.getvalue() == ""
    assert [r.event for r in audit.rows()] == ["scope_stopped"]


_CHILD = """
import sys
from interlock.runtime import AuditLog, open_database, upgrade_database
with open_database(sys.argv[1]) as db:
    upgrade_database(db)
    AuditLog(db).append("scope_stopped", actor="ada", data={"scope": "agent"})
"""


@pytest.mark.parametrize("fmt", ["json", ""])
def test_the_environment_turns_the_lines_on_in_any_process(db_url: str, fmt: str) -> None:
    env = {**os.environ, "INTERLOCK_LOG_FORMAT": fmt}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, db_url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(x)["event"] for x in done.stderr.splitlines() if x.startswith("{")]
    assert events == (["scope_stopped"] if fmt == "json" else [])


def test_a_line_names_the_team_and_level_of_its_review(db: Database, lines: io.StringIO) -> None:
    """Events whose data does not say (a decision, a resume) take them from the review."""
    audit = AuditLog(db)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO interlock_reviews (id, thread_id, interrupt_id, level, tool, "
            "created_at, payload, team) VALUES ('rv-9', 't-9', 'i', 'high', 'x', ?, '{}', 'data')",
            (audit.clock(),),
        )
    audit.append("decision_recorded", actor="sam", review_id="rv-9", data={"type": "approve"})
    audit.append("review_opened", actor="agent", review_id="rv-9", data={"level": "critical"})
    audit.append("scope_stopped", actor="ada")
    got = [(x["team"], x["level"], x["outcome"]) for x in _parsed(lines)]
    assert got == [("data", "high", "approve"), ("data", "critical", None), (None, None, None)]
