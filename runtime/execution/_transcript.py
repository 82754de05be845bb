"""Human lines for what an agent did: its words, the calls it proposed, what they returned."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["call_text", "describe_update", "final_message"]

_MAX = 240


def _short(text: str, limit: int = _MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_text(name: str, args: Any) -> str:
    if not isinstance(args, dict):
        return f"{name}({_short(json.dumps(args, default=str), 120)})"
    inner = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{name}({_short(inner, 200)})"


def _content(msg: Any) -> str:
    content = getattr(msg, "content", "")
    if isinstance(content, str):
        return content
    parts = [
        str(b.get("text", "")) if isinstance(b, dict) else str(b)
        for b in content
        if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")
    ]
    return "\n".join(parts)


def describe_update(node: str, value: Any) -> list[str]:
    """Lines for one `stream_mode="updates"` chunk of node `node`."""
    if not isinstance(value, dict):
        return []
    lines: list[str] = []
    for msg in value.get("messages") or []:
        kind = getattr(msg, "type", "")
        if kind == "ai":
            text = _content(msg)
            if text and not getattr(msg, "tool_calls", None):
                lines.append(f"agent: {_short(text, 600)}")
            elif text:
                lines.append(f"agent: {_short(text)}")
            for call in getattr(msg, "tool_calls", None) or []:
                if node == "review":
                    lines.append(f"edited by the reviewer: {call_text(call['name'], call['args'])}")
                else:
                    lines.append(f"agent proposes {call_text(call['name'], call['args'])}")
        elif kind == "tool":
            ok = getattr(msg, "status", "success") != "error"
            who = "reviewer" if node == "review" else (getattr(msg, "name", "") or "tool")
            mark = "ran" if ok else "not run" if node == "review" else "error"
            lines.append(f"{who} [{mark}]: {_short(_content(msg))}")
    return lines


def final_message(messages: Sequence[Any]) -> str | None:
    """The agent's last words when the thread ended on them."""
    if not messages:
        return None
    last = messages[-1]
    if getattr(last, "type", "") == "ai" and not getattr(last, "tool_calls", None):
        return _content(last) or None
    return None
