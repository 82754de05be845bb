"""Policy page: the active policy in readable form, and "try an action" against it.

Uses the risk engine only; nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import streamlit as st

from interlock.risk import Action, Assessment, Policy, Rule
from interlock.risk.errors import ActionError
from interlock.ui._console_auth import require_reviewer
from interlock.ui._console_render import code_span, esc, level_badge, md, outcome_badge
from interlock.ui._console_state import get_runtime

__all__ = ["assessment_view", "examples", "render", "rule_rows", "when_text"]

_POCKETOS = "pocketos-volume-delete"
_JSON_KEY = "policy_try_json"


def when_text(when: Any) -> str:
    """A rule's condition in one readable line: `effects any of write, config; ...`."""
    if isinstance(when, Mapping):
        parts = []
        for key, value in when.items():
            if key in ("any", "all") and isinstance(value, list):
                joined = f" {'or' if key == 'any' else 'and'} ".join(when_text(v) for v in value)
                parts.append(f"({joined})" if len(value) > 1 else joined)
            elif key == "not":
                parts.append(f"not ({when_text(value)})")
            elif isinstance(value, Mapping) and len(value) == 1:
                op, arg = next(iter(value.items()))
                parts.append(f"{key} {str(op).replace('_', ' ')} {when_text(arg)}")
            else:
                parts.append(f"{key} = {when_text(value)}")
        return "; ".join(parts)
    if isinstance(when, list):
        return "[" + ", ".join(when_text(v) for v in when) + "]"
    return json.dumps(when) if isinstance(when, str) and not when.isidentifier() else str(when)


def rule_rows(policy: Policy) -> list[dict[str, Any]]:
    """One row per rule, in the engine's order."""

    def approval(rule: Rule) -> str:
        a = rule.approval
        return "" if a is None else f"{a.count} × {' / '.join(a.roles)}"

    return [
        {
            "rule": r.id,
            "why": r.reason,
            "when": when_text(r.when),
            "points": r.points or None,
            "floor": r.floor or "",
            "outcome": r.outcome or "",
            "approval": approval(r),
        }
        for r in policy.rules
    ]


@cache
def examples() -> dict[str, dict[str, Any]]:
    """Labelled example actions from the bundled corpus; the PocketOS delete first."""
    ref = resources.files("interlock.risk").joinpath("corpus/default.jsonl")
    out: dict[str, dict[str, Any]] = {}
    for line in ref.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            data = json.loads(line)
            out[str(data["id"])] = data
    first = {_POCKETOS: out.pop(_POCKETOS)} if _POCKETOS in out else {}
    return first | out


def _example_json(example_id: str) -> str:
    data = dict(examples()[example_id])
    for key in ("id", "expected", "note"):
        data.pop(key, None)
    return json.dumps(data, indent=2, ensure_ascii=False)


def assessment_view(assessment: Assessment, *, title: str | None = None) -> None:
    """An assessment as a reviewer reads it: verdict first, then every reason."""
    if title:
        md("**{}**", title)
    head = (
        f"{outcome_badge(assessment.outcome)} {level_badge(assessment.level)} "
        f"score **{assessment.score}**/100"
    )
    if assessment.approval is not None:
        a = assessment.approval
        head += f" · needs {a.count} approval(s) from {', '.join(map(code_span, a.roles))}"
    st.markdown(head)
    if assessment.reasons:
        st.dataframe(
            [
                {
                    "points": f"+{r.points}" if r.points else "",
                    "why": r.text,
                    "rule": r.rule,
                    "effect": " ".join(
                        x for x in (r.floor and f"≥ {r.floor}", r.outcome and f"→ {r.outcome}") if x
                    ),
                }
                for r in assessment.reasons
            ],
            hide_index=True,
            width="stretch",
            key=f"assessment_reasons_{title or 'try'}",
        )
    else:
        st.caption("No rule matched: a routine action.")
    st.caption(f"policy version {code_span(assessment.policy_version)}")


def _overview(policy: Policy) -> None:
    md("## Policy {} · version {}", policy.name, policy.version)
    if policy.description:
        md("{}", policy.description.strip())
    cols = st.columns(3)
    with cols[0]:
        st.markdown("**Roles** (junior first)")
        st.markdown(" → ".join(map(code_span, policy.roles)))
    with cols[1]:
        st.markdown("**Levels and outcomes**")
        bounds = {"low": 0, **dict(policy.levels)}
        for level in ("low", "medium", "high", "critical"):
            st.markdown(
                f"{level_badge(level)} from score {bounds[level]} → "
                f"{outcome_badge(policy.outcomes[level])}"
            )
    with cols[2]:
        st.markdown("**Approvals**")
        for level, spec in policy.approvals.items():
            roles = " / ".join(map(code_span, spec.roles))
            st.markdown(f"{level_badge(level)}: {spec.count} × {roles}")
        for freeze in policy.freezes:
            envs = ", ".join(sorted(freeze.environments)) or "all environments"
            md(
                "Freeze **{}**: {} to {} ({}), {}",
                freeze.name,
                freeze.start.isoformat(),
                freeze.end.isoformat(),
                freeze.timezone,
                envs,
            )


def _choose_example() -> None:
    st.session_state[_JSON_KEY] = _example_json(st.session_state["policy_example"])


def _try_action(policy: Policy) -> None:
    st.subheader("Try an action")
    ex = examples()
    st.selectbox(
        "Example",
        list(ex),
        format_func=lambda k: f"{ex[k].get('note') or k} (labelled {ex[k].get('expected')})",
        key="policy_example",
        on_change=_choose_example,
    )
    if _JSON_KEY not in st.session_state:
        st.session_state[_JSON_KEY] = _example_json(next(iter(ex)))
    raw = st.text_area(
        "Action (JSON: tool, args, environment, resource, effects, reversible, agent, credential)",
        key=_JSON_KEY,
        height=260,
    )
    try:
        action = Action.from_dict(json.loads(raw))
    except json.JSONDecodeError as exc:
        st.error(f"Not valid JSON: {esc(exc.msg)} at line {exc.lineno}, column {exc.colno}.")
        return
    except ActionError as exc:
        st.error(f"Not a valid action: {esc(exc)}")
        return
    assessment_view(policy.assess(action), title=f"{action.tool} in {action.environment or '?'}")


def render() -> None:
    require_reviewer()
    policy = get_runtime().policy
    _overview(policy)
    st.subheader("Rules")
    st.dataframe(rule_rows(policy), hide_index=True, width="stretch", key="policy_rules")
    _try_action(policy)


if __name__ == "__main__":
    render()
