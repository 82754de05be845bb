"""A read-only reviewer asks for the role a review needs ("Page sre-lead").

The request is an audit row (`role_requested`, with the review, the role and an optional
note), written by the runtime's audit log like every other event, so it is in the hash
chain, in `interlock audit export`, and on the Audit page.

With notifications on (`INTERLOCK_NOTIFY`), the same transaction puts a `role_requested`
message in the outbox for the team of the role asked for (the policy's `escalation_teams`,
as an escalation to that role would tell), else the review's team
(`interlock.runtime.notify`); the reviewer is told on screen which team was notified, never
promised a page that no channel sends.
"""

from __future__ import annotations

import streamlit as st

from interlock.runtime import Principal, ReviewSummary
from interlock.runtime.notify import active_config
from interlock.ui._console_render import esc
from interlock.ui._console_state import get_runtime

__all__ = ["ROLE_REQUESTED", "ask_for_role", "asked_role"]

ROLE_REQUESTED = "role_requested"


def asked_role(summary: ReviewSummary) -> str:
    """The role to ask for: the escalated one, else the most junior that may decide."""
    return summary.escalated_to or (summary.required_roles[0] if summary.required_roles else "")


def ask_for_role(summary: ReviewSummary, me: Principal) -> None:
    """The "Page <role>" control next to a read-only review."""
    role = asked_role(summary)
    if not role:
        return
    done_key = f"ask_done_{summary.id}"
    done = st.session_state.get(done_key)
    if done:
        st.success(esc(done), icon=":material/campaign:")
        return
    note = st.text_input(
        f"Why you need {role} (optional, goes with the request)", key=f"ask_note_{summary.id}"
    )
    if st.button(f"Page {role}", key=f"ask_{summary.id}", icon=":material/campaign:"):
        rt = get_runtime()
        team = rt.policy.escalation_team(role) or summary.team
        data = {"role": role, "note": note.strip(), "tool": summary.tool}
        row = rt.audit.append(
            ROLE_REQUESTED,
            actor=me.name,
            thread_id=summary.thread_id,
            review_id=summary.id,
            data={**data, "team": team} if team else data,
        )
        told = (
            f"The {team or 'default'} team is notified."
            if active_config() is not None
            else "No team is notified: notifications are off here."
        )
        st.session_state[done_key] = (
            f"Asked for {role} (audit row {row.seq}). {told} Anyone holding {role} sees this "
            "review in their inbox; the request is in the audit log."
        )
        st.rerun()
