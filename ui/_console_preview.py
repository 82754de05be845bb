"""Live re-assessment of an edit, shown before the reviewer submits it.

It tells the reviewer what their edit would become under the policy: "this edit is now
`allow`" or "still needs sre-lead". The runtime assesses the edit again when it is
submitted; this preview is advice and grants nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interlock.risk import Assessment
from interlock.risk.errors import InterlockError
from interlock.runtime import ReviewDetail
from interlock.ui._console_render import code_span, esc, level_badge, outcome_badge
from interlock.ui._console_state import get_runtime

__all__ = ["Preview", "assess_edit", "preview_edit"]


@dataclass(frozen=True, kw_only=True)
class Preview:
    level: str | None
    outcome: str | None
    markdown: str
    target: str | None = None
    """The edited call's target (resource id), when the tool names one."""


def assess_edit(
    detail: ReviewDetail, index: int, args: Mapping[str, Any]
) -> tuple[Assessment | None, str | None]:
    """The gate's assessment of the edited call, exactly as guarded execution would make it:
    the thread's own graph and tools resolve the new target, environment and credential."""
    rt = get_runtime()
    engine = rt.engine()
    info, built = engine.built_for(detail.summary.thread_id)
    gate = built.gate
    action = detail.request["action_requests"][index]
    call: Any = {
        "name": action["name"],
        "args": dict(args),
        "id": action.get("tool_call_id"),
        "type": "tool_call",
    }
    verdict = gate.assess_call(call, gate.scope(engine.context(info.agent)))
    res = verdict.action.resource if verdict.action is not None else None
    return verdict.assessment, (res.id or None) if res is not None else None


def _describe(a: Assessment, target: str | None = None) -> Preview:
    head = f"{outcome_badge(a.outcome)} {level_badge(a.level)} score **{a.score}**/100"
    if a.outcome == "allow":
        text = f"This edit is now {head}: it would run without further approval."
    elif a.outcome == "deny":
        text = f"This edit is {head}: the policy refuses it outright."
    else:
        roles = " / ".join(map(code_span, a.approval.roles)) if a.approval else "a reviewer"
        text = f"This edit is {head}: still needs {roles}."
    return Preview(
        level=a.level, outcome=a.outcome, markdown=f"**Re-assessed:** {text}", target=target
    )


def preview_edit(detail: ReviewDetail, index: int, args: Mapping[str, Any]) -> Preview:
    """What the policy says about the edit, or why that is only known on submit."""
    rt = get_runtime()
    previewer = getattr(rt.decisions, "preview", None)
    try:
        if previewer is not None:
            return _describe(previewer(detail.summary.id, dict(args), action=index))
        assessment, target = assess_edit(detail, index, args)
    except InterlockError as exc:
        return Preview(
            level=None,
            outcome=None,
            markdown=f"**No live re-assessment** ({esc(exc)}). The runtime assesses the edit "
            "when you submit; if it needs a more senior role, the review re-opens for that role.",
        )
    if assessment is None:
        return Preview(level=None, outcome=None, markdown="**Re-assessed on submit.**")
    return _describe(assessment, target)
