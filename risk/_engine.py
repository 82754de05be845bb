"""`assess()`: score an action under a policy, explain why, and fail closed."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from interlock.risk import _policy as _policy_module
from interlock.risk._analyze import Finding, analyze
from interlock.risk._conditions import Check, Facts, Missing, compile_template
from interlock.risk._model import (
    LEVELS,
    Action,
    ApprovalRequirement,
    Assessment,
    Context,
    Level,
    Outcome,
    Reason,
)
from interlock.risk._policy import Policy, Rule, default_policy

__all__ = ["assess", "assess_with"]

_OUTCOME_ORDER: dict[str, int] = {"allow": 0, "review": 1, "deny": 2}
_LEVEL_ORDER: dict[str, int] = {lv: i for i, lv in enumerate(LEVELS)}


def assess(
    action: Action, context: Context | None = None, *, policy: Policy | None = None
) -> Assessment:
    """Score `action` under `policy` (the bundled default when omitted)."""
    return assess_with(policy or default_policy(), action, context)


def _prefilter(rule: Rule) -> Any:
    """The cheap, static part of a rule's `when`: tool globs and required sets."""
    when = rule.when
    pats = when.get("tool")
    tools = None
    if pats is not None:
        globs = [pats] if isinstance(pats, str) else list(pats)
        tools = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs)).match

    def any_set(value: Any) -> frozenset[str] | None:
        if isinstance(value, str):
            return frozenset([value])
        if isinstance(value, list):
            return frozenset(value)
        if isinstance(value, dict) and "any" in value:
            return frozenset([value["any"]] if isinstance(value["any"], str) else value["any"])
        if isinstance(value, dict) and "all" in value:
            return frozenset([value["all"]] if isinstance(value["all"], str) else value["all"])
        return None  # `none:` cannot exclude a rule ahead of time

    env = when.get("environment")
    envs = None if env is None else frozenset([env] if isinstance(env, str) else env)
    return tools, any_set(when.get("effects")), any_set(when.get("signals")), envs


def _candidates(policy: Policy, facts: Facts) -> list[tuple[Rule, list[Check]]]:
    # Most rules in a large policy are about other tools, effects or signals. Filtering on those
    # once per distinct combination, and caching the result on the policy, keeps the per-action
    # cost to the few rules that can apply.
    key = (facts.tool, facts.effects, facts.signals, facts.environment)
    cache: dict[Any, list[tuple[Rule, list[Check]]]] = policy.__dict__.setdefault("_cand", {})
    found = cache.get(key)
    if found is not None:
        return found
    pre = policy.__dict__.get("_pre")
    if pre is None:
        pre = [(_prefilter(rule), rule, checks) for rule, checks in policy.compiled()]
        policy.__dict__["_tpl"] = {r.id: compile_template(r.reason) for _, r, _ in pre}
        policy.__dict__["_pre"] = pre
    found = []
    for (tools, effects, signals, envs), rule, checks in pre:
        if tools is not None and tools(facts.tool) is None:
            continue
        # Unknown effects or environment must still reach the rule, which then fails closed.
        if effects is not None and facts.effects is not None and effects.isdisjoint(facts.effects):
            continue
        if signals is not None and signals.isdisjoint(facts.signals):
            continue
        if envs is not None and facts.environment is not None and facts.environment not in envs:
            continue
        found.append((rule, checks))
    if len(cache) > 8192:  # bounded: distinct combinations are few in practice
        cache.clear()
    cache[key] = found
    return found


_ENV_RANK = {"production": 3, "staging": 2, "dev": 1}


def _env_rank(environment: str | None) -> int:
    if environment is None:
        return -1
    return _ENV_RANK.get(environment, 0)


def _facts(
    policy: Policy, action: Action, context: Context
) -> tuple[Facts, tuple[Finding, ...], bool]:
    findings = analyze(action.tool, action.args)
    effects, reversible, unknown = action.effects, action.reversible, False
    if effects is None:
        defaults = policy.tools.get(action.tool)
        if defaults is not None:
            effects = defaults.effects
            reversible = defaults.reversible if reversible is None else reversible
        else:
            unknown = True
    if findings:
        effects = (effects or frozenset()) | {f.effect for f in findings}
    # When the arguments name a more sensitive environment than the tool declared (kubectl
    # --context prod from a "staging" tool), the more sensitive one counts.
    environment = action.environment
    for f in findings:
        if f.environment and _env_rank(f.environment) > _env_rank(environment):
            environment = f.environment
    res = action.resource
    resource = {"type": res.type, "id": res.id, **res.attributes} if res is not None else None
    cred = action.credential
    freezes = tuple(fr.name for fr in policy.freezes if fr.active(context.now, environment))
    facts = Facts(
        tool=action.tool,
        agent=action.agent,
        environment=environment,
        effects=effects,
        signals=frozenset(f.signal for f in findings),
        reversible=reversible,
        args=action.args,
        resource=resource,
        credential=(
            {
                "name": cred.name,
                "environments": cred.environments,
                "permissions": cred.permissions,
            }
            if cred is not None
            else None
        ),
        credential_wide=cred.reaches_beyond(environment) if cred is not None else None,
        now=context.now,
        active_freezes=freezes,
    )
    return facts, findings, unknown


def assess_with(policy: Policy, action: Action, context: Context | None = None) -> Assessment:
    """The engine proper. A rule that errors, or needs a fact the action lacks, fails closed."""
    context = context or Context()
    facts, findings, unknown = _facts(policy, action, context)
    score = 0
    level: Level = "low"
    outcome: Outcome = "allow"
    reasons: list[Reason] = []
    approvals = []
    fail_closed = False

    if unknown:
        fail_closed = True
        reasons.append(
            Reason(
                rule="fail-closed:unknown-tool",
                text=(
                    f"Unknown tool {action.tool!r}: it declares no effects and the policy has no "
                    "entry for it, so a human must look."
                ),
                outcome="review",
            )
        )
    for rule, checks in _candidates(policy, facts):
        missing: str | None = None
        try:
            for check in checks:
                try:
                    if not check(facts):
                        break
                except Missing as gap:
                    missing = missing or gap.fact
            else:
                if missing is None:
                    score += rule.points
                    if rule.floor and _LEVEL_ORDER[rule.floor] > _LEVEL_ORDER[level]:
                        level = rule.floor
                    if rule.outcome and _OUTCOME_ORDER[rule.outcome] > _OUTCOME_ORDER[outcome]:
                        outcome = rule.outcome
                    if rule.approval is not None:
                        approvals.append(rule.approval)
                    reasons.append(_reason(rule, _template(policy, rule)(facts), findings))
                elif not unknown:  # an unknown tool already fails closed, once
                    fail_closed = True
                    reasons.append(
                        Reason(
                            rule=rule.id,
                            text=(
                                f"Cannot rule out: {_template(policy, rule)(facts)} "
                                f"(the rule needs `{missing}`, which this action does not state)."
                            ),
                            outcome="review",
                        )
                    )
        except Exception as exc:  # a broken rule must never let an action through
            fail_closed = True
            reasons.append(
                Reason(
                    rule=rule.id,
                    text=f"Rule {rule.id!r} failed to evaluate ({type(exc).__name__}: {exc}).",
                    outcome="review",
                )
            )

    score = min(score, 100)
    by_score: Level = "low"
    for lv in ("medium", "high", "critical"):
        if score >= policy.levels[lv]:
            by_score = lv
    if _LEVEL_ORDER[by_score] > _LEVEL_ORDER[level]:
        level = by_score
    if fail_closed and _LEVEL_ORDER[policy.fail_closed_level] > _LEVEL_ORDER[level]:
        level = policy.fail_closed_level
    mapped = policy.outcomes[level]
    if _OUTCOME_ORDER[mapped] > _OUTCOME_ORDER[outcome]:
        outcome = mapped
    if fail_closed and outcome == "allow":
        outcome = "review"

    stopped = _stopped(action, facts, context)
    if stopped:
        outcome = "deny"
        reasons.append(Reason(rule="stop-switch", text=stopped, outcome="deny"))

    approval = None
    if outcome == "review":
        approval = _requirement(policy, level, approvals)
    return Assessment(
        score=score,
        level=level,
        outcome=outcome,
        reasons=tuple(reasons),
        approval=approval,
        policy_version=policy.version,
        signals=facts.signals,
    )


def _template(policy: Policy, rule: Rule) -> Any:
    return policy.__dict__["_tpl"][rule.id]


def _reason(rule: Rule, text: str, findings: tuple[Finding, ...]) -> Reason:
    wanted = rule.when.get("signals")
    if wanted is not None and findings:
        if isinstance(wanted, dict):
            wanted = next(iter(wanted.values()), [])
        names = {wanted} if isinstance(wanted, str) else set(wanted)
        details = [f.text for f in findings if f.signal in names]
        if details:
            text = f"{text}: {'; '.join(dict.fromkeys(details))}"
    return Reason(
        rule=rule.id, text=text, points=rule.points, floor=rule.floor, outcome=rule.outcome
    )


def _stopped(action: Action, facts: Facts, context: Context) -> str:
    if action.agent is not None and action.agent in context.stopped_agents:
        return f"Agent {action.agent!r} is stopped by an administrator: every action is denied."
    if facts.environment is not None and facts.environment in context.stopped_environments:
        return (
            f"Environment {facts.environment!r} is stopped by an administrator: "
            "every action there is denied."
        )
    return ""


def _requirement(policy: Policy, level: Level, specs: list[Any]) -> ApprovalRequirement:
    base = policy.approvals.get(level)
    candidates = [*specs, *([base] if base is not None else [])]
    if not candidates:
        return ApprovalRequirement(roles=policy.roles, count=1)
    # A spec's bar is its most junior acceptable role; the most demanding bar wins.
    bar = max(min(policy.rank(r) for r in spec.roles) for spec in candidates)
    count = max(spec.count for spec in candidates)
    return ApprovalRequirement(roles=policy.roles[bar:], count=count)


_policy_module._assess_with = assess_with
