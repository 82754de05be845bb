"""Inbox page: the pending reviews, most urgent first, refreshed by itself.

The table is read from the runtime's review inbox (an indexed table, never a checkpoint
scan). Picking a row opens it on the Review page. The list refreshes every few seconds; a
row picked just before a refresh still opens the review that was on screen, because the
pick is resolved against the ids of the table as it was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from interlock.runtime import Reviewer, ReviewSummary
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_render import (
    LEVEL_COLOURS,
    LEVELS_URGENT_FIRST,
    age_text,
    esc,
    now_utc,
)
from interlock.ui._console_state import get_runtime

__all__ = ["EXPIRING_SOON", "REFRESH", "inbox_rows", "open_review", "render"]

REFRESH = timedelta(seconds=5)
EXPIRING_SOON = timedelta(hours=1)
LIMIT = 1000
_IDS = "inbox_ids"
_OPEN = "interlock.open_review"
REVIEW_PAGE = Path(__file__).resolve().with_name("_console_review.py")
_ANY = "(any)"


def inbox_rows(items: Sequence[ReviewSummary], me: Reviewer) -> list[dict[str, Any]]:
    """The table a reviewer scans: what, where, how urgent, who may decide, progress."""
    rt = get_runtime()
    now = now_utc()
    rows = []
    for s in items:
        left = "" if s.expires_at is None else age_text(s.expires_at - now)
        needs = s.escalated_to or " / ".join(s.required_roles)
        rows.append(
            {
                "level": [s.level],  # a coloured pill (see column_config)
                "action": f"{s.tool} · {s.target}",
                "environment": s.environment or "",
                "agent": s.agent or "",
                "age": age_text(now - s.created_at),
                "time left": ("expired " + left.lstrip("-")) if left.startswith("-") else left,
                "needs": needs,
                "approvals": f"{len(s.approvals)} of {s.required_count}",
                "yours": "✔" if rt.inbox.can_decide(s, me) else "",
                "score": s.score,
            }
        )
    return rows


def open_review(review_id: str) -> None:
    """Go to the Review page for `review_id` (from a button or a table pick)."""
    st.session_state[_OPEN] = review_id


def _picked() -> None:
    event = st.session_state.get("inbox_table")
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    ids = st.session_state.get(_IDS, [])
    if rows and 0 <= rows[0] < len(ids):
        open_review(ids[rows[0]])


def _filters(me: Reviewer) -> dict[str, Any]:
    rt = get_runtime()
    everything = rt.inbox.pending(limit=LIMIT)
    envs = sorted({s.environment for s in everything if s.environment})
    tools = sorted({s.tool for s in everything})
    c = st.columns([3, 2, 2, 2, 2, 2])
    levels = c[0].multiselect("Level", LEVELS_URGENT_FIRST, key="inbox_level", placeholder="any")
    env = c[1].selectbox("Environment", [_ANY, *envs], key="inbox_env")
    tool = c[2].selectbox("Tool", [_ANY, *tools], key="inbox_tool")
    role = c[3].selectbox("Role", [_ANY, *rt.policy.roles], key="inbox_role")
    mine = c[4].toggle("Mine to decide", key="inbox_mine")
    soon = c[5].toggle("Expiring soon", key="inbox_soon", help="Within the next hour.")
    return {
        "level": levels or None,
        "environment": None if env == _ANY else env,
        "tool": None if tool == _ANY else tool,
        "role": None if role == _ANY else role,
        "reviewer": me if mine else None,
        "expiring_within": EXPIRING_SOON if soon else None,
    }


@st.fragment(run_every=REFRESH)
def _table(me: Reviewer, filters: dict[str, Any]) -> None:
    rt = get_runtime()
    items = rt.inbox.pending(**filters, sort="urgency", limit=LIMIT)
    total = rt.inbox.count(**filters)
    st.session_state[_IDS] = [s.id for s in items]
    mine = sum(1 for s in items if rt.inbox.can_decide(s, me))
    st.caption(
        f"{total} pending · {mine} yours to decide · refreshed {now_utc():%H:%M:%S} UTC"
        + (f" · showing the first {len(items)}" if total > len(items) else "")
    )
    if not items:
        st.success("Nothing waits for a decision here.", icon=":material/check_circle:")
        return
    st.dataframe(
        inbox_rows(items, me),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(items), 640),
        key="inbox_table",
        on_select=_picked,
        selection_mode="single-row",
        column_config={
            "level": st.column_config.MultiselectColumn(
                "level", options=LEVELS_URGENT_FIRST, color=LEVEL_COLOURS
            ),
            "score": st.column_config.ProgressColumn("score", min_value=0, max_value=100),
            "yours": st.column_config.TextColumn("yours", help="Your roles may decide it."),
        },
    )
    c1, c2 = st.columns([5, 1], vertical_alignment="bottom")
    labels = {s.id: f"{s.level} · {s.tool} · {s.target} · {s.thread_id}" for s in items}
    pick = c1.selectbox(
        "Open a review",
        list(labels),
        format_func=lambda rid: labels.get(rid, rid),
        key="inbox_pick",
    )
    if c2.button("Open review", key="inbox_open", type="primary") and pick:
        open_review(pick)
    if st.session_state.get(_OPEN):
        st.rerun(scope="app")


def render() -> None:
    me = require_reviewer()
    target = st.session_state.pop(_OPEN, None)
    if target:
        st.switch_page(REVIEW_PAGE, query_params={"review": target})
    st.title("Inbox")
    filters = _filters(me)
    _table(me, filters)
    st.caption(esc("Pick a row (or use Open review) to see the whole request and decide."))


if __name__ == "__main__":
    render()
