"""The review page stays true while it is open: a link to it, and its live state.

- `link_box`: the review's own address (`{console}/review?review=<id>`, the shape
  notifications send), in a code box whose copy icon puts it on the clipboard.
- `watch`: a fragment that polls one indexed row every few seconds; when the review was
  decided, escalated, expired or cancelled elsewhere, the whole page is drawn again, so the
  decision controls give way to what happened and a "next review" button.
- `closed_box`: who decided what, with their message, for a review that is no longer pending.
- `console_words`: runtime messages written for the CLI, in the console's language.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import streamlit as st

from interlock.risk.errors import NotFoundError
from interlock.runtime import Principal, ReviewDetail, ReviewSummary
from interlock.ui._console_auth import require_reviewer, session_revoked
from interlock.ui._console_render import md, untrusted
from interlock.ui._console_state import get_runtime

__all__ = [
    "POLL",
    "closed_box",
    "console_words",
    "link_box",
    "next_review",
    "review_link",
    "waiting_since",
    "watch",
]

POLL = timedelta(seconds=3)
REVIEW_PAGE = Path(__file__).resolve().with_name("_console_review.py")
INBOX_PAGE = Path(__file__).resolve().with_name("_console_inbox.py")
_CLI_SENTENCE = re.compile(r"[^.;]*`interlock [^`]*`[^.]*\.?")
_VERBS = {
    "decided": "Decided",
    "escalated": "Escalated",
    "expired": "Expired",
    "cancelled": "Cancelled",
    "in_doubt": "Outcome unknown",
}


def console_words(text: object) -> str:
    """A runtime message without its CLI advice (a browser user cannot "run `interlock …`")."""
    words = _CLI_SENTENCE.sub("", str(text)).replace("`", "").strip()
    words = re.sub(r"\s{2,}", " ", words)
    if words.endswith(";"):
        words = words[:-1] + "."
    return words


def waiting_since(detail: ReviewDetail) -> datetime:
    """When the question was first put to a human: an escalation (by a reviewer or by the
    timer) opens a new review round, but the agent has been waiting since the first one."""
    s = detail.summary
    ids = {e.review_id for e in detail.timeline if e.review_id and e.review_id != s.id}
    if not ids:
        return s.created_at
    inbox = get_runtime().inbox
    before: dict[str, ReviewSummary] = {}
    for rid in ids:
        try:
            prev = inbox.summary(rid)
        except NotFoundError:
            continue
        if prev.next_review_id and prev.status in ("escalated", "expired"):
            before[prev.next_review_id] = prev
    since, at, seen = s.created_at, s.id, {s.id}
    while at in before and before[at].id not in seen:  # back to the chain's first round
        prev = before[at]
        since, at = min(since, prev.created_at), prev.id
        seen.add(at)
    return since


def review_link(review_id: str) -> str:
    """The address that opens `review_id` (through sign-in, if needed)."""
    url = st.context.url
    base = (url if isinstance(url, str) else "").split("?", 1)[0].rstrip("/")
    for page in ("/review", "/inbox", "/audit", "/controls", "/policy", "/sign-in"):
        if base.endswith(page):
            base = base[: -len(page)]
    return f"{base}/review?review={review_id}"


def link_box(review_id: str) -> None:
    """The review's link, with Streamlit's copy-to-clipboard icon."""
    st.caption("Link to this review (copy it with the icon; it opens after sign-in):")
    st.code(review_link(review_id), language=None)


_Seen = tuple[str, str | None, int, tuple[tuple[str, str], ...]]


def _stops_over(agent: str | None, environment: str | None) -> tuple[tuple[str, str], ...]:
    found = get_runtime().stops.covering(agent=agent, environment=environment)
    return tuple(sorted((s.scope, s.value) for s in found))


def _state(detail: ReviewDetail) -> _Seen:
    s = detail.summary
    return (s.status, s.decided_by, len(s.approvals), _stops_over(s.agent, s.environment))


@st.fragment(run_every=POLL)
def _poll(review_id: str, seen: _Seen) -> None:
    if session_revoked():  # signed out in another tab: the full run signs this one out
        st.rerun(scope="app")
    try:
        now = get_runtime().inbox.summary(review_id)
    except NotFoundError:
        st.rerun(scope="app")
    stops = _stops_over(now.agent, now.environment)
    if (now.status, now.decided_by, len(now.approvals), stops) != seen:
        # Someone else moved it, or stopped or resumed its scope: draw the page anew.
        st.rerun(scope="app")


def watch(detail: ReviewDetail) -> None:
    """Redraw the page within a few seconds of a change made elsewhere; for a review that
    is no longer pending, say first what happened to it."""
    s = detail.summary
    if s.status in ("pending", "in_doubt"):
        _poll(s.id, _state(detail))
        return
    closed_box(detail, require_reviewer())


def next_review(me: Principal, *, skip: str | None = None, key: str = "live_next") -> None:
    """A button to the most urgent pending review `me` may decide (else the inbox)."""
    rt = get_runtime()
    nxt = next(
        (
            s
            for s in rt.inbox.pending(sort="urgency", limit=200)
            if s.id != skip and rt.inbox.can_decide(s, me)
        ),
        None,
    )
    label = "Next review" if nxt else "Back to the inbox"
    if st.button(label, key=key, type="primary", icon=":material/arrow_forward:"):
        if nxt is None:
            st.switch_page(INBOX_PAGE)
        st.session_state["review_id"] = nxt.id
        st.switch_page(REVIEW_PAGE, query_params={"review": nxt.id})


def closed_box(detail: ReviewDetail, me: Principal) -> None:
    """What happened to a review that is no longer pending, and where to go next."""
    s = detail.summary
    verb = _VERBS.get(s.status, s.status.capitalize())
    settled = [d for d in detail.decisions if d.settles] or list(detail.decisions)
    with st.container(border=True, key="live_closed"):
        if settled:
            d = settled[-1]
            by = "you" if d.reviewer == me.name else d.reviewer
            when = f" at {d.created_at:%H:%M:%S} UTC" if d.created_at else ""
            md("**{}: {} by {}{}.**", verb, d.type, by, when)
            message = d.payload.get("message") if isinstance(d.payload, dict) else None
            if message:
                st.markdown("Your message:" if by == "you" else "Their message:")
                untrusted(message)
        else:
            md("**{}**{}.", verb, f" ({s.outcome})" if s.outcome else "")
        if s.next_review_id:
            md("The thread continues in review {}.", s.next_review_id)
        next_review(me, skip=s.id)
