"""When an edited call needs more than the decision that edited it can give.

One rule, used by the review node (which knows the review's grant) and by the runtime's
decision service (which also knows the deciding reviewer's roles): an edit is approved on
the spot only when the same decision could have approved the edited call as it now stands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from interlock.nodes._gate import Verdict
from interlock.risk import LEVELS, ApprovalRequirement

__all__ = ["edit_exceeds"]


def _target(v: Verdict) -> tuple[Any, ...]:
    a = v.action
    if a is None:
        return ()
    res = a.resource
    return (a.environment, res.type if res else None, res.id if res else None)


def edit_exceeds(
    before: Verdict,
    after: Verdict,
    *,
    grant: ApprovalRequirement,
    holds: Callable[[Sequence[str]], bool] | None = None,
    who: str = "the reviewer",
) -> str:
    """Why the edited call (`after`) needs more than `grant` gives, or "" when it does not.

    Without `holds` (the review node: nobody's roles are known) the edit may not raise the
    risk, and whoever could grant the original must be able to grant the edit. With `holds`
    (does the deciding reviewer hold one of these roles?) the reviewer's own roles decide,
    so a qualified reviewer may approve a riskier edit. Either way one decision cannot stand
    for more approvers than it had, and the same risk moved onto another target needs a new
    look (nobody saw its expected outcome).
    """
    a0, a1 = before.assessment, after.assessment
    if a0 is None or a1 is None or a1.approval is None:
        return "it could not be compared with the original"
    need = a1.approval
    if need.count > grant.count:
        return f"it needs {need.count} approvers, the review granted {grant.count}"
    if holds is not None:
        if not holds(need.roles):
            return f"it needs {' or '.join(need.roles)}, which {who} does not hold"
    elif not set(grant.roles) <= set(need.roles):
        return f"it needs a role among {', '.join(need.roles)}"
    rise = LEVELS.index(a1.level) - LEVELS.index(a0.level)
    if rise > 0 and holds is None:
        return f"its risk rose from {a0.level} to {a1.level}"
    if rise == 0 and _target(before) != _target(after):
        return f"it is still {a1.level} and now targets something {who} did not see"
    return ""
