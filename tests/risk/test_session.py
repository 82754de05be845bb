"""Session-aware rules: conditions over what the thread did before the action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from interlock.risk import (
    UNTRUSTED,
    Action,
    Context,
    Earlier,
    Policy,
    PolicyError,
    Session,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _policy(*rules: dict[str, object]) -> Policy:
    tools = {
        "send_email": {"effects": ["network"]},
        "read_inbox": {"effects": ["read"], "untrusted": True},
        "rm": {"effects": ["delete"]},
    }
    return Policy.from_dict({"name": "t", "rules": list(rules), "tools": tools})


AFTER_UNTRUSTED = {
    "id": "send-after-untrusted",
    "reason": "sends to a new recipient after reading untrusted content",
    "when": {
        "effects": {"any": ["network", "spend"]},
        "session": {
            "earlier": {"signals": {"any": [UNTRUSTED]}},
            "new_target": {"args": ["to"], "allow": ["*@corp.example"]},
        },
    },
    "outcome": "review",
}


def _read(at: datetime = NOW, outcome: str = "allow") -> Earlier:
    return Earlier(
        tool="read_inbox",
        effects=frozenset({"read"}),
        signals=frozenset({UNTRUSTED}),
        outcome=outcome,
        at=at,
        tainted=frozenset({"mallory@evil.example"}),
    )


def _send(to: str, session: Session | None) -> str:
    action = Action(tool="send_email", args={"to": to})
    return _policy(AFTER_UNTRUSTED).assess(action, Context(now=NOW, session=session)).outcome


def test_new_recipient_after_untrusted_content_needs_review() -> None:
    s = Session((_read(),), trusted=frozenset({"bob@partner.example"}))
    assert _send("mallory@evil.example", s) == "review"  # came from the email: tainted
    assert _send("bob@partner.example", s) == "allow"  # the user named it
    assert _send("alice@corp.example", s) == "allow"  # on the allowlist


def test_fresh_thread_and_reads_that_did_not_run_do_not_count() -> None:
    assert _send("mallory@evil.example", None) == "allow"
    assert _send("mallory@evil.example", Session()) == "allow"
    assert _send("mallory@evil.example", Session((_read(outcome="denied"),))) == "allow"


def test_a_url_is_known_by_its_host() -> None:
    rule = {**AFTER_UNTRUSTED, "when": {**AFTER_UNTRUSTED["when"]}}  # type: ignore[dict-item]
    rule["when"]["session"] = {"earlier": {"signals": [UNTRUSTED]}, "new_target": {"args": ["url"]}}
    p = Policy.from_dict(
        {
            "name": "t",
            "rules": [rule],
            "tools": {"post": {"effects": ["network"]}},
        }
    )
    s = Session((_read(), Earlier(tool="search", seen=frozenset({"api.example.net"}), at=NOW)))
    known = Action(tool="post", args={"url": "https://api.example.net/v1/upload"})
    new = Action(tool="post", args={"url": "https://paste.example.org/x"})
    assert p.assess(known, Context(now=NOW, session=s)).outcome == "allow"
    assert p.assess(new, Context(now=NOW, session=s)).outcome == "review"


def test_count_within_a_window() -> None:
    rule = {
        "id": "many-deletes",
        "reason": "more than two deletes within the hour",
        "when": {
            "effects": ["delete"],
            "session": {"count": {"effects": ["delete"], "more_than": 2, "within": "1h"}},
        },
        "outcome": "review",
    }
    p = _policy(rule)

    def rm(minutes_ago: list[int]) -> str:
        earlier = tuple(
            Earlier(tool="rm", effects=frozenset({"delete"}), at=NOW - timedelta(minutes=m))
            for m in minutes_ago
        )
        return p.assess(Action(tool="rm"), Context(now=NOW, session=Session(earlier))).outcome

    assert rm([1, 2]) == "allow"
    assert rm([1, 2, 3]) == "review"
    assert rm([1, 2, 90]) == "allow"  # one is outside the window


def test_earlier_by_tool_and_outcome() -> None:
    rule = {
        "id": "after-rejected",
        "reason": "a reviewer rejected a send earlier in this thread",
        "when": {"session": {"earlier": {"tool": "send_*", "outcome": ["rejected"]}}},
        "outcome": "review",
    }
    p = _policy(rule)
    rejected = Session((Earlier(tool="send_email", outcome="rejected", at=NOW),))
    ran = Session((Earlier(tool="send_email", outcome="allow", at=NOW),))
    action = Action(tool="rm")
    assert p.assess(action, Context(now=NOW, session=rejected)).outcome == "review"
    assert p.assess(action, Context(now=NOW, session=ran)).outcome == "allow"


@pytest.mark.parametrize(
    ("session", "error"),
    [
        ({"earlier": {"signals": ["no.such"]}}, "unknown signals"),
        ({"count": {"effects": ["delete"]}}, "more_than"),
        ({"count": {"effects": ["delete"], "more_than": 1, "within": "soon"}}, "within"),
        ({"earlier": {"outcome": ["maybe"]}}, "unknown outcomes"),
        ({"new_target": {"allow": ["x"]}}, "new_target"),
        ({"later": {}}, "unknown session condition"),
    ],
)
def test_malformed_session_conditions_say_what_to_fix(
    session: dict[str, object], error: str
) -> None:
    rule = {"id": "r", "reason": "r", "when": {"session": session}}
    with pytest.raises(PolicyError, match=error):
        _policy(rule)


def test_untrusted_tool_entries_keep_the_policy_version_of_older_policies() -> None:
    base = {"name": "t", "rules": [], "tools": {"a": {"effects": ["read"]}}}
    marked = {"name": "t", "rules": [], "tools": {"a": {"effects": ["read"], "untrusted": True}}}
    assert Policy.from_dict(base).version != Policy.from_dict(marked).version
    assert Policy.from_dict(marked).tools["a"].untrusted


def test_the_default_policy_reviews_sending_out_after_a_secret_was_read() -> None:
    from interlock.risk import default_policy

    policy = default_policy()
    send = Action(
        tool="http_request",
        args={"method": "POST", "url": "https://hooks.example.net/in", "body": "report"},
        environment="dev",
        effects=frozenset({"network"}),
    )
    secret = Earlier(tool="run_shell", signals=frozenset({"secret.read"}), at=NOW)
    fresh = policy.assess(send, Context(now=NOW))
    after = policy.assess(send, Context(now=NOW, session=Session(earlier=(secret,))))
    assert "session-send-after-secret" not in {r.rule for r in fresh.reasons}
    assert after.outcome == "review"
    assert "session-send-after-secret" in {r.rule for r in after.reasons}
    reason = next(r for r in after.reasons if r.rule == "session-send-after-secret")
    assert "read a secret" in reason.text


def test_count_reuses_a_session_across_times_and_keeps_undated_entries() -> None:
    rule = {
        "id": "many-deletes",
        "reason": "more than two deletes within the hour",
        "when": {"session": {"count": {"effects": ["delete"], "more_than": 2, "within": "1h"}}},
        "outcome": "review",
    }
    p = _policy(rule)
    earlier = tuple(
        Earlier(tool="rm", effects=frozenset({"delete"}), at=NOW - timedelta(minutes=m))
        for m in (1, 2, 3)
    )
    s = Session(earlier)
    action = Action(tool="rm")
    assert p.assess(action, Context(now=NOW, session=s)).outcome == "review"
    # The same history two hours on: all three are outside the window.
    later = Context(now=NOW + timedelta(hours=2), session=s)
    assert p.assess(action, later).outcome == "allow"
    # An entry the gate could not date always counts.
    undated = Session((*earlier[:2], Earlier(tool="rm", effects=frozenset({"delete"}))))
    assert p.assess(action, Context(now=NOW + timedelta(hours=2), session=undated)).outcome == (
        "allow"
    )
    assert p.assess(action, Context(now=NOW, session=undated)).outcome == "review"
