"""Validate a reviewer's answer before it resumes anything.

Call `validate_response(request, answer)` (or `validate_decision` for one action) before
`Command(resume=...)`: a bad answer raises `DecisionError` and the thread stays pending and
unchanged. The review node runs the same checks and re-opens the review instead of crashing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from interlock.nodes._payloads import (
    ActionRequest,
    Decision,
    ReviewConfig,
    ReviewRequest,
    ReviewResponse,
    allowed_decisions_of,
)
from interlock.risk.errors import ConflictError, DecisionError

__all__ = ["check_args", "validate_decision", "validate_response"]

_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # type -> (required, optional)
    "approve": (set(), {"digest", "reviewer", "message"}),
    "edit": (set(), {"args", "edited_action", "digest", "reviewer", "message"}),
    "reject": (set(), {"message", "digest", "reviewer"}),
    "respond": ({"message"}, {"digest", "reviewer"}),
    "escalate": ({"role"}, {"message", "digest", "reviewer"}),
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _type_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        return any(_type_ok(value, o) for o in options if isinstance(o, Mapping))
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if not kinds:
        return True
    for k in kinds:
        allowed = _JSON_TYPES.get(k)
        if allowed is None:
            return True
        if isinstance(value, bool) and k in ("integer", "number"):
            continue
        if isinstance(value, allowed):
            return True
    return False


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: Any) -> str:
    """Where `value` (JSON-like, nested) holds a string no database can store: NUL (U+0000,
    which Postgres text refuses) or a lone surrogate (which UTF-8 cannot encode); "" if none.
    Walked without recursion, so any nesting depth is fine."""
    stack: list[tuple[str, Any]] = [("args", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found is not None:
                char = "NUL (U+0000)" if found.group() == "\x00" else "a lone surrogate"
                return f"{char} at {where}, position {found.start()}"
        elif isinstance(item, Mapping):
            for k, v in item.items():
                if isinstance(k, str) and _UNSTORABLE.search(k):
                    return f"a key with NUL or a lone surrogate in {where}"
                stack.append((f"{where}[{_show(k)}]", v))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
    return ""


def check_args(args: Any, schema: Mapping[str, Any] | None, *, tool: str) -> dict[str, Any]:
    """Check edited args against the tool's JSON schema: required keys, known keys, types;
    and that every string in them can be stored (no NUL, no lone surrogate)."""
    if not isinstance(args, Mapping):
        msg = f"Edited args for {tool!r} must be a JSON object, got {_show(args)}."
        raise DecisionError(msg)
    bad = unstorable_text(args)
    if bad:
        msg = (
            f"Edited args for {tool!r} contain {bad}: no database can store that character "
            "(PostgreSQL text refuses NUL). Remove it and send the edit again; nothing was "
            "recorded."
        )
        raise DecisionError(msg)
    out: dict[str, Any] = dict(args)
    if not schema:
        return out
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = [k for k in schema.get("required") or [] if k not in args]
    if required:
        msg = (
            f"Edited args for {tool!r} lack required {required}; received keys "
            f"{sorted(args)}; the tool takes: {', '.join(props) or 'no arguments'}."
        )
        raise DecisionError(msg)
    unknown = sorted(k for k in args if props and k not in props)
    if unknown:
        msg = (
            f"Edited args for {tool!r} have unknown keys {unknown}; "
            f"the tool takes: {', '.join(props)}."
        )
        raise DecisionError(msg)
    for key, value in args.items():
        sub = props.get(key)
        if isinstance(sub, Mapping) and not _type_ok(value, sub):
            want = sub.get("type") or sub.get("enum") or sub.get("anyOf")
            msg = f"Edited arg {key!r} for {tool!r} is {_show(value)}; expected {want}."
            raise DecisionError(msg)
    return out


def validate_decision(
    request: ReviewRequest,
    decision: Any,
    *,
    index: int = 0,
    now: datetime | None = None,
) -> Decision:
    """Check one decision for the action at `index`; return it normalised.

    An `edit` comes back as `{"type": "edit", "args": {...}}` whichever form it used. Raises
    `DecisionError` saying what was received and what is allowed, or `ConflictError` when the
    decision is stale (its digest names another action, or the review expired).
    """
    actions = request.get("action_requests") or []
    if not 0 <= index < len(actions):
        msg = f"Decision index {index} is out of range: this review has {len(actions)} action(s)."
        raise DecisionError(msg)
    action: ActionRequest = actions[index]
    configs = request.get("review_configs") or []
    config: ReviewConfig | None = configs[index] if index < len(configs) else None
    allowed = allowed_decisions_of(config)
    where = f"action {index + 1} ({action['name']})"

    if not isinstance(decision, Mapping):
        msg = (
            f"The decision for {where} must be an object such as {{'type': 'approve'}}, "
            f"got {_show(decision)}. Allowed types: {', '.join(allowed)}."
        )
        raise DecisionError(msg)
    kind = decision.get("type")
    if not isinstance(kind, str) or kind not in _KEYS:
        msg = f"Decision type {_show(kind)} for {where} is unknown; allowed: {', '.join(allowed)}."
        raise DecisionError(msg)
    if kind not in allowed:
        msg = f"Decision {kind!r} is not allowed for {where}; allowed: {', '.join(allowed)}."
        raise DecisionError(msg)
    required, optional = _KEYS[kind]
    missing = sorted(required - set(decision))
    extra = sorted(set(decision) - required - optional - {"type"})
    if missing or extra:
        problem = f"lacks {missing}" if missing else f"has unknown keys {extra}"
        msg = (
            f"The {kind!r} decision for {where} {problem}; it takes "
            f"{sorted(required | optional | {'type'})}. Received {_show(dict(decision))}."
        )
        raise DecisionError(msg)
    for key in ("message", "reviewer", "digest", "role"):
        if key in decision and not isinstance(decision[key], str):
            got = _show(decision[key])
            msg = f"{key!r} in the {kind!r} decision for {where} must be text, got {got}."
            raise DecisionError(msg)
    if kind in ("respond",) and not decision["message"].strip():
        msg = f"A 'respond' decision for {where} needs a non-empty message for the agent."
        raise DecisionError(msg)

    digest = decision.get("digest")
    if digest is not None and action.get("digest") and digest != action["digest"]:
        msg = (
            f"The decision for {where} was made for action digest {digest[:12]}..., but the "
            f"pending action is {action['digest'][:12]}...: it changed since it was reviewed. "
            "Load the review again and decide on what it shows now."
        )
        raise ConflictError(msg)
    expires = request.get("expires_at")
    if now is not None and expires and now >= datetime.fromisoformat(expires):
        msg = (
            f"The review expired at {expires}; a decision received at {now.isoformat()} is "
            "not applied. The review re-opens when the thread resumes."
        )
        raise ConflictError(msg)

    out = dict(decision)
    if kind == "edit":
        has_args, has_action = "args" in decision, "edited_action" in decision
        if has_args == has_action:
            msg = (
                f"An 'edit' decision for {where} takes exactly one of 'args' (an object) or "
                f"'edited_action' ({{'name', 'args'}}); received {_show(dict(decision))}."
            )
            raise DecisionError(msg)
        new_args = decision.get("args")
        if has_action:
            edited = decision["edited_action"]
            if not isinstance(edited, Mapping) or "args" not in edited:
                msg = (
                    f"'edited_action' for {where} must be {{'name', 'args'}}, got {_show(edited)}."
                )
                raise DecisionError(msg)
            if edited.get("name", action["name"]) != action["name"]:
                msg = (
                    f"An edit may change the arguments of {action['name']!r}, not the tool: "
                    f"received name {edited.get('name')!r}. Reject and advise instead."
                )
                raise DecisionError(msg)
            new_args = edited["args"]
        schema = config.get("args_schema") if config else None
        out.pop("edited_action", None)
        out["args"] = check_args(new_args, schema, tool=action["name"])
    if kind == "escalate":
        role = decision["role"].strip()
        ladder = list(config.get("escalation_roles") or []) if config else []
        if not _ROLE.match(role) or (ladder and role not in ladder):
            hint = f"one of: {', '.join(ladder)}" if ladder else "a role name such as 'sre-lead'"
            msg = f"Cannot escalate {where} to {_show(role)}; name {hint}."
            raise DecisionError(msg)
        out["role"] = role
    return cast(Decision, out)


def validate_response(
    request: ReviewRequest, response: Any, *, now: datetime | None = None
) -> ReviewResponse:
    """Check a whole resume value: `{"decisions": [...]}`, a list, or one decision when the
    review holds one action. Returns `{"decisions": [...]}`, one per action, normalised."""
    actions = request.get("action_requests") or []
    if isinstance(response, Mapping) and "decisions" in response:
        extra = sorted(set(response) - {"decisions"})
        if extra:
            msg = f"A review response takes only 'decisions'; received extra keys {extra}."
            raise DecisionError(msg)
        decisions = response["decisions"]
    elif isinstance(response, Mapping) and "type" in response:
        decisions = [response]
    else:
        decisions = response
    if not isinstance(decisions, list | tuple):
        msg = (
            "A review response must be {'decisions': [...]} with one decision per action, "
            f"got {_show(response)}."
        )
        raise DecisionError(msg)
    if len(decisions) != len(actions):
        names = ", ".join(a["name"] for a in actions)
        msg = (
            f"This review holds {len(actions)} action(s) ({names}) and needs one decision each, "
            f"in order; received {len(decisions)}."
        )
        raise DecisionError(msg)
    return {
        "decisions": [
            validate_decision(request, d, index=i, now=now) for i, d in enumerate(decisions)
        ]
    }
