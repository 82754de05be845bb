"""Reading a policy document: every key checked, every error pointing at its line."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from interlock.risk._conditions import Check, Freeze, WhenError
from interlock.risk._model import (
    EFFECTS,
    LEVELS,
)
from interlock.risk._policy_types import (
    EFFECT_NAMES,
    RULE_ID,
    ApprovalSpec,
    ParseContext,
    Path_,
    Rule,
    ToolDefaults,
)
from interlock.risk._routes import parse_routing, validate_routing
from interlock.risk._when import compile_when
from interlock.risk.analyzers import SIGNALS

__all__ = ["LOADING", "parse_top", "validate_policy"]

LOADING: ContextVar[ParseContext | None] = ContextVar("LOADING", default=None)
"""The loader's context while `Policy.from_dict` builds one, so errors keep their lines."""

_TOP_KEYS = (
    "name",
    "description",
    "roles",
    "levels",
    "outcomes",
    "approvals",
    "tools",
    "freezes",
    "fail_closed_level",
    "rules",
    "routes",
    "default_team",
    "escalation_teams",
)
_RULE_KEYS = ("id", "reason", "when", "points", "floor", "outcome", "approval")


def parse_top(data: Any, ctx: ParseContext) -> dict[str, Any]:
    if not isinstance(data, dict):
        msg = f"a policy must be a mapping with keys {', '.join(_TOP_KEYS)}."
        raise ctx.error(msg, ())
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        msg = f"unknown key {unknown[0]!r}; allowed: {', '.join(_TOP_KEYS)}."
        raise ctx.error(msg, (unknown[0],))
    for key in ("name", "rules"):
        if key not in data:
            msg = f"missing required key {key!r}."
            raise ctx.error(msg, ())
    if not isinstance(data["name"], str) or not data["name"]:
        msg = "`name` must be a non-empty string."
        raise ctx.error(msg, ("name",))
    rules = data["rules"]
    if not isinstance(rules, list):
        msg = "`rules` must be a list of rules."
        raise ctx.error(msg, ("rules",))
    out: dict[str, Any] = {
        "name": data["name"],
        "rules": tuple(_parse_rule(r, i, ctx) for i, r in enumerate(rules)),
    }
    if "description" in data:
        out["description"] = str(data["description"])
    if "roles" in data:
        roles = data["roles"]
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            msg = "`roles` must be a non-empty list of role names, junior first."
            raise ctx.error(msg, ("roles",))
        out["roles"] = tuple(roles)
    for key in ("levels", "outcomes", "approvals", "tools"):
        if key in data and not isinstance(data[key], dict):
            msg = f"`{key}` must be a mapping."
            raise ctx.error(msg, (key,))
    if "levels" in data:
        out["levels"] = data["levels"]
    if "outcomes" in data:
        out["outcomes"] = data["outcomes"]
    if "approvals" in data:
        out["approvals"] = {
            k: _parse_approval(v, ("approvals", k), ctx) for k, v in data["approvals"].items()
        }
    if "tools" in data:
        out["tools"] = {k: _parse_tool(v, ("tools", k), ctx) for k, v in data["tools"].items()}
    if "freezes" in data:
        if not isinstance(data["freezes"], list):
            msg = "`freezes` must be a list."
            raise ctx.error(msg, ("freezes",))
        out["freezes"] = tuple(
            _parse_freeze(f, ("freezes", i), ctx) for i, f in enumerate(data["freezes"])
        )
    if "fail_closed_level" in data:
        out["fail_closed_level"] = data["fail_closed_level"]
    out.update(parse_routing(data, ctx))
    return out


def _parse_rule(raw: Any, i: int, ctx: ParseContext) -> Rule:
    path: Path_ = ("rules", i)
    if not isinstance(raw, dict):
        msg = f"each rule must be a mapping with keys {', '.join(_RULE_KEYS)}."
        raise ctx.error(msg, path)
    unknown = [k for k in raw if k not in _RULE_KEYS]
    if unknown:
        msg = f"unknown rule key {unknown[0]!r}; allowed: {', '.join(_RULE_KEYS)}."
        raise ctx.error(msg, (*path, unknown[0]))
    for key in ("id", "reason", "when"):
        if key not in raw:
            msg = f"a rule needs `{key}`."
            raise ctx.error(msg, path)
    approval = raw.get("approval")
    spec = _parse_approval(approval, (*path, "approval"), ctx) if approval is not None else None
    return _rule_obj(raw, spec)


def _parse_approval(raw: Any, path: Path_, ctx: ParseContext) -> ApprovalSpec:
    if not isinstance(raw, dict) or "roles" not in raw or set(raw) - {"roles", "count"}:
        msg = "an approval is {roles: [role, ...], count: N}."
        raise ctx.error(msg, path)
    roles, count = raw["roles"], raw.get("count", 1)
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        msg = "approval `roles` must be a non-empty list of role names."
        raise ctx.error(msg, (*path, "roles"))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10:
        msg = f"approval `count` must be a whole number from 1 to 10, got {count!r}."
        raise ctx.error(
            msg,
            (*path, "count"),
        )
    return ApprovalSpec(roles=tuple(roles), count=count)


def _parse_tool(raw: Any, path: Path_, ctx: ParseContext) -> ToolDefaults:
    keys = {"effects", "reversible", "untrusted"}
    if not isinstance(raw, dict) or "effects" not in raw or set(raw) - keys:
        msg = "a tool entry is {effects: [...], reversible: true|false, untrusted: true|false}."
        raise ctx.error(msg, path)
    effects = raw["effects"]
    if not isinstance(effects, list) or any(e not in EFFECTS for e in effects):
        msg = f"tool `effects` must be a list drawn from {', '.join(EFFECTS)}; got {effects!r}."
        raise ctx.error(msg, (*path, "effects"))
    rev = raw.get("reversible")
    if rev is not None and not isinstance(rev, bool):
        msg = "tool `reversible` must be true or false."
        raise ctx.error(msg, (*path, "reversible"))
    untrusted = raw.get("untrusted", False)
    if not isinstance(untrusted, bool):
        msg = "tool `untrusted` must be true or false."
        raise ctx.error(msg, (*path, "untrusted"))
    return ToolDefaults(effects=frozenset(effects), reversible=rev, untrusted=untrusted)


def _parse_freeze(raw: Any, path: Path_, ctx: ParseContext) -> Freeze:
    keys = {"name", "timezone", "start", "end", "environments"}
    if (
        not isinstance(raw, dict)
        or not {"name", "timezone", "start", "end"} <= set(raw)
        or set(raw) - keys
    ):
        msg = "a freeze is {name, timezone, start, end, environments?}."
        raise ctx.error(msg, path)
    try:
        ZoneInfo(str(raw["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown timezone {raw['timezone']!r}; use an IANA name such as Europe/Berlin."
        raise ctx.error(msg, (*path, "timezone")) from None
    bounds = []
    for key in ("start", "end"):
        value = raw[key]
        try:
            when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            msg = f"freeze `{key}` must be a local date-time like 2026-12-20T00:00, got {value!r}."
            raise ctx.error(msg, (*path, key)) from None
        bounds.append(when.replace(tzinfo=None))
    envs = raw.get("environments", [])
    if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
        msg = "freeze `environments` must be a list of names."
        raise ctx.error(msg, (*path, "environments"))
    if bounds[1] <= bounds[0]:
        msg = "freeze `end` must be after `start`."
        raise ctx.error(msg, (*path, "end"))
    return Freeze(
        name=str(raw["name"]),
        timezone=str(raw["timezone"]),
        start=bounds[0],
        end=bounds[1],
        environments=frozenset(envs),
    )


def validate_policy(data: dict[str, Any], ctx: ParseContext) -> list[tuple[Rule, list[Check]]]:
    roles = data["roles"]
    if len(set(roles)) != len(roles):
        msg = "`roles` lists a role twice."
        raise ctx.error(msg, ("roles",))
    levels = data["levels"]
    if set(levels) != {"medium", "high", "critical"}:
        msg = "`levels` must give the lowest score of medium, high and critical."
        raise ctx.error(msg, ("levels",))
    bounds = [levels["medium"], levels["high"], levels["critical"]]
    if not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 < b <= 100 for b in bounds
    ) or bounds != sorted(set(bounds)):
        msg = (
            f"`levels` must be whole scores with 0 < medium < high < critical <= 100, got {levels}."
        )
        raise ctx.error(msg, ("levels",))
    outcomes = data["outcomes"]
    if set(outcomes) != set(LEVELS) or any(
        o not in ("allow", "review", "deny") for o in outcomes.values()
    ):
        msg = "`outcomes` must map each of low, medium, high, critical to allow, review or deny."
        raise ctx.error(msg, ("outcomes",))
    order = ["allow", "review", "deny"]
    if [order.index(outcomes[lv]) for lv in LEVELS] != sorted(
        order.index(outcomes[lv]) for lv in LEVELS
    ):
        msg = "`outcomes` must not get more lenient as the level rises."
        raise ctx.error(msg, ("outcomes",))
    if data["fail_closed_level"] not in LEVELS or outcomes[data["fail_closed_level"]] == "allow":
        msg = "`fail_closed_level` must be a level whose outcome is review or deny."
        raise ctx.error(msg, ("fail_closed_level",))
    for lv, spec in data["approvals"].items():
        if lv not in LEVELS:
            msg = f"`approvals` keys are levels ({', '.join(LEVELS)}), got {lv!r}."
            raise ctx.error(msg, ("approvals", lv))
        _check_roles(spec["roles"], roles, ("approvals", lv, "roles"), ctx)
    validate_routing(data, ctx)
    freezes = {f["name"]: f for f in data["freezes"]}
    seen: set[str] = set()
    compiled = []
    for i, rule in enumerate(data["rules"]):
        path: Path_ = ("rules", i)
        rid = rule["id"]
        if not isinstance(rid, str) or not RULE_ID.match(rid):
            msg = f"rule `id` must be a lowercase slug like prod-destroy, got {rid!r}."
            raise ctx.error(msg, (*path, "id"))
        if rid in seen:
            msg = f"rule id {rid!r} is used twice; ids must be unique."
            raise ctx.error(msg, (*path, "id"))
        seen.add(rid)
        if not isinstance(rule["reason"], str) or not rule["reason"].strip():
            msg = "rule `reason` must say, in words a reviewer understands, why it matters."
            raise ctx.error(
                msg,
                (*path, "reason"),
            )
        pts = rule.get("points", 0)
        if isinstance(pts, bool) or not isinstance(pts, int) or not 0 <= pts <= 100:
            msg = f"rule `points` must be a whole number from 0 to 100, got {pts!r}."
            raise ctx.error(
                msg,
                (*path, "points"),
            )
        if rule.get("floor") not in (None, *LEVELS):
            msg = f"rule `floor` must be one of {', '.join(LEVELS)}, got {rule['floor']!r}."
            raise ctx.error(
                msg,
                (*path, "floor"),
            )
        if rule.get("outcome") not in (None, "review", "deny"):
            msg = (
                "rule `outcome` must be review or deny (rules never force allow), "
                f"got {rule['outcome']!r}."
            )
            raise ctx.error(msg, (*path, "outcome"))
        if "approval" in rule:
            _check_roles(rule["approval"]["roles"], roles, (*path, "approval", "roles"), ctx)
        try:
            checks = compile_when(
                rule["when"], signals=SIGNALS, effects=EFFECT_NAMES, freezes=freezes
            )
        except WhenError as exc:
            raise ctx.error(str(exc), (*path, "when", *exc.path)) from None
        # Rebuilt from the canonical dict so Python- and YAML-built policies compile alike.
        appr = rule.get("approval")
        spec = ApprovalSpec(roles=tuple(appr["roles"]), count=appr["count"]) if appr else None
        compiled.append((_rule_obj(rule, spec), checks))
    return compiled


def _rule_obj(raw: dict[str, Any], approval: ApprovalSpec | None) -> Rule:
    return Rule(
        id=raw["id"],
        reason=raw["reason"],
        when=raw["when"],
        points=raw.get("points", 0),
        floor=raw.get("floor"),
        outcome=raw.get("outcome"),
        approval=approval,
    )


def _check_roles(names: list[str], ladder: list[str], path: Path_, ctx: ParseContext) -> None:
    bad = [r for r in names if r not in ladder]
    if bad:
        msg = (
            f"unknown roles {bad}; declared roles (junior first): {', '.join(ladder)}. "
            "Add them to `roles`."
        )
        raise ctx.error(msg, path)
