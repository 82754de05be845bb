"""The risk engine: a policy compiled for fast assessment, scoring, explaining, failing closed.

`Policy` (in `_policy`) validates and holds what the author wrote; it builds one
`CompiledPolicy` from its validated parts when it is constructed. The compiled object owns
everything the engine derives from the rules (cheap prefilters, reason templates) and the
cache of candidate rules per kind of action. This module never imports `_policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from interlock.risk._conditions import Check, Facts, Freeze, Missing, compile_template
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
from interlock.risk._policy_types import ApprovalSpec, Rule, ToolDefaults
from interlock.risk._regex import compile_glob
from interlock.risk._routes import CompiledRoutes
from interlock.risk._tools import ToolTable, match_tool
from interlock.risk.analyzers import HTTP_READ, INCOMPLETE, READ_ONLY, Finding, analyze

__all__ = ["CompiledPolicy"]

_OUTCOME_ORDER: dict[str, int] = {"allow": 0, "review": 1, "deny": 2}
_LEVEL_ORDER: dict[str, int] = {lv: i for i, lv in enumerate(LEVELS)}
# Distinct (tool, effects, signals, environment) combinations are few in practice; the bound
# only keeps a stream of unusual ones from growing the cache without limit.
_CACHE_LIMIT = 8192

_Prefilter = tuple[Any, frozenset[str] | None, frozenset[str] | None, frozenset[str] | None]
_Candidate = tuple[Rule, list[Check], Any]  # the rule, its checks, its reason template


class _Defaults(Protocol):
    """What fact derivation needs from a policy (a `Policy` or a `CompiledPolicy`)."""

    @property
    def tools(self) -> Mapping[str, ToolDefaults]: ...

    @property
    def freezes(self) -> tuple[Freeze, ...]: ...


def _prefilter(rule: Rule) -> _Prefilter:
    """The cheap, static part of a rule's `when`: tool globs and required sets."""
    when = rule.when
    pats = when.get("tool")
    tools = None
    if pats is not None:  # validated already: a string or a list of strings
        tools = compile_glob([pats] if isinstance(pats, str) else list(pats))

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


class CompiledPolicy:
    """A validated policy in the form the engine evaluates, with its per-policy caches.

    Built once per `Policy` (see `Policy.__post_init__`); treat it as immutable apart from the
    candidate cache, which only ever memoises a pure function of the rules.
    """

    __slots__ = (
        "_cache",
        "_pre",
        "approvals",
        "fail_closed_level",
        "freezes",
        "levels",
        "outcomes",
        "roles",
        "routing",
        "rules",
        "tools",
        "version",
    )

    def __init__(
        self,
        *,
        rules: list[tuple[Rule, list[Check]]],
        roles: tuple[str, ...],
        levels: Mapping[str, int],
        outcomes: Mapping[str, Outcome],
        approvals: Mapping[str, ApprovalSpec],
        tools: Mapping[str, ToolDefaults],
        freezes: tuple[Freeze, ...],
        fail_closed_level: Level,
        version: str,
        routing: CompiledRoutes | None = None,
    ) -> None:
        self.rules = rules
        self.routing = routing or CompiledRoutes((), None, {})
        self.roles = roles
        self.levels = dict(levels)
        self.outcomes = dict(outcomes)
        self.approvals = dict(approvals)
        self.tools = ToolTable(tools)  # aliases: globs and any case (see `_tools`)
        self.freezes = freezes
        self.fail_closed_level: Level = fail_closed_level
        self.version = version
        self._pre = [
            (_prefilter(rule), (rule, checks, compile_template(rule.reason)))
            for rule, checks in rules
        ]
        self._cache: dict[Any, list[_Candidate]] = {}

    def clear_cache(self) -> None:
        """Forget the candidate rules per kind of action (benchmarks measure the cold path)."""
        self._cache.clear()

    def rank(self, role: str) -> int:
        """Seniority of `role` on the ladder; -1 when it is not on it."""
        return self.roles.index(role) if role in self.roles else -1

    def candidates(self, facts: Facts) -> list[_Candidate]:
        # Most rules in a large policy are about other tools, effects or signals. Filtering on
        # those once per distinct combination keeps the per-action cost to the few rules that
        # can apply.
        key = (facts.tool, facts.effects, facts.signals, facts.environment)
        found = self._cache.get(key)
        if found is not None:
            return found
        found = []
        for (tools, effects, signals, envs), cand in self._pre:
            if tools is not None and not tools(facts.tool):
                continue
            # Unknown effects or environment must still reach the rule, which fails closed.
            fx = facts.effects
            if effects is not None and fx is not None and effects.isdisjoint(fx):
                continue
            if signals is not None and signals.isdisjoint(facts.signals):
                continue
            env = facts.environment
            if envs is not None and env is not None and env not in envs:
                continue
            found.append(cand)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def assess(self, action: Action, context: Context | None = None) -> Assessment:
        """Score `action`. A rule that errors, or needs a fact the action lacks, fails closed."""
        return _assess(self, action, context or Context())


_ENV_RANK = {"production": 3, "staging": 2, "dev": 1}


def _env_rank(environment: str | None) -> int:
    if environment is None:
        return -1
    return _ENV_RANK.get(environment, 0)


def _facts(
    policy: _Defaults, action: Action, context: Context
) -> tuple[Facts, tuple[Finding, ...], bool]:
    findings = analyze(action.tool, action.args, markers=True)
    effects, reversible, unknown = action.effects, action.reversible, False
    if effects is None:
        defaults = policy.tools.get(action.tool) or match_tool(policy.tools, action.tool)
        if defaults is not None:
            effects = defaults.effects
            reversible = defaults.reversible if reversible is None else reversible
        elif _reads_over_http(findings):
            effects = frozenset({"read"})  # its arguments are a GET: they say what it does
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
        session=context.session,
    )
    return facts, findings, unknown


def _reads_over_http(findings: tuple[Finding, ...]) -> bool:
    """An unknown tool whose arguments are one read-only HTTP request and nothing else."""
    signals = {f.signal for f in findings}
    return HTTP_READ in signals and READ_ONLY in signals


def _assess(policy: CompiledPolicy, action: Action, context: Context) -> Assessment:
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
    unchecked = [f.text for f in findings if f.signal == INCOMPLETE] if findings else []
    if unchecked:
        # Arguments past the analyzers' bounds were not read: no policy may let them through.
        fail_closed = True
        text = "; ".join(dict.fromkeys(unchecked))
        reasons.append(Reason(rule="fail-closed:unchecked-arguments", text=text, outcome="review"))
    for rule, checks, template in policy.candidates(facts):
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
                    reasons.append(_reason(rule, template(facts), findings))
                elif not unknown:  # an unknown tool already fails closed, once
                    fail_closed = True
                    reasons.append(
                        Reason(
                            rule=rule.id,
                            text=(
                                f"Cannot rule out: {template(facts)} "
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
    route = None
    if policy.routing:  # said for every outcome: explain shows who would be told
        route = policy.routing.route(
            environment=facts.environment,
            agent=action.agent,
            tool=action.tool,
            level=level,
            rules=[r.rule for r in reasons],
        )
    return Assessment(
        score=score,
        level=level,
        outcome=outcome,
        reasons=tuple(reasons),
        approval=approval,
        policy_version=policy.version,
        signals=facts.signals,
        effects=facts.effects,
        route=route,
    )


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


def _requirement(policy: CompiledPolicy, level: Level, specs: list[Any]) -> ApprovalRequirement:
    base = policy.approvals.get(level)
    candidates = [*specs, *([base] if base is not None else [])]
    if not candidates:
        return ApprovalRequirement(roles=policy.roles, count=1)
    # A spec's bar is its most junior acceptable role; the most demanding bar wins.
    bar = max(min(policy.rank(r) for r in spec.roles) for spec in candidates)
    count = max(spec.count for spec in candidates)
    return ApprovalRequirement(roles=policy.roles[bar:], count=count)
