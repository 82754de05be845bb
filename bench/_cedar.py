"""Translate an Interlock policy into Cedar text, and an action into a Cedar request.

Used by `bench_risk` to evaluate the same rules on the same actions through Cedar. Each rule
becomes one `forbid` policy annotated with the rule's id, so Cedar's determining policies are
exactly the rules that fired; one unconditional `permit` makes "no rule fired" an Allow.

The semantics are kept as close as Cedar allows (see `bench_risk` for the list of
approximations): a fact our engine would report as missing is left out of the Cedar request,
so the translated condition errors there, and Cedar skips an erroring policy just as our engine
refuses to count a rule whose fact is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "BASE_ID",
    "Untranslatable",
    "cedar_context",
    "cedar_entities",
    "policy_to_cedar",
    "resource_uid",
    "when_to_cedar",
]

BASE_ID = "interlock-base-permit"
_SET_FACTS = {"effects": "context.effects", "signals": "context.signals"}


class Untranslatable(ValueError):
    """A condition with no faithful Cedar equivalent (time windows, `?` globs)."""


# Cedar has no regular expressions. Each `regex` predicate is evaluated in Python while the
# request is built (like signals and freezes) and handed to Cedar as a boolean fact
# `context.rx.<name>`; this registry maps those names to (context path, pattern).
_REGEX_FACTS: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {}


def _regex_fact(expr: str, pattern: str) -> str:
    root, *path = expr.split(".")
    if root != "context":
        msg = f"regex on {expr!r}: only request-context values can be pre-evaluated"
        raise Untranslatable(msg)
    name = f"rx{len(_REGEX_FACTS)}"
    _REGEX_FACTS[name] = (tuple(path), re.compile(pattern, re.IGNORECASE))
    return f"context.rx.{name}"


def _index(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(part)
    if (
        isinstance(value, list)
        and part.lstrip("-").isdigit()
        and -len(value) <= int(part) < len(value)
    ):
        return value[int(part)]
    return None


def _regex_values(ctx: Mapping[str, Any]) -> dict[str, bool]:
    out = {}
    for name, (path, rx) in _REGEX_FACTS.items():
        value: Any = ctx
        for part in path:
            value = _index(value, part)
        out[name] = isinstance(value, str) and rx.search(value) is not None
    return out


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if any(ord(c) < 0x20 or ord(c) > 0x7E for c in value):
            msg = f"only printable ASCII strings are translated, got {value!r}"
            raise Untranslatable(msg)
        return json.dumps(value)
    if isinstance(value, list | tuple | frozenset | set):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    msg = f"no Cedar literal for {value!r} (Cedar has no floats or nulls)"
    raise Untranslatable(msg)


def _like(pattern: str) -> str:
    if any(c in pattern for c in "?[]\\"):
        msg = f"glob {pattern!r} uses more than `*`, which is all Cedar's `like` knows"
        raise Untranslatable(msg)
    return _lit(pattern)


def _globs(expr: str, value: str | Sequence[str]) -> str:
    pats = [value] if isinstance(value, str) else list(value)
    return "(" + " || ".join(f"{expr} like {_like(p)}" for p in pats) + ")"


def _names(value: Any) -> tuple[str, list[str]]:
    if isinstance(value, dict):
        mode, items = next(iter(value.items()))
    else:
        mode, items = "any", value
    return str(mode), [items] if isinstance(items, str) else list(items)


def _set_test(expr: str, value: Any) -> str:
    mode, names = _names(value)
    if mode == "all":
        return f"{expr}.containsAll({_lit(names)})"
    test = f"{expr}.containsAny({_lit(names)})"
    return test if mode == "any" else f"!{test}"


def _guarded(root: str, dotted: str) -> tuple[str, str]:
    """(`has` chain proving the path exists, the path expression)."""
    guards, expr = [], root
    for part in dotted.split("."):
        if not part.isidentifier():
            msg = f"field path {dotted!r} is not a chain of identifiers"
            raise Untranslatable(msg)
        guards.append(f"{expr} has {part}")
        expr = f"{expr}.{part}"
    return " && ".join(guards), expr


def _predicate(expr: str, spec: Any) -> str:
    if not isinstance(spec, dict):
        return f"{expr} == {_lit(spec)}"
    op, arg = next(iter(spec.items()))
    if op == "equals":
        return f"{expr} == {_lit(arg)}"
    if op == "not_equals":
        return f"{expr} != {_lit(arg)}"
    if op == "in":
        return f"{_lit(arg)}.contains({expr})"
    if op == "not_in":
        return f"!{_lit(arg)}.contains({expr})"
    if op == "glob":
        # Our glob is searched (anchored at the end only), hence the leading `*`.
        return f"{expr} like {_like('*' + arg.lstrip('*'))}"
    if op in ("gt", "gte", "lt", "lte"):
        sym = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return f"{expr} {sym} {_lit(arg)}"
    if op == "contains":
        return f"{expr}.contains({_lit(arg)})"
    if op == "regex":
        return _regex_fact(expr, arg)
    msg = f"operator {op!r} has no Cedar equivalent"
    raise Untranslatable(msg)


def _path_checks(root: str, block: Mapping[str, Any], *, strict: bool) -> list[str]:
    out = []
    for key, spec in block.items():
        if isinstance(spec, dict) and "regex" in spec:
            # Pre-evaluated in Python, so any path works, list indices included.
            out.append(_regex_fact(f"{root}.{key}", spec["regex"]))
            continue
        guard, expr = _guarded(root, key)
        if isinstance(spec, dict) and "exists" in spec:
            out.append(f"({guard})" if spec["exists"] else f"!({guard})")
        elif strict and key not in ("type", "id"):
            out.append(_predicate(expr, spec))  # errors when absent: our `Missing`
        else:
            out.append(f"({guard} && {_predicate(expr, spec)})")
    return out


def when_to_cedar(when: Mapping[str, Any]) -> str:
    """One `when:` block as a Cedar boolean expression, conditions in the same order."""
    parts: list[str] = []
    for key, value in when.items():
        if key == "tool":
            parts.append(_globs("context.tool", value))
        elif key == "agent":
            parts.append(f"(context has agent && {_globs('context.agent', value)})")
        elif key == "environment":
            envs = [value] if isinstance(value, str) else list(value)
            if len(envs) == 1:
                parts.append(f"context.environment == {_lit(envs[0])}")
            else:
                parts.append(f"{_lit(envs)}.contains(context.environment)")
        elif key in _SET_FACTS:
            parts.append(_set_test(_SET_FACTS[key], value))
        elif key == "reversible":
            parts.append(f"context.reversible == {_lit(value)}")
        elif key == "args":
            parts.extend(_path_checks("context.args", value, strict=False))
        elif key == "resource":
            parts.extend(_path_checks("resource", value, strict=True))
        elif key == "credential":
            for ck, spec in value.items():
                if ck == "wider_than_environment":
                    test = f"context.credential.wide == {_lit(spec)}"
                else:
                    test = _predicate(f"context.credential.{ck}", spec)
                parts.append(f"(context has credential && {test})")
        elif key == "in_freeze":
            parts.append(f"context.in_freeze == {_lit(value)}")
        elif key == "any":
            parts.append("(" + " || ".join(f"({when_to_cedar(v)})" for v in value) + ")")
        elif key == "not":
            parts.append(f"!({when_to_cedar(value)})")
        else:
            msg = f"condition {key!r} has no Cedar equivalent"
            raise Untranslatable(msg)
    return " && ".join(parts)


def policy_to_cedar(rules: Sequence[Mapping[str, Any]]) -> str:
    """Cedar text: the base permit, then one annotated `forbid` per rule, in rule order.

    Positional policy ids follow that order: `policy0` is the permit, `policy{i+1}` rule i.
    A policy's `routes` are left out: they say who is told, not whether an action may run.
    """
    out = [f'@id("{BASE_ID}")\npermit(principal, action, resource);']
    for rule in rules:
        notes = [f"@id({_lit(rule['id'])})", f'@points("{rule.get("points", 0)}")']
        for key in ("floor", "outcome"):
            if rule.get(key):
                notes.append(f"@{key}({_lit(rule[key])})")
        cond = when_to_cedar(rule["when"])
        out.append("\n".join(notes) + f"\nforbid(principal, action, resource)\nwhen {{ {cond} }};")
    return "\n\n".join(out) + "\n"


def resource_uid(resource: Mapping[str, Any] | None) -> str:
    if resource is None:
        return "none"
    return f"{resource['type']}/{resource['id']}"


def cedar_entities(resources: Sequence[Mapping[str, Any] | None]) -> str:
    """Entities JSON for every distinct resource: the entity store Cedar is handed once."""
    seen: dict[str, dict[str, Any]] = {}
    for res in resources:
        uid = resource_uid(res)
        seen[uid] = {
            "uid": {"type": "Resource", "id": uid},
            "attrs": _plain(dict(res)) if res is not None else {},
            "parents": [],
        }
    return json.dumps(list(seen.values()))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    return value


def cedar_context(
    *,
    tool: str,
    agent: str | None,
    environment: str | None,
    effects: frozenset[str] | None,
    signals: frozenset[str],
    reversible: bool | None,
    args: Mapping[str, Any],
    credential: Mapping[str, Any] | None,
    credential_wide: bool | None,
    in_freeze: bool,
) -> dict[str, Any]:
    """The request context; a fact our engine would find missing is simply absent."""
    ctx: dict[str, Any] = {
        "tool": tool,
        "signals": sorted(signals),
        "args": _plain(args),
        "in_freeze": in_freeze,
    }
    if agent is not None:
        ctx["agent"] = agent
    if environment is not None:
        ctx["environment"] = environment
    if effects is not None:
        ctx["effects"] = sorted(effects)
    if reversible is not None:
        ctx["reversible"] = reversible
    if credential is not None:
        ctx["credential"] = {**_plain(credential), "wide": bool(credential_wide)}
    ctx["rx"] = _regex_values(ctx)
    return ctx
