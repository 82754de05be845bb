"""`interlock demo --decide`: its flags checked before anything opens, and the decision
they make for each action of the pending review."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from interlock.nodes import DECISION_TYPES
from interlock.risk.errors import ConfigError

if TYPE_CHECKING:
    from interlock.runtime import ReviewDetail

__all__ = ["check_flags", "decision_of"]


def check_flags(
    decide: str | None, message: str | None, args: str | None, role: str | None
) -> None:
    """Refuse, before anything opens or runs, flags that would be ignored or a decision that
    is not one."""
    given = [f for f, v in (("--message", message), ("--args", args), ("--role", role)) if v]
    if decide is None:
        if given:
            verb = (
                "answers a review, so it goes" if len(given) == 1 else "answer a review, so they go"
            )
            msg = (
                f"{' and '.join(given)} {verb} with --decide; received "
                f"{given[0]} without --decide. Start with `interlock demo`, then answer with "
                "e.g. `interlock demo --decide reject --message '...'`."
            )
            raise ConfigError(msg)
        return
    if decide not in DECISION_TYPES:
        msg = f"--decide {decide!r} is not a decision; use one of: {', '.join(DECISION_TYPES)}."
        raise ConfigError(msg)
    takes = {"edit": "--args", "escalate": "--role"}
    for flag in ("--args", "--role"):
        if flag in given and takes.get(decide) != flag:
            owner = next(k for k, v in takes.items() if v == flag)
            msg = f"{flag} goes with --decide {owner}, not --decide {decide}; drop it."
            raise ConfigError(msg)
    if decide == "edit" and not args:
        example = '{"volume_id": "vol-staging-db"}'
        msg = f"--decide edit needs --args, a JSON object merged into the arguments: '{example}'."
        raise ConfigError(msg)


def decision_of(
    kind: str, message: str | None, args: str | None, role: str | None, review: ReviewDetail
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for action in review.request["action_requests"]:
        d: dict[str, Any] = {"type": kind}
        if message:
            d["message"] = message
        if kind == "respond" and not message:
            d["message"] = "Take the safe path."
        if kind == "escalate":
            d["role"] = role or "admin"
        if kind == "edit":
            try:
                new = json.loads(args or "")
            except json.JSONDecodeError as exc:
                example = '{"volume_id": "vol-staging-db"}'
                msg = f"--args must be a JSON object such as '{example}': {exc}."
                raise ConfigError(msg) from exc
            if not isinstance(new, dict):
                msg = f"--args must be a JSON object, got {args!r}."
                raise ConfigError(msg)
            d["args"] = {**action["args"], **new}  # merged into the proposed arguments
        out.append(d)
    return out
