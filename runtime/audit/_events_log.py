"""Structured JSON logs of the audited events: logger `interlock.events`, one object a line.

Every audited event goes through `AuditLog.append_all`, so that is the one place lines are
made: each appended row is logged once its transaction commits (`Conn.on_commit`), never
for a write that rolled back (a refused decision, a lost race). A line names the event, the
row's `seq` in the log, the review, thread, team, level, tool, outcome and actor, and `ts`
(the audit row's own timestamp, UTC). Team and level come from the row's data, else from its
review (one indexed read after the commit, made only while the log is on). A line carries
no arguments, reasons or secrets: the audit log holds those, behind its own access rules.

Off unless asked for: `INTERLOCK_LOG_FORMAT=json` (what `--log-json` of `interlock worker`
and `interlock console` sets) installs a stderr handler the first time an event is written,
in whatever process writes it (the console's Streamlit child included). An application that
configures logging itself sets `interlock.events` to INFO and may use `JsonEventFormatter`;
each record also carries the object as `record.interlock_event`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

from interlock.runtime.audit._rows import AuditRow
from interlock.runtime.store._db import Conn, iso_utc

__all__ = [
    "EVENTS_LOGGER",
    "LOG_FORMAT_ENV",
    "JsonEventFormatter",
    "configure_event_logs",
    "event_line",
    "log_after_commit",
]

EVENTS_LOGGER = "interlock.events"
"""The logger the JSON event lines go to."""
LOG_FORMAT_ENV = "INTERLOCK_LOG_FORMAT"
"""`json` turns the event lines on (to stderr) in any Interlock process."""

_log = logging.getLogger(EVENTS_LOGGER)
_configured = threading.Lock()
_env_checked = False


class JsonEventFormatter(logging.Formatter):
    """The record's event object as one line of JSON (other records: their message)."""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "interlock_event", None)
        if isinstance(event, dict):
            return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
        return json.dumps({"message": record.getMessage()}, ensure_ascii=False)


def configure_event_logs(stream: IO[str] | None = None) -> logging.Handler:
    """Send `interlock.events` to `stream` (default stderr) as JSON lines; idempotent (a
    second call returns the handler the first installed)."""
    with _configured:
        for h in _log.handlers:
            if isinstance(h.formatter, JsonEventFormatter):
                return h
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonEventFormatter())
        _log.addHandler(handler)
        _log.setLevel(logging.INFO)
        _log.propagate = False  # one line per event, not a second copy through root
        return handler


def _enabled() -> bool:
    global _env_checked
    if not _env_checked:
        _env_checked = True
        if os.environ.get(LOG_FORMAT_ENV, "").strip().casefold() == "json":
            configure_event_logs()
    return _log.isEnabledFor(logging.INFO)


def _pick(data: dict[str, Any], key: str) -> Any:
    if data.get(key) is not None:
        return data[key]
    view = data.get("assessment")
    if isinstance(view, dict) and key in ("level", "outcome"):
        return view.get(key)
    route = data.get("route")
    if isinstance(route, dict) and key == "team":
        return route.get("team")
    return None


def event_line(row: AuditRow, review: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON object logged for one audit row; `review` (its review's `team` and `level`)
    fills what the row's own data does not say."""
    data, review = row.data, review or {}
    return {
        "ts": iso_utc(row.ts),
        "event": row.event,
        "seq": row.seq,
        "review_id": row.review_id,
        "thread_id": row.thread_id,
        "team": _pick(data, "team") or review.get("team"),
        "level": _pick(data, "level") or review.get("level"),
        "tool": data.get("tool") if isinstance(data.get("tool"), str) else None,
        "outcome": _pick(data, "outcome") or data.get("type"),
        "actor": row.actor,
    }


def _reviews(conn: Conn, rows: Sequence[AuditRow]) -> dict[str, dict[str, Any]]:
    ids = sorted({r.review_id for r in rows if r.review_id})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    found = conn.all(
        f"SELECT id, team, level FROM interlock_reviews WHERE id IN ({marks})", tuple(ids)
    )
    return {str(r["id"]): r for r in found}


def _emit(conn: Conn, rows: Sequence[AuditRow]) -> None:
    # After the commit, on the connection that wrote them: one read names each review's team.
    reviews = _reviews(conn, rows)
    for row in rows:
        line = event_line(row, reviews.get(row.review_id or ""))
        _log.info("%s", row.event, extra={"interlock_event": line})


def log_after_commit(conn: Conn, rows: Sequence[AuditRow]) -> None:
    """Log `rows` once `conn`'s transaction commits; nothing at all when the log is off."""
    if rows and _enabled():
        kept = list(rows)
        conn.on_commit(lambda: _emit(conn, kept))
