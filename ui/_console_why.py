""" "Why this needs you": the decisive reasons of an action in full, first on the page.

The reasons table lists every rule that fired in policy order, where the decisive ones (the
last copy of the data, a credential that reaches everywhere) can end up as rows 4 and 5 and
cut off in their cells. This summary puts the reasons that added the most points first, in
wrapping text, and highlights the arguments they name (a borrowed credential that otherwise
appears only inside the raw JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from interlock.nodes import ActionRequest
from interlock.runtime import top_reasons
from interlock.ui._console_render import code_span, esc

__all__ = ["CREDENTIAL_ARGS", "TOP", "risky_args", "why_markdown", "why_summary"]

TOP = 3
# Argument names that carry a credential: highlighted even when no reason names them.
CREDENTIAL_ARGS = frozenset(
    {"token", "credential", "api_key", "apikey", "password", "secret", "auth"}
)


def _is_credential(name: str) -> bool:
    low = name.lower()
    return low in CREDENTIAL_ARGS or low.endswith(("_token", "_key", "_secret", "_password"))


def risky_args(action: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(argument, value, why) for the arguments a reviewer must look at: credentials, and
    values the reasons name (other than the target, which the page already shows)."""
    args: Mapping[str, Any] = action.get("args") or {}
    target = str((action.get("resource") or {}).get("id") or "")
    texts = " ".join(str(r.get("text") or "") for r in top_reasons(action))
    out = []
    for name, value in args.items():
        text = value if isinstance(value, str) else None
        if _is_credential(str(name)) and value not in (None, ""):
            out.append((str(name), str(value), "the credential this call acts with"))
        elif text and text != target and len(text) >= 3 and text in texts:
            out.append((str(name), text, "named in the reasons"))
    return out


def _highlight(text: str, values: list[str]) -> str:
    out = esc(text)
    for v in sorted(set(values), key=len, reverse=True):
        out = out.replace(esc(v), f":red-background[**{esc(v)}**]")
    return out


def why_markdown(action: Mapping[str, Any], top: int = TOP) -> str:
    """The summary as markdown: the top reasons (full text, most points first), the rest
    counted, and the risky arguments highlighted."""
    reasons = top_reasons(action)
    risky = risky_args(action)
    values = [v for _, v, _ in risky]
    lines = []
    for r in reasons[:top]:
        points = int(r.get("points") or 0)
        lead = f"**+{points}**" if points else "**·**"
        lines.append(f"- {lead} {_highlight(str(r.get('text') or ''), values)}")
    if not lines:
        lines.append("- The policy gave no reason; it holds calls it cannot judge (fail closed).")
    rest = len(reasons) - top
    if rest > 0:
        lines.append(f"\n{rest} more reason{'s' if rest > 1 else ''} in the table below.")
    for name, value, why in risky:
        lines.append(
            f"\n:red-background[**Risky argument** {code_span(name)} = **{esc(value)}**] ({why})"
        )
    return "\n".join(lines)


def why_summary(action: ActionRequest, index: int) -> None:
    """Draw "Why this needs you" for one action (right under "If this runs")."""
    st.markdown("**Why this needs you:**")
    with st.container(border=True, key=f"review_why_{index}"):
        st.markdown(why_markdown(action))
