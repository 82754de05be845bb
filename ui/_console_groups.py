"""Identical actions in the inbox, grouped, with one reject for the whole group.

Reviews group when their proposed calls are the same (tool and arguments, by digest: see
`interlock.runtime.action_facts`); thirty copies of one delete are then one line. The bulk
reject goes through the decision service one review at a time, so each review is authorised
and audited on its own; it needs a message for the agents and the target typed out, like a
single critical decision. Reviews this reviewer may not decide are left alone and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

from interlock.risk.errors import InterlockError
from interlock.runtime import ActionFacts, Reviewer, ReviewSummary
from interlock.ui._console_decide import confirm_target
from interlock.ui._console_render import code_span, esc
from interlock.ui._console_state import get_runtime

__all__ = ["BulkResult", "Group", "bulk_reject", "group_panel", "groups_of"]

_DONE = "interlock.bulk_result"


@dataclass(frozen=True, kw_only=True)
class Group:
    digest: str
    calls: str
    reviews: tuple[ReviewSummary, ...]
    top_reason: str


@dataclass(frozen=True, kw_only=True)
class BulkResult:
    rejected: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]
    """(review id, why) for each review the decision service refused."""
    skipped: tuple[str, ...]
    """Reviews the reviewer may not decide (left for someone who may)."""


def groups_of(
    items: Sequence[ReviewSummary], facts: Mapping[str, ActionFacts], *, least: int = 2
) -> list[Group]:
    """Groups of at least `least` reviews proposing the same calls, biggest first."""
    by: dict[str, list[ReviewSummary]] = {}
    for s in items:
        f = facts.get(s.id)
        if f is not None and s.kind == "review":
            by.setdefault(f.calls_digest, []).append(s)
    groups = [
        Group(
            digest=d,
            calls=facts[rows[0].id].calls,
            reviews=tuple(rows),
            top_reason=facts[rows[0].id].top_reason,
        )
        for d, rows in by.items()
        if len(rows) >= least
    ]
    return sorted(groups, key=lambda g: -len(g.reviews))


def bulk_reject(group: Group, message: str, me: Reviewer) -> BulkResult:
    """Reject every review of `group` that `me` may decide, each through the service."""
    rt = get_runtime()
    rejected, refused, skipped = [], [], []
    for s in group.reviews:
        if not rt.inbox.can_decide(s, me):
            skipped.append(s.id)
            continue
        answer = {"type": "reject", "message": message}
        try:
            rt.decisions.decide_all(s.id, [answer] * s.action_count, reviewer=me)
        except InterlockError as exc:
            refused.append((s.id, str(exc)))
            continue
        rejected.append(s.id)
    return BulkResult(rejected=tuple(rejected), refused=tuple(refused), skipped=tuple(skipped))


def _report() -> None:
    done = st.session_state.pop(_DONE, None)
    if not isinstance(done, BulkResult):
        return
    st.success(
        f"Rejected {len(done.rejected)} review(s); each decision is in the audit log.",
        icon=":material/check_circle:",
    )
    if done.skipped:
        st.info(f"{len(done.skipped)} left for a reviewer with the needed role.")
    for rid, why in done.refused:
        st.error(f"Refused for {code_span(rid)}: {esc(why)}", icon=":material/block:")


def group_panel(groups: Sequence[Group], me: Reviewer) -> None:
    """The groups as a table, and the bulk reject for one of them."""
    _report()
    if not groups:
        return
    with st.expander(f"Identical actions: {len(groups)} group(s)", key="inbox_groups_box"):
        st.dataframe(
            [
                {
                    "reviews": len(g.reviews),
                    "calls": g.calls,
                    "level": g.reviews[0].level,
                    "environment": g.reviews[0].environment or "",
                    "top reason": g.top_reason,
                }
                for g in groups
            ],
            hide_index=True,
            width="stretch",
            key="inbox_groups",
            column_config={"reviews": st.column_config.NumberColumn("reviews", format="%d")},
        )
        labels = {g.digest: f"{len(g.reviews)} × {g.calls}" for g in groups}
        pick = st.selectbox(
            "Group to reject",
            list(labels),
            format_func=lambda d: labels.get(d, d),
            key="inbox_group_pick",
        )
        group = next((g for g in groups if g.digest == pick), None)
        if group is None:
            return
        message = st.text_area(
            "Message to the agents (required)", key="inbox_group_message", height=80
        )
        detail = get_runtime().inbox.get(group.reviews[0].id)
        target = confirm_target(detail.request["action_requests"][0])
        typed = st.text_input(
            f"Type {target} to reject all {len(group.reviews)}", key="inbox_group_confirm"
        )
        ready = bool(message.strip()) and typed.strip() == target
        if st.button(
            f"Reject all {len(group.reviews)}",
            key="inbox_group_reject",
            type="primary",
            disabled=not ready,
        ):
            st.session_state[_DONE] = bulk_reject(group, message.strip(), me)
            st.rerun(scope="app")
        if not ready:
            st.caption(f"Write a message and type {code_span(target)} to enable the button.")
