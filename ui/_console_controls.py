"""Controls page: the stop switch per agent and per environment.

Anyone signed in sees which stops are active. Only the `admin` role may stop or resume, and
each change takes two steps: describe it, then confirm it. The runtime checks the role again
and audits the change.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from interlock.risk.errors import AuthorizationError, InterlockError
from interlock.runtime import ADMIN_ROLE, Reviewer
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_render import esc, md
from interlock.ui._console_state import get_runtime
from interlock.ui._console_stops import unknown_name

__all__ = ["ADMIN_ROLE", "render"]

Scope = Literal["agent", "environment"]
_PENDING = "controls_pending"


def _active() -> None:
    stops = get_runtime().stops.active()
    st.subheader("Active stops")
    if not stops:
        st.success(
            "Nothing is stopped: agents run as the policy allows.", icon=":material/check_circle:"
        )
        return
    st.dataframe(
        [
            {
                "scope": s.scope,
                "stopped": s.value,
                "by": s.by,
                "reason": s.reason,
                "since (UTC)": s.at.strftime("%Y-%m-%d %H:%M:%S"),
            }
            for s in stops
        ],
        hide_index=True,
        width="stretch",
        key="controls_active",
    )


def _ask(kind: Literal["stop", "resume"], scope: Scope, value: str, reason: str) -> None:
    if not value.strip():
        st.session_state["controls_problem"] = f"Name the {scope} to {kind}."
        return
    if kind == "stop" and not reason.strip():
        st.session_state["controls_problem"] = "Say why: the reason goes into the audit log."
        return
    st.session_state.pop("controls_problem", None)
    st.session_state[_PENDING] = (kind, scope, value.strip(), reason.strip())


def _confirm(reviewer: Reviewer) -> None:
    pending = st.session_state.get(_PENDING)
    if not pending:
        return
    kind, scope, value, reason = pending
    sure = True
    if kind == "stop":
        st.warning(
            f"**Stop {esc(scope)} {esc(value)}?** Every action it proposes will be refused "
            "until an admin resumes it. Reason: " + esc(reason),
            icon=":material/warning:",
        )
        typo = unknown_name(scope, value)
        if typo:  # a misspelt name would stop nothing: ask before going on
            st.error(typo, icon=":material/spellcheck:")
            sure = st.checkbox(
                f"Yes, stop the new name {value}", key=f"controls_new_{scope}_{value}"
            )
    else:
        md("**Resume {} {}?** Its actions will be assessed normally again.", scope, value)
    c1, c2, _ = st.columns([2, 1, 5])
    if c1.button(f"Confirm {kind}", key="controls_confirm", type="primary", disabled=not sure):
        stops = get_runtime().stops
        try:
            if kind == "stop":
                stops.stop(scope, value, by=reviewer, reason=reason)
            else:
                stops.resume(scope, value, by=reviewer)
        except AuthorizationError as exc:
            st.error(f"Refused: {esc(exc)}", icon=":material/block:")
            return
        except InterlockError as exc:
            st.error(f"Not done: {esc(exc)}", icon=":material/warning:")
            return
        st.session_state.pop(_PENDING, None)
        verb = "Stopped" if kind == "stop" else "Resumed"
        st.session_state["controls_done"] = f"{verb} {scope} {value}; recorded in the audit log."
        st.rerun()
    if c2.button("Cancel", key="controls_cancel"):
        st.session_state.pop(_PENDING, None)
        st.rerun()


def _forms(reviewer: Reviewer) -> None:
    st.subheader("Stop or resume")
    c1, c2 = st.columns(2)
    with c1:
        scope: Scope = st.radio(
            "Scope", ["agent", "environment"], key="controls_scope", horizontal=True
        )
        value = st.text_input("Name", key="controls_value", placeholder="ops-agent, or production")
        reason = st.text_input(
            "Reason (for a stop)", key="controls_reason", placeholder="incident INC-1234"
        )
        b1, b2, _ = st.columns([1, 1, 3])
        if b1.button("Stop…", key="controls_stop", type="primary"):
            _ask("stop", scope, value, reason)
        if b2.button("Resume…", key="controls_resume"):
            _ask("resume", scope, value, reason)
    with c2:
        problem = st.session_state.get("controls_problem")
        if problem:
            st.error(problem)
        done = st.session_state.pop("controls_done", None)
        if done:
            st.success(esc(done), icon=":material/check_circle:")
        _confirm(reviewer)


def render() -> None:
    reviewer = require_reviewer()
    st.title("Controls")
    _active()
    if not reviewer.has_role(ADMIN_ROLE):
        st.info(
            f"Needs **{ADMIN_ROLE}**: only an administrator may stop or resume agents and "
            "environments.",
            icon=":material/lock:",
        )
        return
    _forms(reviewer)


if __name__ == "__main__":
    render()
