"""The stop switch where reviewers decide: banners, a warning before deciding, the headline.

- `inbox_banner`: every active stop, on top of the inbox.
- `review_banner`: the stops that cover this review (its agent or its environment); a
  decision there is still recorded, but an approved action is refused at the gate.
- `stop_headline`: "Denied: production is stopped", for an outcome the stop decided.
- `unknown_name`: the Controls page's check of a name against what the database knows.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from interlock.runtime import DecisionOutcome, ReviewSummary, Stop
from interlock.ui._console_render import esc
from interlock.ui._console_state import get_runtime

__all__ = [
    "covering",
    "decide_warning",
    "inbox_banner",
    "review_banner",
    "stop_headline",
    "unknown_name",
]


def _what(stop: Stop) -> str:
    return f"{stop.scope} {stop.value}" if stop.scope == "agent" else stop.value


def _line(stop: Stop) -> str:
    return (
        f"**{esc(_what(stop))} is stopped** by {esc(stop.by)} since "
        f"{stop.at:%H:%M} UTC: {esc(stop.reason)}"
    )


def covering(summary: ReviewSummary) -> list[Stop]:
    """The active stops that refuse this review's actions."""
    return get_runtime().stops.covering(agent=summary.agent, environment=summary.environment)


def inbox_banner() -> None:
    """Every active stop, so nobody approves into a stopped scope without knowing."""
    stops = get_runtime().stops.active()
    if not stops:
        return
    lines = "  \n".join(_line(s) for s in stops)
    st.error(
        f"{lines}  \nEvery action there is refused, approved or not, until an admin resumes "
        "it (Controls page).",
        icon=":material/block:",
    )


def review_banner(stops: Sequence[Stop]) -> None:
    """The stops covering the review on screen, and what that means for a decision."""
    if not stops:
        return
    lines = "  \n".join(_line(s) for s in stops)
    st.error(
        f"{lines}  \nYou may still decide, but an approved action is **denied** when it "
        "reaches the gate: nothing here runs until an admin resumes the scope.",
        icon=":material/block:",
    )


def decide_warning(stops: Sequence[Stop]) -> None:
    """Next to the submit button: the approval will not make the action run."""
    if stops:
        names = ", ".join(_what(s) for s in stops)
        st.warning(
            f"**{esc(names)} is stopped:** approving records your decision, but the action "
            "is denied at the gate. Rejecting tells the agent to take another path.",
            icon=":material/block:",
        )


def stop_headline(kind: str, outcome: DecisionOutcome, stops: Sequence[Stop]) -> str | None:
    """The headline of an outcome a stop decided, e.g. "Denied: production is stopped"."""
    # Guarded execution reads the stops fresh before each call, so an approval that resumed
    # the agent inside a stopped scope was denied there.
    if not stops or kind not in ("approve", "edit") or outcome.status != "resumed":
        return None
    return f"Denied: {_what(stops[0])} is stopped"


def unknown_name(scope: str, value: str) -> str | None:
    """Why `value` may be a typo (no review or stop so far names it), else None."""
    known = get_runtime().stops.known(scope)  # type: ignore[arg-type]
    if value in known:
        return None
    seen = ", ".join(known) or "none yet"
    return (
        f"No review so far names the {scope} **{esc(value)}** (known: {esc(seen)}). A stop "
        "only refuses actions of that exact name: check the spelling."
    )
