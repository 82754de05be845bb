"""Inbox page: the pending reviews, most urgent first, refreshed by itself.

Each row says what, where, why (the top reason), whose thread, who asked, and the review id;
age and time left are numbers of minutes, so they sort as numbers. Identical actions group
(see `_console_groups`), with one reject for a group. The tab title counts the critical
reviews this reviewer has not opened yet. Keyboard: Alt+J / Alt+K pick the next / previous
review, Alt+O opens it. Filters sit in an expander, so a phone shows rows, not filters.

The table is read from the runtime's review inbox (an indexed table, never a checkpoint
scan). Picking a row opens it on the Review page. The list refreshes every few seconds; a
row picked just before a refresh still opens the review that was on screen, because the
pick is resolved against the ids of the table as it was drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from interlock.runtime import ActionFacts, Reviewer, ReviewSummary, action_facts
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_groups import group_panel, groups_of
from interlock.ui._console_prefetch import prefetch_review_page
from interlock.ui._console_render import (
    LEVEL_COLOURS,
    LEVELS_URGENT_FIRST,
    esc,
    now_utc,
)
from interlock.ui._console_state import get_runtime
from interlock.ui._console_stops import inbox_banner

__all__ = [
    "AGE_PX",
    "COLUMNS",
    "EXPIRING_SOON",
    "LEVEL_PX",
    "REFRESH",
    "facts_for",
    "inbox_rows",
    "new_critical",
    "open_review",
    "render",
    "tab_title",
]

REFRESH = timedelta(seconds=5)
EXPIRING_SOON = timedelta(hours=1)
LIMIT = 1000
_IDS = "inbox_ids"
_OPEN = "interlock.open_review"
REVIEW_PAGE = Path(__file__).resolve().with_name("_console_review.py")
_ANY = "(any)"
# Urgency first (how bad, how old, how long left), then what and why: on a phone the grid
# shows its first columns, and the numbers must be there to sort by.
COLUMNS = (
    "level", "age", "time left", "action", "reason", "environment", "agent", "thread",
    "requester", "needs", "approvals", "yours", "score", "review",
)  # fmt: skip
LEVEL_PX, AGE_PX = 80, 80
_FACTS = "interlock.inbox_facts"
_SEEN = "interlock.seen_reviews"


def facts_for(items: Sequence[ReviewSummary]) -> dict[str, ActionFacts]:
    """Top reason and calls digest per review, read once per review: a request never
    changes, so only reviews new since the last refresh are read."""
    cache: dict[str, ActionFacts] = st.session_state.setdefault(_FACTS, {})
    missing = [s.id for s in items if s.id not in cache]
    if missing:
        cache.update(action_facts(get_runtime().db, missing))
    wanted = {s.id for s in items}
    if len(cache) > 4 * len(wanted) + 1000:  # keep the session small on a busy day
        for rid in [r for r in cache if r not in wanted]:
            del cache[rid]
    return {s.id: cache[s.id] for s in items if s.id in cache}


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def inbox_rows(
    items: Sequence[ReviewSummary],
    me: Reviewer,
    facts: Mapping[str, ActionFacts] | None = None,
) -> list[dict[str, Any]]:
    """The table a reviewer scans: what, why, where, whose, how urgent, who may decide.

    `age` and `time left` are whole minutes (numbers, so they sort as numbers; negative
    time left means expired); `facts` gives the top reason (see `facts_for`)."""
    rt = get_runtime()
    now = now_utc()
    facts = facts or {}
    rows = []
    for s in items:
        f = facts.get(s.id)
        rows.append(
            {
                "level": [s.level],  # a coloured pill (see column_config)
                "action": f"{s.tool} · {s.target}",
                "reason": f.top_reason if f else "",
                "environment": s.environment or "",
                "agent": s.agent or "",
                "thread": s.thread_id,
                "requester": s.requester or "",
                "age": _minutes(now - s.created_at),
                "time left": None if s.expires_at is None else _minutes(s.expires_at - now),
                "needs": s.escalated_to or " / ".join(s.required_roles),
                "approvals": f"{len(s.approvals)} of {s.required_count}",
                "yours": "✔" if rt.inbox.can_decide(s, me) else "",
                "score": s.score,
                "review": s.id,
                "team": s.team or "",
            }
        )
    return rows


def new_critical(items: Sequence[ReviewSummary]) -> int:
    """Critical reviews this reviewer has not opened in this session."""
    seen = st.session_state.get(_SEEN) or set()
    return sum(1 for s in items if s.level == "critical" and s.id not in seen)


def tab_title(count: int) -> str:
    return f"({count} new critical) Inbox · Interlock" if count else "Inbox · Interlock"


def open_review(review_id: str) -> None:
    """Go to the Review page for `review_id` (from a button or a table pick)."""
    st.session_state[_OPEN] = review_id
    st.session_state.setdefault(_SEEN, set()).add(review_id)


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
    teams = sorted({s.team for s in everything if s.team})
    keys = ("inbox_level", "inbox_env", "inbox_tool", "inbox_role", "inbox_mine", "inbox_soon",
            "inbox_team", "inbox_my_team")  # fmt: skip
    active = sum(1 for k in keys if st.session_state.get(k) not in (None, [], False, _ANY))
    label = f"Filters ({active} on)" if active else "Filters"
    # Rows of three: every label fits whole, and on a phone the box folds away.
    with st.expander(label, expanded=False, key="inbox_filters"):
        c = st.columns(3)
        levels = c[0].multiselect(
            "Level", LEVELS_URGENT_FIRST, key="inbox_level", placeholder="any"
        )
        env = c[1].selectbox("Environment", [_ANY, *envs], key="inbox_env")
        tool = c[2].selectbox("Tool", [_ANY, *tools], key="inbox_tool")
        d = st.columns(3)
        role = d[0].selectbox("Role", [_ANY, *rt.policy.roles], key="inbox_role")
        mine = d[1].toggle("Mine to decide", key="inbox_mine")
        soon = d[2].toggle("Expiring soon", key="inbox_soon", help="Within the next hour.")
        e = st.columns(3)
        team = e[0].selectbox("Team", [_ANY, *teams], key="inbox_team")
        my_teams = _my_teams(me, e[1])
    chosen = [] if team == _ANY else [team]
    if my_teams is not None:
        chosen = [*chosen, *my_teams]
    return {
        "team": chosen if chosen or my_teams is not None else None,
        "level": levels or None,
        "environment": None if env == _ANY else env,
        "tool": None if tool == _ANY else tool,
        "role": None if role == _ANY else role,
        "reviewer": me if mine else None,
        "expiring_within": EXPIRING_SOON if soon else None,
    }


def _my_teams(me: Reviewer, where: Any) -> list[str] | None:
    """The "My team" toggle: the teams the notify file lists `me` in (None when it is off).
    A team says who is told; who may decide is still the roles ("Mine to decide")."""
    from interlock.runtime.notify import NOTIFY_ENV, NotifyConfigError, notify_config_from_env

    try:
        config = notify_config_from_env()
    except NotifyConfigError as exc:
        where.toggle("My team", key="inbox_my_team", disabled=True, help=str(exc))
        return None
    if config is None:
        help_ = f"Set {NOTIFY_ENV} to the notify file whose teams list their members."
        where.toggle("My team", key="inbox_my_team", disabled=True, help=help_)
        return None
    mine = config.teams_of(me.name)
    said = ", ".join(mine) if mine else "none: the notify file lists you in no team"
    if not where.toggle("My team", key="inbox_my_team", help=f"Your teams: {said}."):
        return None
    return list(mine)


def _step(ids: list[str], by: int) -> None:
    """Move the "Open a review" pick to the next (1) or previous (-1) row."""
    if not ids:
        return
    now = st.session_state.get("inbox_pick")
    at = ids.index(now) if now in ids else (-1 if by > 0 else 0)
    st.session_state["inbox_pick"] = ids[max(0, min(len(ids) - 1, at + by))]


@st.fragment(run_every=REFRESH)
def _table(me: Reviewer, filters: dict[str, Any]) -> None:
    _go_if_picked()
    rt = get_runtime()
    items = rt.inbox.pending(**filters, sort="urgency", limit=LIMIT)
    total = rt.inbox.count(**filters)
    st.session_state[_IDS] = [s.id for s in items]
    mine = sum(1 for s in items if rt.inbox.can_decide(s, me))
    st.set_page_config(page_title=tab_title(new_critical(items)))
    st.caption(
        f"{total} pending · {mine} yours to decide · refreshed {now_utc():%H:%M:%S} UTC"
        + (f" · showing the first {len(items)}" if total > len(items) else "")
    )
    if not items:
        st.success("Nothing waits for a decision here.", icon=":material/check_circle:")
        return
    facts = facts_for(items)
    rows = inbox_rows(items, me, facts)
    # A column added to the rows (a team, say) shows after the known ones, never hidden.
    order = [*COLUMNS, *(k for k in rows[0] if k not in COLUMNS)]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(items), 640),
        key="inbox_table",
        on_select=_picked,
        selection_mode="single-row",
        column_order=order,
        column_config={
            "level": st.column_config.MultiselectColumn(
                "level", options=LEVELS_URGENT_FIRST, color=LEVEL_COLOURS, width=LEVEL_PX
            ),
            "reason": st.column_config.TextColumn(
                "reason", width="large", help="The reason that added the most points."
            ),
            "age": st.column_config.NumberColumn(
                "age", format="%d min", help="Minutes since the agent asked.", width=AGE_PX
            ),
            "time left": st.column_config.NumberColumn(
                "time left",
                format="%d min",
                help="Minutes until it expires; below 0: expired.",
                width=AGE_PX,
            ),
            "score": st.column_config.ProgressColumn("score", min_value=0, max_value=100),
            "yours": st.column_config.TextColumn("yours", help="Your roles may decide it."),
        },
    )
    labels = {s.id: f"{s.level} · {s.tool} · {s.target} · {s.thread_id}" for s in items}
    pick = st.selectbox(
        "Open a review",
        list(labels),
        format_func=lambda rid: labels.get(rid, rid),
        key="inbox_pick",
    )
    ids = list(labels)
    c = st.columns(3)
    c[0].button("Previous", key="inbox_prev", on_click=_step, args=(ids, -1),
                shortcut="Alt+K", width="stretch")  # fmt: skip
    c[1].button("Next", key="inbox_next", on_click=_step, args=(ids, 1),
                shortcut="Alt+J", width="stretch")  # fmt: skip
    if c[2].button("Open review", key="inbox_open", type="primary",
                   shortcut="Alt+O", width="stretch") and pick:  # fmt: skip
        open_review(pick)
    group_panel(groups_of(items, facts), me)
    _go_if_picked()


def _go_if_picked() -> None:
    """Switch to the picked review at once. From inside the table's fragment too: a row click
    then costs one run of the review page, not another drawing of 1,000 rows and a full
    rerun of this page first."""
    target = st.session_state.pop(_OPEN, None)
    if target:
        st.switch_page(REVIEW_PAGE, query_params={"review": target})


@st.fragment(run_every=REFRESH)
def _banner() -> None:
    # Polled like the table: a stop set while the inbox is open shows within REFRESH.
    inbox_banner()


def render() -> None:
    me = require_reviewer()
    _go_if_picked()
    st.title("Inbox")
    _banner()
    filters = _filters(me)
    _table(me, filters)
    st.caption(esc("Pick a row (or use Open review) to see the whole request and decide."))
    prefetch_review_page()


if __name__ == "__main__":
    render()
