"""Review page: everything a reviewer needs to decide one review, and the controls to do it.

Left, in reading order: each proposed action's expected outcome ("If this runs") and "Why
this needs you" (the decisive reasons in full, risky arguments highlighted), then the
original request and the agent's reasoning, then each action's arguments, every reason and
the decision controls. So on a narrow screen, where the columns stack, the context comes
before the decision. Right: the tool results so far and the thread's timeline. All agent
and tool text is shown inert (see `_console_render`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import streamlit as st

from interlock.nodes import ActionRequest
from interlock.risk.errors import NotFoundError
from interlock.runtime import ReviewDetail
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_decide import decision_panel, last_outcome
from interlock.ui._console_keys import decision_shortcuts, review_nav
from interlock.ui._console_live import link_box, waiting_since, watch
from interlock.ui._console_render import (
    age_text,
    code_span,
    esc,
    level_badge,
    md,
    now_utc,
    outcome_badge,
    untrusted,
)
from interlock.ui._console_state import get_runtime
from interlock.ui._console_stops import covering, review_banner
from interlock.ui._console_why import why_summary

__all__ = ["render", "review_id", "timeline_rows"]


def review_id() -> str | None:
    """The review to show: `?review=ID` in the URL, else the last one opened here."""
    rid = st.query_params.get("review") or st.session_state.get("review_id")
    if rid:
        st.session_state["review_id"] = rid
    return str(rid) if rid else None


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(str(_plain(v)) for v in value)
    return value


def timeline_rows(detail: ReviewDetail) -> list[dict[str, Any]]:
    """The thread's history as table rows, whatever fields each entry carries."""
    rows = []
    for entry in detail.timeline:
        row = _plain(entry)
        rows.append(row if isinstance(row, dict) else {"event": str(row)})
    return rows


def _header(detail: ReviewDetail) -> None:
    s = detail.summary
    now = now_utc()
    md("## {} · {}", s.tool, s.target)  # not h1: on a phone that alone fills the screen
    facts = [
        level_badge(s.level),
        f"score **{s.score}**/100",
        f"environment **{esc(s.environment or '?')}**",
        f"agent **{esc(s.agent or '?')}**",
        f"status **{esc(s.status)}**",
        f"waiting {age_text(now - waiting_since(detail))}",  # across escalations
    ]
    if s.expires_at is not None and s.status == "pending":  # a decided review expires never
        left = s.expires_at - now
        facts.append(
            f"expires in **{age_text(left)}**"
            if left.total_seconds() > 0
            else f":red[expired {age_text(-left)} ago]"
        )
    need = s.escalated_to or " / ".join(s.required_roles)
    if s.status == "pending":
        count = f"approvals {len(s.approvals)} of {s.required_count}"
        facts.append(f"needs {code_span(need)} · {count}")
    st.markdown(" · ".join(facts))
    st.caption(f"thread {code_span(s.thread_id)} · review {code_span(s.id)}")
    link_box(s.id)
    for note in detail.request.get("notes") or []:
        st.info(esc(note), icon=":material/info:")


def _action_summary(detail: ReviewDetail, index: int, action: ActionRequest) -> None:
    """What would happen and why it needs a human: the first thing a reviewer reads."""
    total = len(detail.request["action_requests"])
    with st.container(border=True, key=f"review_action_{index}"):
        if total > 1:  # one action: the page title already names it
            md("### Action {} of {}: {}", index + 1, total, action["name"])
        st.markdown("**If this runs:**")
        st.warning(
            esc(action.get("expected_outcome") or "No dry run available."), icon=":material/bolt:"
        )
        why_summary(action, index)
        res = action.get("resource") or {}
        md(
            "Target **{} {}** in **{}**",
            res.get("type") or "?",
            res.get("id") or "?",
            action.get("environment") or "?",
        )


def _action_details(detail: ReviewDetail, index: int, action: ActionRequest) -> None:
    """The raw arguments, every reason, and the decision controls, after the context."""
    total = len(detail.request["action_requests"])
    with st.container(border=True, key=f"review_decide_{index}"):
        md("### Decide action {} of {}: {}", index + 1, total, action["name"])
        st.code(json.dumps(action["args"], indent=2, ensure_ascii=False), language="json")
        a = action.get("assessment")
        if a is not None:
            st.markdown(
                f"{outcome_badge(a['outcome'])} {level_badge(a['level'])} score "
                f"**{a['score']}**/100 · policy {code_span(a['policy_version'])}"
            )
            st.dataframe(
                [
                    {"points": f"+{r['points']}" if r["points"] else "", "why": r["text"]}
                    | {"rule": r["rule"]}
                    for r in a["reasons"]
                ],
                hide_index=True,
                width="stretch",
                key=f"review_reasons_{index}",
                column_config={
                    "points": st.column_config.TextColumn("points", width="small"),
                    "why": st.column_config.TextColumn("why", width="large"),
                },
            )
        need = action.get("required_approval")
        if need:
            roles = " / ".join(map(code_span, need["roles"]))
            st.markdown(f"Approval: {need['count']} × {roles}")
        if index == 0:  # one set of shortcuts per page: they pick for the first action
            decision_shortcuts(detail, index)
        decision_panel(detail, index)


def _request_and_reasoning(detail: ReviewDetail) -> None:
    req = detail.request
    with st.container(border=True, key="review_context"):
        st.markdown("#### Request")
        untrusted(req.get("user_request") or "(not recorded)")
        st.markdown("#### Agent's reasoning")
        untrusted(req.get("reasoning") or "(the agent gave none)")


def _context(detail: ReviewDetail) -> None:
    req = detail.request
    results = req.get("tool_results") or []
    st.markdown(f"#### Tool results so far ({len(results)})")
    for i, r in enumerate(results):
        mark = "✓" if r.get("status") != "error" else "✗"
        with st.expander(f"{mark} {esc(r.get('name') or 'tool')}", key=f"review_result_{i}"):
            untrusted(r.get("content") or "", code=True)
    st.markdown("#### Timeline")
    rows = timeline_rows(detail)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key="review_timeline")
    else:
        st.caption("No history recorded.")


def _choose() -> None:
    rt = get_runtime()
    st.title("Review")
    items = rt.inbox.pending(limit=200)
    if not items:
        st.success("Nothing waits for a decision.", icon=":material/check_circle:")
        return
    labels = {s.id: f"{s.level} · {s.tool} · {s.target} · {s.thread_id}" for s in items}
    pick = st.selectbox(
        "Pick a review",
        list(labels),
        format_func=lambda rid: labels.get(rid, rid),
        key="review_pick",
    )
    if st.button("Open", key="review_pick_open", type="primary") and pick:
        st.query_params["review"] = pick
        st.session_state["review_id"] = pick
        st.rerun()


def render() -> None:
    require_reviewer()
    last_outcome()
    rid = review_id()
    if not rid:
        _choose()
        return
    try:
        detail = get_runtime().inbox.get(rid)
    except NotFoundError as exc:
        st.error(f"This review cannot be found: {esc(exc)}", icon=":material/search:")
        st.session_state.pop("review_id", None)
        st.query_params.clear()
        return
    _header(detail)
    review_banner(covering(detail.summary))
    watch(detail)  # redraws the page when the review is decided elsewhere
    # On a narrow screen the columns stack: everything a reviewer must read (if this runs,
    # why, the request and the reasoning) comes before the decision controls.
    actions = detail.request["action_requests"]
    left, right = st.columns([3, 2], gap="large")
    with left:
        for i, action in enumerate(actions):
            _action_summary(detail, i, action)
        _request_and_reasoning(detail)
        for i, action in enumerate(actions):
            _action_details(detail, i, action)
    with right:
        review_nav(detail.summary.id)
        _context(detail)


if __name__ == "__main__":
    render()
