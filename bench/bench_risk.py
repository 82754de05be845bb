"""`risk.assess` with a 200-rule policy, against the same rules evaluated by Cedar.

Targets: the median `assess()` is at most 20 µs per action, and no slower than Cedar
(`cedarpy.is_authorized`, one call per action) on the same actions in the same run.

What is timed. Ours: `policy.assess(action, context)`, the call the risk gate makes, on a
prebuilt `Action` and `Context`. Cedar: `cedarpy.is_authorized(request, policy_set, entities)`
with the policy set and the entity store parsed once outside the loop (`PolicySet`,
`Entities` handles) and each request's context pre-serialised to JSON, so Cedar pays only
for evaluating the request and returning its answer. Every call is timed on its own with
`perf_counter_ns`, the garbage collector off, after a warm-up. The engines alternate in
blocks of 10 passes over the same 50-action mix (40 blocks), each block opening with an
untimed pass: Cedar's native code evicts ours from the CPU caches, and alternating call by
call measured that refill (~1.5x on our side), not the engines. The medians and p95 are
over all per-call samples (20,000 per engine). cedarpy's `is_authorized_batch` is reported
too, per action, against our own loop over the mix; the targets compare single calls.

Our engine caches, per policy, which rules can apply to a (tool, effects, signals,
environment) combination; Cedar evaluates every policy on every request (measured here at
about 1 µs per policy even when its scope excludes the request). The mix repeats, so ours
runs with that cache warm, as it does in a long-running gate; the "candidate cache cleared"
row shows the cost when every call misses it.

How the rules become Cedar (`bench/_cedar.py`). Each rule is a `forbid` with its id in an
`@id` annotation, plus one unconditional `permit`: Cedar's determining policies are the
rules that fire, and the "same rules fire" row checks, action by action, that they are
exactly the rules our engine counted. Approximations, all in Cedar's favour:
- Cedar is handed what our engine derives inside `assess()`: the argument analyzers'
  signals and effects, the policy's default effects for generic tools, an environment named
  in the arguments, whether the credential reaches beyond the environment, whether a change
  freeze is active. Our timing includes deriving them; Cedar's does not.
- Cedar stops at "which rules fire". Turning them into a score, level, outcome, approval
  requirement and rendered reasons, which `assess()` also does, is left out of its timing.
- A missing fact makes our rule fail closed (review); in Cedar the fact is left out of the
  request, the condition errors and Cedar skips the policy. Both count the rule as not fired.
  Our engine lets a false condition win over a missing fact anywhere in the rule; Cedar's
  `&&` stops at the first error, so the two may disagree on *why* a rule did not fire, never
  on whether it fired.
- `glob` argument predicates are case-insensitive in our engine and case-sensitive in Cedar's
  `like`; the workload uses lower-case values. Regex and time-window conditions have no
  Cedar equivalent; the 200 rules use neither.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from typing import Any

import cedarpy

from bench._cedar import (
    cedar_context,
    cedar_entities,
    policy_to_cedar,
    resource_uid,
)
from bench._common import Row, gc_disabled, percentile, row
from bench._risk_session import assistant_mix, session_row
from bench._risk_workload import action_mix, policy_200
from interlock.risk import (
    Action,
    Assessment,
    Context,
    Policy,
    assistant_policy,
)

__all__ = ["run"]

TARGET_US = 20.0
# Not inside the default policy's change freeze, so the freeze rule does not fire for all.
NOW = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)


def _facts(policy: Policy, action: Action, context: Context) -> Any:
    # The engine's own fact derivation, so Cedar sees exactly what our rules see.
    from interlock.risk._engine import _facts as derive

    return derive(policy, action, context)[0]


def _cedar_requests(policy: Policy, actions: list[Action], ctx: Context) -> list[dict[str, Any]]:
    requests = []
    for action in actions:
        f = _facts(policy, action, ctx)
        context = cedar_context(
            tool=f.tool,
            agent=f.agent,
            environment=f.environment,
            effects=f.effects,
            signals=f.signals,
            reversible=f.reversible,
            args=f.args,
            credential=f.credential,
            credential_wide=f.credential_wide,
            in_freeze=bool(f.active_freezes),
        )
        requests.append(
            {
                "principal": {"type": "Agent", "id": f.agent or "anonymous"},
                "action": {"type": "Action", "id": "invoke"},
                "resource": {"type": "Resource", "id": resource_uid(f.resource)},
                "context": json.dumps(context),
            }
        )
    return requests


def _fired_ours(policy: Policy, assessment: Assessment) -> set[str]:
    rules = {r.id: r for r in policy.rules}
    fired = set()
    for reason in assessment.reasons:
        rule = rules.get(reason.rule)
        # A fail-closed reason names the rule too, but adds no points and no floor.
        if rule is not None and (reason.points, reason.floor, reason.outcome) == (
            rule.points,
            rule.floor,
            rule.outcome,
        ):
            fired.add(rule.id)
    return fired


def _fired_cedar(result: cedarpy.AuthzResult, ids: list[str]) -> set[str]:
    by_pos = {f"policy{i + 1}": rid for i, rid in enumerate(ids)}
    return {by_pos[p] for p in result.diagnostics.reasons if p in by_pos}


@dataclass(frozen=True, kw_only=True)
class _Work:
    """Everything both engines need, built once, outside every timed loop."""

    policy: Policy
    actions: list[Action]
    ctx: Context
    requests: list[dict[str, Any]]
    policy_set: Any
    entities: Any


def _agreement(w: _Work) -> tuple[float, list[str]]:
    ids = [r.id for r in w.policy.rules]
    diffs = []
    for action, req in zip(w.actions, w.requests, strict=True):
        ours = _fired_ours(w.policy, w.policy.assess(action, w.ctx))
        theirs = _fired_cedar(cedarpy.is_authorized(req, w.policy_set, w.entities), ids)
        if ours != theirs:
            only_ours, only_cedar = sorted(ours - theirs), sorted(theirs - ours)
            diffs.append(f"{action.tool}: ours only {only_ours}, Cedar only {only_cedar}")
    return 100.0 * (len(w.actions) - len(diffs)) / len(w.actions), diffs


def _per_call(w: _Work, blocks: int, reps: int) -> tuple[list[int], list[int]]:
    """Per-call samples, the engines alternating in blocks of `reps` passes over the mix.

    Cedar's native code evicts our working set from the CPU caches (measured: the next ~50
    assessments run ~1.5x slower), so alternating call by call would measure cache refills,
    not the engines. Each block starts with one untimed pass; alternating blocks still spreads
    machine drift over both engines.
    """
    clock = time.perf_counter_ns
    assess, authorize = w.policy.assess, cedarpy.is_authorized
    actions, requests, ctx, ps, es = w.actions, w.requests, w.ctx, w.policy_set, w.entities
    ours: list[int] = []
    theirs: list[int] = []
    for _ in range(blocks):
        for rep in range(reps + 1):
            for action in actions:
                t0 = clock()
                assess(action, ctx)
                t1 = clock()
                if rep:
                    ours.append(t1 - t0)
        for rep in range(reps + 1):
            for req in requests:
                t0 = clock()
                authorize(req, ps, es)
                t1 = clock()
                if rep:
                    theirs.append(t1 - t0)
    return ours, theirs


def _amortised(w: _Work, blocks: int, reps: int) -> tuple[float, float]:
    """Per action, from whole passes: our loop over the mix, Cedar's batch call."""
    clock = time.perf_counter_ns
    assess, batch = w.policy.assess, cedarpy.is_authorized_batch
    actions, requests, ctx, ps, es = w.actions, w.requests, w.ctx, w.policy_set, w.entities
    ours, theirs = [], []
    for _ in range(blocks):
        for rep in range(reps + 1):
            t0 = clock()
            for action in actions:
                assess(action, ctx)
            if rep:
                ours.append(clock() - t0)
        for rep in range(reps + 1):
            t0 = clock()
            batch(requests, ps, es)
            if rep:
                theirs.append(clock() - t0)
    n = len(actions)
    return median(ours) / n / 1000.0, median(theirs) / n / 1000.0


def _cold(w: _Work, reps: int) -> list[int] | None:
    """Per-call samples with the engine's candidate-rule cache emptied before every call."""
    cache = w.policy.__dict__.get("_cand")
    if not isinstance(cache, dict):
        return None  # the engine keeps no such cache (any more): nothing to clear
    clock = time.perf_counter_ns
    out = []
    for _ in range(reps):
        for action in w.actions:
            cache.clear()
            t0 = clock()
            w.policy.assess(action, w.ctx)
            out.append(clock() - t0)
    return out


def _build() -> _Work:
    policy = policy_200()
    actions = action_mix()
    ctx = Context(now=NOW)
    cedar_text = policy_to_cedar([r.to_dict() for r in policy.rules])
    resources = [_facts(policy, a, ctx).resource for a in actions]
    w = _Work(
        policy=policy,
        actions=actions,
        ctx=ctx,
        requests=_cedar_requests(policy, actions, ctx),
        policy_set=cedarpy.PolicySet.from_str(cedar_text),
        entities=cedarpy.Entities.from_json_str(cedar_entities(resources)),
    )
    first = cedarpy.is_authorized(w.requests[0], w.policy_set, w.entities)
    if not first.diagnostics.reasons:
        msg = f"Cedar could not evaluate the translated policy: {first.diagnostics.errors[:2]}"
        raise RuntimeError(msg)
    return w


def run(quick: bool = False) -> list[Row]:
    w = _build()
    agree, diffs = _agreement(w)
    outcomes = [w.policy.assess(a, w.ctx).outcome for a in w.actions]
    blocks, reps = (3, 10) if quick else (40, 10)
    with gc_disabled():
        _per_call(w, 1, 2)  # warm-up: imports, caches, the candidate rules per action
        ours_ns, cedar_ns = _per_call(w, blocks, reps)
        ours_am, cedar_am = _amortised(w, blocks, reps // 2)
        cold_ns = _cold(w, blocks * 2)

    us = 1000.0
    med, cmed = median(ours_ns) / us, median(cedar_ns) / us
    p95, cp95 = percentile(ours_ns, 95) / us, percentile(cedar_ns, 95) / us
    mix = ", ".join(f"{o} {outcomes.count(o)}" for o in ("allow", "review", "deny"))
    cedar = "cedarpy.is_authorized"
    rows = [
        row(
            "risk.assess median (200 rules)",
            med,
            "µs",
            baseline=cmed,
            baseline_name=cedar,
            target=f"≤ {TARGET_US:g} µs and ≤ Cedar",
            ok=med <= TARGET_US and med <= cmed,
            note=f"{len(w.actions)} actions × {blocks * reps} passes per engine; ours: {mix}",
        ),
        row(
            "risk.assess p95 (200 rules)",
            p95,
            "µs",
            baseline=cp95,
            baseline_name=cedar,
            target="≤ Cedar",
            ok=p95 <= cp95,
        ),
        row(
            "risk.assess per action, loop vs Cedar batch",
            ours_am,
            "µs",
            baseline=cedar_am,
            baseline_name="cedarpy.is_authorized_batch",
            note="informational: the target compares single calls, as the gate makes them",
        ),
        row(
            "risk vs Cedar: same rules fire",
            agree,
            "%",
            target="100 %",
            ok=agree == 100.0,
            note="; ".join(diffs[:3]) if diffs else f"{len(w.actions)} of {len(w.actions)} actions",
        ),
    ]
    rows.append(session_row(w.actions, blocks, reps))
    mix, history = assistant_mix()
    rows.append(session_row(mix, blocks, reps, assistant_policy(), history))
    if cold_ns is not None:
        cold = median(cold_ns) / us
        rows.insert(
            2,
            row(
                "risk.assess median, candidate cache cleared",
                cold,
                "µs",
                baseline=cmed,
                baseline_name=cedar,
                note="informational: every call re-filters all 200 rules",
            ),
        )
    return rows
