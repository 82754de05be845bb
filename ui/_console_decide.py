"""Decision controls for one action of a review, and what happened after a decision.

Decisions go only through `rt.decisions.decide`, with the reviewer taken from the signed-in
session. When the runtime refuses (someone decided first, the review expired, a missing
role, a malformed answer) the refusal is shown in plain words and every field keeps what the
reviewer typed; nothing was changed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import streamlit as st

from interlock.nodes import (
    ActionRequest,
    Decision,
    ReviewConfig,
    allowed_decisions_of,
    check_args,
)
from interlock.risk.errors import (
    AuthorizationError,
    ConflictError,
    DecisionError,
    InterlockError,
    NotFoundError,
)
from interlock.runtime import DecisionOutcome, Principal, ReviewDetail
from interlock.ui._console_ask import ask_for_role
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_live import console_words
from interlock.ui._console_preview import Preview, preview_edit
from interlock.ui._console_render import code_span, esc, md, untrusted
from interlock.ui._console_state import get_runtime
from interlock.ui._console_stops import covering, decide_warning, stop_headline

__all__ = [
    "LABELS",
    "confirm_target",
    "decision_panel",
    "kind_key",
    "last_outcome",
    "needs_typed_confirm",
]

LABELS = {
    "approve": "Approve",
    "edit": "Edit arguments",
    "reject": "Reject with a message",
    "respond": "Respond (do not run)",
    "escalate": "Escalate to a role",
}
_OUTCOME = "interlock.last_outcome"
_REFUSALS = {
    ConflictError: "Refused: this review moved on before your decision arrived",
    AuthorizationError: "Refused: you may not decide this",
    DecisionError: "Refused: the decision is not valid for this action",
    NotFoundError: "Refused: this review no longer exists",
}


def needs_typed_confirm(action: ActionRequest) -> bool:
    """Critical actions that cannot be undone (or may not be) need the target typed out."""
    a = action.get("assessment")
    if a is None or a["level"] != "critical":
        return False
    reversible = (action.get("resource") or {}).get("attributes", {}).get("reversible")
    return reversible is not True


def confirm_target(action: ActionRequest) -> str:
    res = action.get("resource") or {}
    return str(res.get("id") or action["name"])


def _key(detail: ReviewDetail, index: int, name: str) -> str:
    return f"decide_{detail.summary.id}_{index}_{name}"


def kind_key(detail: ReviewDetail, index: int) -> str:
    """The session key of action `index`'s decision choice (keyboard shortcuts set it)."""
    return _key(detail, index, "kind")


def _refusal(exc: InterlockError) -> str:
    for kind, words in _REFUSALS.items():
        if isinstance(exc, kind):
            return (
                f"**{words}.** {esc(console_words(exc))} Nothing was changed; your input is "
                "kept below."
            )
    return f"**Refused.** {esc(console_words(exc))} Nothing was changed; your input is kept below."


def _submit(detail: ReviewDetail, index: int, decision: Decision, me: Principal) -> None:
    rt = get_runtime()
    refusal_key = _key(detail, index, "refusal")
    try:
        outcome = rt.decisions.decide(detail.summary.id, decision, reviewer=me, action=index)
    except InterlockError as exc:
        st.session_state[refusal_key] = _refusal(exc)
        st.rerun()  # draw again from the review's current state: Submit off if it moved on
    st.session_state.pop(refusal_key, None)
    headline = stop_headline(decision["type"], outcome, covering(detail.summary))
    st.session_state[_OUTCOME] = (detail.summary.id, decision["type"], outcome, headline)
    if outcome.next_review_id:
        st.query_params["review"] = outcome.next_review_id
        st.session_state["review_id"] = outcome.next_review_id
    st.rerun()


def _edit_fields(
    detail: ReviewDetail, index: int, action: ActionRequest, config: ReviewConfig
) -> tuple[dict[str, Any] | None, Preview | None]:
    key = _key(detail, index, "args")
    if key not in st.session_state:
        st.session_state[key] = json.dumps(action["args"], indent=2, ensure_ascii=False)
    raw = st.text_area("Arguments (JSON)", key=key, height=180)
    try:
        parsed = json.loads(raw)
        args = check_args(parsed, config.get("args_schema"), tool=action["name"])
    except json.JSONDecodeError as exc:
        st.error(f"Not valid JSON: {esc(exc.msg)} (line {exc.lineno}, column {exc.colno}).")
        return None, None
    except DecisionError as exc:
        st.error(esc(exc))
        return None, None
    if args == action["args"]:
        st.caption("Unchanged: change an argument to edit the action.")
        return None, None
    st.caption("✓ Matches the tool's argument schema.")
    preview = preview_edit(detail, index, args)
    st.markdown(preview.markdown)
    if preview.problem:  # the tool would refuse it: caught here, not after a decision
        return None, preview
    return args, preview


def higher_roles(detail: ReviewDetail, action: ActionRequest, config: ReviewConfig) -> list[str]:
    """The roles an escalation may name: only those above the lowest role that may decide
    the action now (the runtime refuses the others, with the ladder in its message)."""
    ladder = list(get_runtime().policy.roles)
    required = action.get("required_approval")
    need = [r for r in (required["roles"] if required else ()) if r in ladder]
    rungs = [ladder.index(r) for r in need]
    if detail.summary.escalated_to in ladder:
        rungs = [max([*rungs, ladder.index(str(detail.summary.escalated_to))])]
    top = min(rungs) if rungs else -1
    offered = list(config.get("escalation_roles") or ladder)
    return [r for r in offered if r not in ladder or ladder.index(r) > top]


def _controls(detail: ReviewDetail, index: int, me: Principal) -> None:
    action = detail.request["action_requests"][index]
    config = detail.request["review_configs"][index]
    allowed = [d for d in allowed_decisions_of(config) if d in LABELS]
    seniors = higher_roles(detail, action, config)
    if not seniors:  # nobody ranks higher: escalating could only be refused
        allowed = [d for d in allowed if d != "escalate"]
    if not allowed:
        st.info("The tool allows no decision on this action here.", icon=":material/info:")
        return
    # Nothing is pre-selected on a critical action: the reviewer picks, every time.
    assessment = action.get("assessment")
    critical = assessment is not None and assessment["level"] == "critical"
    picked = st.radio(
        "Your decision",
        allowed,
        format_func=LABELS.get,
        key=_key(detail, index, "kind"),
        horizontal=True,
        index=None if critical else 0,
    )
    if picked is None:
        st.caption("Choose a decision: nothing is pre-selected on a critical action.")
        return
    kind = str(picked)
    # Refused because it moved on: keep the input on screen, but nothing more to send.
    refused = bool(st.session_state.get(_key(detail, index, "refusal")))
    closed = refused and detail.summary.status != "pending"
    decision: dict[str, Any] = {"type": kind}
    if action.get("digest"):
        decision["digest"] = action["digest"]
    ready, why = True, ""
    confirm = needs_typed_confirm(action) and kind == "approve"
    target = confirm_target(action)
    if kind == "edit":
        args, preview = _edit_fields(detail, index, action, config)
        ready, why = args is not None, "Change the arguments to a valid edit first."
        decision["args"] = args
        # The edited call is what would run: confirm when it is (or may still be) critical.
        unknown = preview is None or preview.level is None
        confirm = (unknown and needs_typed_confirm(action)) or (
            preview is not None and preview.level == "critical"
        )
        if preview is not None and preview.target:
            target = preview.target
    if kind in ("reject", "respond"):
        label = "Message to the agent (required)"
        message = st.text_area(label, key=_key(detail, index, "message"), height=100)
        if not message.strip():
            ready, why = False, "Write a message: the agent reads it and takes another path."
        decision["message"] = message.strip()
    if kind == "escalate":
        decision["role"] = st.selectbox(
            "Role (only roles above the one it needs now)",
            seniors,
            key=_key(detail, index, "role"),
        )
    if kind in ("approve", "edit", "escalate"):
        note = st.text_input("Note for the audit log (optional)", key=_key(detail, index, "note"))
        if note.strip():
            decision["message"] = note.strip()
    if confirm and ready:
        st.error(
            f"This is a critical action that cannot be undone. Type {code_span(target)} "
            "to confirm.",
            icon=":material/warning:",
        )
        typed = st.text_input("Target name", key=_key(detail, index, "confirm"))
        if typed.strip() != target:
            ready, why = False, f"Type {code_span(target)} exactly to enable the button."
    if kind in ("approve", "edit"):
        decide_warning(covering(detail.summary))
    if closed:  # decided elsewhere: the input stays on screen, nothing can be sent
        ready, why = False, "This review is no longer pending: nothing can be submitted."
    refusal_slot = st.empty()  # filled after a submit, so a refusal shows at once
    clicked = st.button(
        f"Submit: {LABELS[kind].lower()}",
        key=_key(detail, index, "submit"),
        type="primary",
        disabled=not ready,
    )
    if not ready and why:
        st.caption(why)
    if clicked and ready:
        _submit(detail, index, decision, me)  # type: ignore[arg-type]
    refusal = st.session_state.get(_key(detail, index, "refusal"))
    if refusal:
        refusal_slot.error(refusal, icon=":material/block:")


def _resolve_panel(detail: ReviewDetail, me: Principal) -> None:
    """An execution whose outcome is unknown: a human says whether it ran. Never retried."""
    rt = get_runtime()
    st.error(
        "**Outcome unknown.** This action started but no result was recorded (the process "
        "may have died). Interlock never runs it again on its own: check the target, then "
        "say what happened.",
        icon=":material/help:",
    )
    if not rt.inbox.can_decide(detail.summary, me):
        need = " / ".join(detail.summary.required_roles)
        st.info(f"**Needs {code_span(need)}** to resolve it. Read only.", icon=":material/lock:")
        return
    key = f"resolve_{detail.summary.id}"
    note = st.text_input("What you checked (kept in the audit log)", key=f"{key}_note")
    c1, c2, _ = st.columns([2, 2, 4])
    ran = c1.button("It ran", key=f"{key}_ran", type="primary")
    not_ran = c2.button("It did not run", key=f"{key}_not_ran")
    if ran or not_ran:
        try:
            outcome = rt.decisions.resolve(detail.summary.id, ran=ran, reviewer=me, note=note)
        except InterlockError as exc:
            st.error(_refusal(exc), icon=":material/block:")
            return
        st.toast(f"Recorded: {esc(outcome)}.", icon=":material/check_circle:")
        st.rerun()


def _action_state(detail: ReviewDetail, index: int, me: Principal) -> bool:
    """Say so when this action is settled, or waits for other approvers after `me`."""
    rows = [d for d in detail.decisions if d.action_index == index]
    settled = [d for d in rows if d.settles]
    if settled:
        d = settled[-1]
        md("This action is decided: **{}** by {}.", d.type, d.reviewer)
        return True
    mine = [d for d in rows if d.reviewer == me.name]
    if mine:
        need = detail.summary.required_count
        md(
            "You decided this action (**{}**); it waits for more approvers ({} of {} so far).",
            mine[-1].type,
            len({d.reviewer for d in rows if d.type == "approve"}),
            need,
        )
        return True
    return False


def decision_panel(detail: ReviewDetail, index: int) -> None:
    """The controls for action `index`, or why this reviewer only reads it.

    A submit that arrives after the review moved on (someone else decided, it expired, it
    was escalated) still goes to the runtime, so the reviewer gets its refusal in plain words
    with their input on screen, instead of a page that silently changed under them.
    """
    me = require_reviewer()
    rt = get_runtime()
    s = detail.summary
    attempted = bool(st.session_state.get(_key(detail, index, "submit"))) or bool(
        st.session_state.get(_key(detail, index, "refusal"))
    )
    if s.kind == "in_doubt" and s.status == "in_doubt":
        _resolve_panel(detail, me)
        return
    if s.status != "pending":
        # Who decided what, with their message, is at the top of the page (`watch`).
        by = f" by {s.decided_by}" if s.decided_by else ""
        outcome = f" ({s.outcome})" if s.outcome else ""
        md("This review is **{}**{}{}: nothing is left to decide.", s.status, by, outcome)
        if attempted:  # their input stays on screen, with Submit disabled
            _controls(detail, index, me)
        return
    if not attempted and _action_state(detail, index, me):
        return
    # `can_decide` looks at the whole review: having approved one action must not stop this
    # reviewer from deciding the next one, so their own approvals are left out here.
    others = replace(s, approvals=tuple(a for a in s.approvals if a != me.name))
    if not rt.inbox.can_decide(others, me) and not attempted:
        need = s.escalated_to or " / ".join(s.required_roles)
        why = (
            "you asked for this action, and nobody approves their own request"
            if s.requester and s.requester == me.name
            else f"your roles are {', '.join(map(code_span, me.roles))}"
        )
        st.info(f"**Needs {code_span(need)}.** Read only: {why}.", icon=":material/lock:")
        if index == 0 and s.requester != me.name:
            ask_for_role(s, me)
        return
    _controls(detail, index, me)


def last_outcome() -> None:
    """What happened after this reviewer's last decision, shown once at the top."""
    got = st.session_state.pop(_OUTCOME, None)
    if not got:
        return
    _review_id, kind, outcome, headline = got
    assert isinstance(outcome, DecisionOutcome)
    words = {
        "resumed": "The agent resumed.",
        "waiting": "More approvals or more actions are still needed before the agent continues.",
        "escalated": "Escalated: the review now waits for the named role.",
        "queued": "A worker will resume the agent.",
    }.get(outcome.status, outcome.status)
    with st.container(border=True, key="review_outcome"):
        if headline:  # what happened first: the stop decided, not the approval
            st.error(f"**{esc(headline)}.** Your decision ({esc(kind)}) was recorded, but "
                     "the gate refused the action.", icon=":material/block:")  # fmt: skip
        else:
            st.markdown(f"**Your decision ({esc(kind)}) was recorded.** {esc(words)}")
        if outcome.approvals:
            md("Approvals so far: {}", ", ".join(outcome.approvals))
        if outcome.events:
            st.markdown("**What the agent did next:**")
            untrusted("\n".join(f"• {e}" for e in outcome.events))
        if outcome.final_message:
            st.markdown("**The agent's answer:**")
            untrusted(outcome.final_message)
        md("Thread is now **{}**.", outcome.thread_status)
        if outcome.next_review_id:
            st.warning(
                "The agent stopped at a new review: it is shown below.", icon=":material/pan_tool:"
            )
