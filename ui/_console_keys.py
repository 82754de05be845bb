"""Keyboard shortcuts on the review page: pick a decision, go to the next review.

Alt+A, Alt+E and Alt+X pick approve, edit and reject in the decision controls; they only
choose, never submit, so a critical action still needs its target typed out and the Submit
button pressed. Alt+J and Alt+K open the next and previous pending review (inbox order).
Streamlit reserves C and R, hence X for reject.
"""

from __future__ import annotations

import streamlit as st

from interlock.nodes import allowed_decisions_of
from interlock.runtime import ReviewDetail
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_decide import LABELS, kind_key
from interlock.ui._console_state import get_runtime

__all__ = ["DECISION_KEYS", "decision_shortcuts", "review_nav", "step_review"]

DECISION_KEYS = {"approve": "Alt+A", "edit": "Alt+E", "reject": "Alt+X"}
_LIMIT = 1000


def _pick(key: str, kind: str) -> None:
    st.session_state[key] = kind


def decision_shortcuts(detail: ReviewDetail, index: int) -> None:
    """Buttons (with shortcuts) that pick a decision for action `index`; nothing else."""
    if detail.summary.status != "pending":
        return
    if not get_runtime().inbox.can_decide(detail.summary, require_reviewer()):
        return  # a reader gets no decision keys
    allowed = allowed_decisions_of(detail.request["review_configs"][index])
    kinds = [k for k in DECISION_KEYS if k in allowed]
    if not kinds:
        return
    cols = st.columns(len(kinds))
    for col, kind in zip(cols, kinds, strict=True):
        col.button(
            LABELS[kind].split(" ")[0],  # Streamlit shows the shortcut beside it
            key=f"keys_{detail.summary.id}_{index}_{kind}",
            on_click=_pick,
            args=(kind_key(detail, index), kind),
            shortcut=DECISION_KEYS[kind],
            width="stretch",
            help="Picks this decision; you still confirm and submit.",
        )


def step_review(current: str, by: int) -> str | None:
    """The pending review `by` rows after (or before) `current`, in inbox order."""
    ids = [s.id for s in get_runtime().inbox.pending(limit=_LIMIT)]
    if not ids:
        return None
    at = ids.index(current) if current in ids else (-1 if by > 0 else 0)
    return ids[max(0, min(len(ids) - 1, at + by))]


def _go(current: str, by: int) -> None:
    target = step_review(current, by)
    if target and target != current:
        st.query_params["review"] = target
        st.session_state["review_id"] = target


def review_nav(current: str) -> None:
    """Previous / next pending review."""
    c = st.columns(2)
    c[0].button(
        "Previous",
        key="keys_prev",
        on_click=_go,
        args=(current, -1),
        shortcut="Alt+K",
        width="stretch",
        help="The previous pending review, in inbox order.",
    )
    c[1].button(
        "Next",
        key="keys_next",
        on_click=_go,
        args=(current, 1),
        shortcut="Alt+J",
        width="stretch",
        help="The next pending review, in inbox order.",
    )
