"""Audit page: filters, the chain check (intact and tampered) and the downloads."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from interlock.runtime import AuditLog, AuditRow, Database, open_database
from interlock.ui._console_audit import AuditFilter, filter_rows, to_csv, to_jsonl


def _seed(url: str) -> None:
    with open_database(url) as db:
        log = AuditLog(db)
        log.append("review_opened", actor="ops-agent", thread_id="t-1", data={"tool": "x"})
        log.append("decided", actor="sam", thread_id="t-1", data={"type": "reject"})
        log.append("decided", actor="olivia", thread_id="t-2", data={"type": "approve"})
        log.append("stop", actor="ada", data={"scope": "agent", "value": "ops-agent"})


def _tamper(db: Database) -> None:
    with db.transaction() as conn:
        if conn.dialect == "postgres":
            conn.execute("ALTER TABLE interlock_audit DISABLE TRIGGER USER")
        else:
            conn.execute("DROP TRIGGER interlock_audit_no_update")
        conn.execute("UPDATE interlock_audit SET actor = 'mallory' WHERE seq = 2")


def test_the_log_filters_by_thread_reviewer_event_decision_and_date(console: Any) -> None:
    _seed(console.env.url)
    at = console.open("olivia", "_console_audit.py")
    assert list(at.dataframe[0].value["seq"]) == [4, 3, 2, 1]  # newest first
    at.text_input(key="audit_thread").input("t-1").run()
    assert list(at.dataframe[0].value["seq"]) == [2, 1]
    at.multiselect(key="audit_actor").set_value(["sam"]).run()
    assert list(at.dataframe[0].value["actor"]) == ["sam"]
    at.text_input(key="audit_thread").input("").run()
    at.multiselect(key="audit_actor").set_value([]).run()
    at.multiselect(key="audit_decision").set_value(["approve"]).run()
    assert list(at.dataframe[0].value["actor"]) == ["olivia"]
    at.multiselect(key="audit_decision").set_value([]).run()
    at.multiselect(key="audit_event").set_value(["stop"]).run()
    assert list(at.dataframe[0].value["actor"]) == ["ada"]
    at.multiselect(key="audit_event").set_value([]).run()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    at.date_input(key="audit_dates").set_value((tomorrow, tomorrow)).run()
    assert at.dataframe[0].value.empty
    assert "0 of 4 rows match." in console.texts(at)


def test_verify_chain_says_intact_then_names_the_tampered_row(console: Any) -> None:
    _seed(console.env.url)
    at = console.open("olivia", "_console_audit.py")
    at.button(key="audit_verify").click().run()
    assert at.success
    assert "Chain intact." in at.success[0].value
    assert "All 4 rows" in at.success[0].value
    with open_database(console.env.url) as db:
        _tamper(db)
    at.button(key="audit_verify").click().run()
    assert not at.success
    assert "Chain broken at row 2." in at.error[0].value
    assert "modified" in at.error[0].value


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_downloads_carry_the_filtered_rows_with_their_hashes(console: Any, fmt: str) -> None:
    _seed(console.env.url)
    at = console.open("sam", "_console_audit.py")
    assert {b.label for b in at.get("download_button")} == {"Download JSONL", "Download CSV"}
    with open_database(console.env.url) as db:
        rows = list(AuditLog(db).rows())
    picked = filter_rows(rows, AuditFilter(thread="t-1"))
    if fmt == "jsonl":
        lines = [json.loads(x) for x in to_jsonl(picked).splitlines()]
    else:
        lines = list(csv.DictReader(io.StringIO(to_csv(picked))))
    assert [int(x["seq"]) for x in lines] == [1, 2]
    for line in lines:  # every downloaded row can be checked on its own
        row = AuditRow.from_dict(line)
        assert row.expected_hash() == row.hash
