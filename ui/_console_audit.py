"""Audit page: the log filtered by thread, reviewer, event, decision type and date;
a chain check; downloads as JSON Lines or CSV.

Downloads carry every column of `interlock audit export`, `prev_hash` and `hash` included,
so a downloaded row can be checked on its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from interlock.risk import canonical_json
from interlock.runtime import AuditRow
from interlock.runtime.audit.log import EXPORT_COLUMNS
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_render import esc
from interlock.ui._console_state import get_runtime

__all__ = ["AuditFilter", "decision_type", "filter_rows", "render", "to_csv", "to_jsonl"]

_SHOW = 2000
_DECISION_TYPES = ("approve", "edit", "reject", "respond", "escalate")


@dataclass(frozen=True, kw_only=True)
class AuditFilter:
    """What the reviewer asked to see; empty fields match everything."""

    thread: str = ""
    actors: Sequence[str] = ()
    events: Sequence[str] = ()
    decisions: Sequence[str] = ()
    start: date | None = None
    end: date | None = None

    @property
    def since(self) -> datetime | None:
        return None if self.start is None else datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime | None:
        # The end date is inclusive: everything before the next midnight.
        end = None if self.end is None else datetime.combine(self.end, time(), UTC)
        return None if end is None else end + timedelta(days=1)


def decision_type(row: AuditRow) -> str | None:
    """The decision a row records (approve, edit, ...), when it records one."""
    for key in ("type", "decision", "decision_type"):
        value = row.data.get(key)
        if isinstance(value, str) and value in _DECISION_TYPES:
            return value
    return None


def filter_rows(rows: Iterable[AuditRow], f: AuditFilter) -> list[AuditRow]:
    thread = f.thread.strip()
    until = f.until
    out = []
    for row in rows:
        if thread and thread not in (row.thread_id or ""):
            continue
        if f.actors and row.actor not in f.actors:
            continue
        if f.events and row.event not in f.events:
            continue
        if f.decisions and decision_type(row) not in f.decisions:
            continue
        if until is not None and row.ts >= until:
            continue
        out.append(row)
    return out


def to_jsonl(rows: Iterable[AuditRow]) -> str:
    return "".join(json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def to_csv(rows: Iterable[AuditRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        record = r.to_dict()
        writer.writerow({**record, "data": canonical_json(record["data"])})
    return out.getvalue()


def _verify() -> None:
    result = get_runtime().audit.verify()
    st.session_state["audit_verify_result"] = result


def _show_verify() -> None:
    result = st.session_state.get("audit_verify_result")
    if result is None:
        return
    if result.ok:
        st.success(
            f"**Chain intact.** All {result.rows} rows follow each other and match their "
            f"hashes. Head: row {result.head_seq}, hash `{result.head_hash[:16]}…` (keep it "
            "somewhere else to detect a rewrite later).",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"**Chain broken at row {result.first_bad_seq}.** {esc(result.problem or '')}. "
            f"{result.rows} rows were checked before the problem.",
            icon=":material/report:",
        )


def _table(rows: Sequence[AuditRow]) -> None:
    shown = list(reversed(rows[-_SHOW:]))  # newest first
    st.dataframe(
        [
            {
                "seq": r.seq,
                "time (UTC)": r.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "event": r.event,
                "actor": r.actor,
                "decision": decision_type(r) or "",
                "thread": r.thread_id or "",
                "review": r.review_id or "",
                "details": canonical_json(r.data),
                "hash": r.hash[:12],
            }
            for r in shown
        ],
        hide_index=True,
        width="stretch",
        key="audit_table",
    )
    if len(rows) > _SHOW:
        st.caption(f"Showing the newest {_SHOW} of {len(rows)} rows; the downloads have all.")


def render() -> None:
    require_reviewer()
    rt = get_runtime()
    st.title("Audit log")
    every = list(rt.audit.rows())
    actors = sorted({r.actor for r in every})
    events = sorted({r.event for r in every})
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 3])
    thread = c1.text_input("Thread", key="audit_thread", placeholder="thread id (or part)")
    chosen_actors = c2.multiselect("Reviewer / actor", actors, key="audit_actor")
    chosen_events = c3.multiselect("Event", events, key="audit_event")
    chosen_decisions = c4.multiselect("Decision type", _DECISION_TYPES, key="audit_decision")
    dates = c5.date_input("Dates (UTC)", value=[], key="audit_dates", format="YYYY-MM-DD")
    picked = list(dates) if isinstance(dates, tuple | list) else [dates]
    f = AuditFilter(
        thread=thread,
        actors=chosen_actors,
        events=chosen_events,
        decisions=chosen_decisions,
        start=picked[0] if picked else None,
        end=picked[-1] if picked else None,
    )
    since = f.since
    rows = filter_rows((r for r in every if since is None or r.ts >= since), f)
    st.caption(f"{len(rows)} of {len(every)} rows match.")
    _table(rows)
    b1, b2, b3, _ = st.columns([2, 2, 2, 4])
    b1.button("Verify chain", key="audit_verify", on_click=_verify, type="primary")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    b2.download_button(
        "Download JSONL",
        data=to_jsonl(rows),
        file_name=f"interlock-audit-{stamp}.jsonl",
        mime="application/x-ndjson",
        key="audit_download_jsonl",
        on_click="ignore",
    )
    b3.download_button(
        "Download CSV",
        data=to_csv(rows),
        file_name=f"interlock-audit-{stamp}.csv",
        mime="text/csv",
        key="audit_download_csv",
        on_click="ignore",
    )
    _show_verify()


if __name__ == "__main__":
    render()
