"""The session rows of bench_risk: `risk.assess` on a thread with earlier actions against
the same policy on a fresh thread (the default policy on the ops action mix, and the
personal-assistant profile on assistant calls)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from statistics import median

from bench._common import Row, row
from interlock.risk import (
    Action,
    Context,
    Earlier,
    Policy,
    Session,
    default_policy,
    request_values,
)

__all__ = ["SESSION_EARLIER", "SESSION_TARGET", "assistant_mix", "session_row"]

SESSION_TARGET = 2.0
SESSION_EARLIER = 50
NOW = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)


def _history(n: int) -> Session:
    """A thread's `n` earlier actions, as the gate hands them over: reads of inventory and
    mail (one untrusted), lookups, a few writes and a delete, with the targets they named."""
    kinds = [
        ("get_inventory", {"read"}, set(), "allow"),
        ("read_email", {"read"}, {"untrusted.content"}, "allow"),
        ("lookup_customer", {"read"}, set(), "allow"),
        ("update_ticket", {"write"}, set(), "allow"),
        ("delete_file", {"delete"}, set(), "approved"),
    ]
    earlier = []
    for i in range(n):
        tool, effects, signals, outcome = kinds[i % len(kinds)]
        earlier.append(
            Earlier(
                tool=tool,
                effects=frozenset(effects),
                signals=frozenset(signals),
                outcome=outcome,
                at=NOW,
                seen=frozenset({f"host-{i}.example.net", f"user{i}@example.net", f"id-{i:04d}"}),
            )
        )
    return Session(earlier=tuple(earlier))


def assistant_mix() -> tuple[list[Action], Session]:
    """Personal-assistant calls (mail, payments, pages, calendar, deletes, passwords) and a
    thread of `SESSION_EARLIER` earlier actions with untrusted reads whose values are tainted,
    so every session rule of the profile runs to its end."""
    history = _history(SESSION_EARLIER)
    earlier = [
        dataclasses.replace(e, tainted=frozenset({f"evil{i}.example", f"payee{i:04d}x"}))
        if "untrusted.content" in e.signals
        else e
        for i, e in enumerate(history.earlier)
    ]
    trusted = request_values("Send the notes to user1@example.net")

    def act(tool: str, effects: str, **args: object) -> Action:
        return Action(tool=tool, args=args, effects=frozenset({effects}))

    actions = [
        act("send_email", "write", recipients=["user1@example.net"], body="see host-3.example.net"),
        act("send_email", "write", recipients=["evil3.example"], body="hi"),
        act("send_money", "spend", recipient="payee0001x", amount=20, subject="x"),
        act("fetch_webpage", "read", url="https://evil5.example/a?b=c"),
        act("create_calendar_event", "write", title="Lunch", participants=["user2@example.net"]),
        act("delete_email", "delete", email_id="7"),
        act("update_password", "access", password="s3cret-from-mail"),
        act("search_contacts", "read", query="Bob"),
    ]
    return actions, Session(tuple(earlier), trusted)


def session_row(
    actions: list[Action],
    blocks: int,
    reps: int,
    policy: Policy | None = None,
    history: Session | None = None,
) -> Row:
    """A policy with session rules (the default one unless given) on an action mix: a thread
    with `SESSION_EARLIER` earlier actions against a fresh thread, alternating in blocks."""
    name = "default" if policy is None else policy.name
    policy = policy or default_policy()
    busy = Context(now=NOW, session=history or _history(SESSION_EARLIER))
    fresh = Context(now=NOW)
    clock = time.perf_counter_ns
    plain: list[int] = []
    with_history: list[int] = []
    for _ in range(blocks):
        for ctx, out in ((fresh, plain), (busy, with_history)):
            for a in actions:  # untimed pass: caches warm for this context
                policy.assess(a, ctx)
            for _ in range(reps):
                for a in actions:
                    t0 = clock()
                    policy.assess(a, ctx)
                    out.append(clock() - t0)
    value, base = median(with_history) / 1000, median(plain) / 1000
    label = "" if name == "default" else f" ({name})"
    return row(
        f"risk.assess with session rules{label}, {SESSION_EARLIER} earlier actions",
        value,
        "µs",
        baseline=base,
        baseline_name="the same policy on a fresh thread",
        target=f"≤ {SESSION_TARGET:g}× a fresh thread",
        ok=value <= SESSION_TARGET * base,
        note=f"{name} policy, {len(actions)} actions × {blocks * reps} passes each",
    )
