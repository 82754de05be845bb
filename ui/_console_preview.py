"""An edit a reviewer can judge, shown before they submit it.

For the edited arguments it shows what changed (old → new), the tool's new dry run ("If
this runs", recomputed), the new level, target and reasons in full, what submitting would
do, and whether the tool itself accepts the arguments. The building blocks are those the
decision service uses when the edit arrives (`gate.assess_call`, `check_tool_args`,
`edit_exceeds`, `qualifies`), so the preview and the service agree; the runtime still
decides on submit, and this preview grants nothing.

"The tool itself" is what can be known without running it: its argument schema, a
credential its own lookup finds reaching no environment (an unknown token), and a dry run
that says the call would fail. Any of these is a `problem`, and the console does not let
the edit be submitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from interlock.nodes import Verdict, check_tool_args, edit_exceeds, preview_of
from interlock.risk import ApprovalRequirement, Assessment
from interlock.risk.errors import InterlockError
from interlock.runtime import ReviewDetail, edit_scope, qualifies
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_diff import diff_markdown
from interlock.ui._console_render import code_span, esc, level_badge, outcome_badge
from interlock.ui._console_state import get_runtime

__all__ = ["EditCheck", "Preview", "assess_edit", "check_edit", "preview_edit"]


@dataclass(frozen=True, kw_only=True)
class Preview:
    level: str | None
    outcome: str | None
    markdown: str
    target: str | None = None
    """The edited call's target (resource id), when the tool names one."""
    problem: str | None = None
    """Why the tool would refuse the edited call; the edit cannot be submitted then."""
    dry_run: str | None = None
    """The tool's dry run for the edited arguments."""
    reasons: tuple[str, ...] = field(default_factory=tuple)
    """The new assessment's reasons, most points first, in full."""


@dataclass(frozen=True, kw_only=True)
class EditCheck:
    """The edited call as guarded execution would see it, next to the original."""

    before: Verdict
    after: Verdict
    problem: str
    """"" when the tool accepts the edited arguments."""
    dry_run: str
    grant_why: str
    """Why one approval from this reviewer would not cover the edit ("" when it would)."""


def _tool_problem(gate: Any, name: str, args: Mapping[str, Any], after: Verdict) -> str:
    problem = check_tool_args(gate, name, args) if name in gate.tools else ""
    if name not in gate.tools:
        return f"this graph has no tool {name!r}"
    if problem:
        return problem
    cred = after.action.credential if after.action is not None else None
    if cred is not None and cred.name and not cred.environments:
        return (
            f"credential {cred.name!r} is not known to the tool (it reaches no environment): "
            "the call would be refused"
        )
    return ""


def check_edit(detail: ReviewDetail, index: int, args: Mapping[str, Any]) -> EditCheck:
    """Assess the original and the edited call with the thread's own graph and tools."""
    rt = get_runtime()
    _built, gate, scope = edit_scope(rt.engine(), detail.summary.thread_id)
    action = detail.request["action_requests"][index]
    name = action["name"]
    call: Any = {"name": name, "args": dict(args), "id": action.get("tool_call_id")}
    call["type"] = "tool_call"
    original: Any = {**call, "args": dict(action["args"])}
    before = gate.assess_call(original, scope)
    after = gate.assess_call(call, scope)
    dry_run = preview_of(after)
    problem = _tool_problem(gate, name, args, after)
    if not problem and "would fail" in dry_run:  # the tool's own simulation says so
        problem = f"the dry run says: {dry_run}"
    grant_why = ""
    if after.kind == "review":
        me = require_reviewer()
        policy = rt.policy
        grant_why = edit_exceeds(
            before,
            after,
            grant=ApprovalRequirement(roles=tuple(policy.roles), count=1),
            holds=lambda roles: qualifies(
                policy, me.roles, {"required_approval": {"roles": list(roles)}}
            ),
            who=me.name,
        )
    return EditCheck(
        before=before, after=after, problem=problem, dry_run=dry_run, grant_why=grant_why
    )


def assess_edit(
    detail: ReviewDetail, index: int, args: Mapping[str, Any]
) -> tuple[Assessment | None, str | None]:
    """The gate's assessment of the edited call and its target (resource id)."""
    check = check_edit(detail, index, args)
    res = check.after.action.resource if check.after.action is not None else None
    return check.after.assessment, (res.id or None) if res is not None else None


def _what_submit_does(check: EditCheck) -> str:
    a = check.after.assessment
    if check.problem:
        return f":red[**The tool would refuse this edit:** {esc(check.problem)}.] Fix it first."
    if check.after.kind == "allow":
        return "On submit it runs without further approval (the policy allows it as it is)."
    if check.after.kind == "deny":
        return ":red[On submit it is recorded and then refused: the policy denies it outright.]"
    roles = " / ".join(map(code_span, a.approval.roles)) if a and a.approval else "a reviewer"
    if check.grant_why:
        return (
            f"On submit the review re-opens for {roles}: {esc(check.grant_why)}. "
            "Nothing runs until then."
        )
    return f"On submit your approval covers it (it needs {roles}) and it runs."


def _target_line(check: EditCheck) -> str:
    def where(v: Verdict) -> str:
        a = v.action
        res = a.resource if a is not None else None
        what = f"{res.type} {res.id}" if res is not None else "?"
        return f"{what} in {(a.environment if a else None) or '?'}"

    old, new = where(check.before), where(check.after)
    if old == new:
        return f"Target **{esc(new)}** (unchanged)"
    return f"Target :orange-background[**{esc(new)}**] (was {esc(old)})"


def _describe(detail: ReviewDetail, index: int, args: Mapping[str, Any], c: EditCheck) -> Preview:
    a = c.after.assessment
    old = detail.request["action_requests"][index]["args"]
    reasons = tuple(r.text for r in sorted(a.reasons, key=lambda r: -r.points)) if a else ()
    parts = ["**Your edit, old → new:**", diff_markdown(old, args)]
    parts.append(f"**If the edited call runs:** {esc(c.dry_run)}")
    if a is not None:
        parts.append(
            f"**Re-assessed:** {outcome_badge(a.outcome)} {level_badge(a.level)} score "
            f"**{a.score}**/100 · {_target_line(c)}"
        )
        points = sorted(a.reasons, key=lambda r: -r.points)
        parts.append(
            "\n".join(f"- **+{r.points}** {esc(r.text)}" for r in points)
            or "- No rule fired for the edited call."
        )
    else:
        parts.append(f"**Re-assessed:** {esc(c.after.note or 'no assessment')} · {_target_line(c)}")
    check = "✓ The tool accepts these arguments." if not c.problem else "✗ Refused by the tool."
    parts.append(f"**Tool check:** {check}")
    parts.append(f"**What submit does:** {_what_submit_does(c)}")
    res = c.after.action.resource if c.after.action is not None else None
    return Preview(
        level=a.level if a else None,
        outcome=a.outcome if a else None,
        markdown="\n\n".join(parts),
        target=(res.id or None) if res is not None else None,
        problem=c.problem or None,
        dry_run=c.dry_run,
        reasons=reasons,
    )


def preview_edit(detail: ReviewDetail, index: int, args: Mapping[str, Any]) -> Preview:
    """What the edit would become, or why that is only known on submit."""
    try:
        check = check_edit(detail, index, args)
    except InterlockError as exc:
        old = detail.request["action_requests"][index]["args"]
        return Preview(
            level=None,
            outcome=None,
            markdown=f"**Your edit, old → new:**\n\n{diff_markdown(old, args)}\n\n"
            f"**No live re-assessment** ({esc(exc)}). The runtime assesses the edit "
            "when you submit; if it needs a more senior role, the review re-opens for that role.",
        )
    return _describe(detail, index, args, check)
