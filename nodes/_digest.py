"""What binds an approval to one action: the action digest, a call's fingerprint (what it
does, wherever it is proposed), and the interrupt id LangGraph will give a gate's pause."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xxhash import xxh3_128_hexdigest

from interlock.risk import content_hash

__all__ = ["action_digest", "call_fingerprint", "interrupt_id_for"]


def action_digest(
    tool: str,
    args: Mapping[str, Any],
    *,
    thread_id: str,
    interrupt_id: str | None,
    policy_version: str,
) -> str:
    """SHA-256 of the canonical JSON of {tool, args, thread_id, interrupt_id, policy_version}."""
    return content_hash(
        {
            "tool": tool,
            "args": dict(args),
            "thread_id": thread_id,
            "interrupt_id": interrupt_id,
            "policy_version": policy_version,
        }
    )


def call_fingerprint(tool: str, args: Mapping[str, Any]) -> str:
    """Identifies a call by what it does, so a rejected call is recognised if proposed again."""
    return content_hash({"tool": tool, "args": dict(args)})[:32]


def interrupt_id_for(checkpoint_ns: str) -> str:
    """The id LangGraph gives the first `interrupt()` of the task running in `checkpoint_ns`.

    The request must name its interrupt id before it is raised, because the digests inside it
    are bound to it; tests pin this to `get_state().interrupts[0].id`.
    """
    return xxh3_128_hexdigest(checkpoint_ns.encode())
