"""What the model reads when guarded execution does not run a call."""

from __future__ import annotations

from interlock.nodes._gate import Verdict

__all__ = ["denial_text", "sentence", "stop_reason"]


def sentence(text: str) -> str:
    """`text` ending as a sentence does, so that the sentence after it reads apart."""
    text = text.rstrip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def stop_reason(v: Verdict) -> str:
    """Why the call's scope is stopped ("" when it is not): the engine's stop-switch reason."""
    a = v.assessment
    if a is None or a.outcome != "deny":
        return ""
    return next((r.text for r in a.reasons if r.rule == "stop-switch"), "")


def denial_text(v: Verdict) -> str:
    name = v.call["name"]
    if v.kind == "rejected":
        return (
            f"REFUSED: a human reviewer already rejected this exact call to {name} "
            f"({v.note}). It was not run. Do not propose it again."
        )
    a = v.assessment
    reasons = "; ".join(r.text for r in a.reasons) if a else "the policy forbids it"
    risk = f" (risk {a.score}/100, {a.level})" if a else ""
    return (
        f"DENIED by policy{risk}: {name} was not run. Why: {sentence(reasons)} "
        "Do not retry it; choose a safer action or ask a human."
    )
