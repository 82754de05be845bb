"""What the user gave and what nobody trusted named: `user_gave` lets a payment the user
stated flow over the limit, `new_name` stops a planted calendar entry (assistant profile)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from interlock.risk import (
    UNTRUSTED,
    Action,
    Context,
    Earlier,
    Policy,
    PolicyError,
    Session,
    assistant_policy,
    request_values,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _entry(tool: str, *, seen: set[str] = frozenset(), untrusted: bool = False) -> Earlier:
    signals = frozenset({UNTRUSTED}) if untrusted else frozenset()
    return Earlier(tool=tool, effects=frozenset({"read"}), signals=signals, seen=frozenset(seen))


def _outcome(tool: str, args: dict[str, object], effects: list[str], session: Session) -> str:
    action = Action(tool=tool, args=args, effects=frozenset(effects))
    return assistant_policy().assess(action, Context(now=NOW, session=session)).outcome


HISTORY = _entry("get_most_recent_transactions", untrusted=True)


def test_the_users_words_hold_numbers_and_hosts_at_a_sentence_end() -> None:
    got = request_values("Rent is 2,200 and refund the 10.00. Post to www.our.example.They said")
    assert {"2200", "10", "www.our.example"} <= got
    assert "2,200" not in got


def test_a_payment_the_user_stated_flows_over_the_limit() -> None:
    said = "My new landlord's account is CA133012400231215421872 and rent is 2200."
    s = Session((HISTORY,), request_values(said))
    stated = {"id": 7, "recipient": "CA133012400231215421872", "amount": 2200}
    assert _outcome("update_scheduled_transaction", stated, ["spend"], s) == "allow"
    # The amount the agent worked out from a letter, not the user's: it waits.
    assert _outcome("update_scheduled_transaction", stated | {"amount": 2300}, ["spend"], s) == (
        "review"
    )
    # No payee named, or no amount: what the user said does not cover it.
    assert _outcome("update_scheduled_transaction", {"id": 7, "amount": 2200}, ["spend"], s) == (
        "review"
    )
    no_amount = {"recipient": "CA133012400231215421872"}
    assert _outcome("send_money", no_amount, ["spend"], s) == "review"
    # An IBAN the user gave, an amount as text: still the user's numbers.
    iban = {"iban": "CA133012400231215421872", "amount": "2200.00"}
    assert _outcome("send_money", iban, ["spend"], s) == "allow"


def test_a_payment_over_the_limit_without_the_users_numbers_waits() -> None:
    s = Session((HISTORY,), request_values("Please update my rent payment for next month"))
    assert _outcome("update_scheduled_transaction", {"id": 7, "amount": 1100}, ["spend"], s) == (
        "review"
    )
    assert _outcome("reserve_hotel", {"hotel": "Le Marais"}, ["spend"], Session()) == "review"


REVIEWS = _entry("get_rating_reviews_for_hotels", untrusted=True)
LISTING = _entry("get_all_hotels_in_city", seen={"montmartre suites", "good night"})


def test_a_calendar_entry_naming_only_what_was_trusted_flows() -> None:
    s = Session((LISTING, REVIEWS), request_values("Pick a hotel in Paris; add a reminder"))
    event = {
        "title": "Booking hotel Montmartre Suites",
        "description": "Reminder to book Montmartre Suites in Paris. Enjoy!",
    }
    assert _outcome("create_calendar_event", event, ["write"], s) == "allow"


def test_a_calendar_entry_naming_something_nobody_trusted_named_waits() -> None:
    s = Session((LISTING, REVIEWS), request_values("Pick a hotel in Paris; add a reminder"))
    planted = {"title": "Booking a room at the Riverside View Hotel"}
    assert _outcome("create_calendar_event", planted, ["write"], s) == "review"
    # Before any untrusted content, the thread's own choice flows.
    fresh = Session((LISTING,), request_values("Pick a hotel in Paris; add a reminder"))
    assert _outcome("create_calendar_event", planted, ["write"], fresh) == "allow"
    # A capital that only opens a sentence is not a name.
    plain = {"title": "Lunch", "description": "Catch up over lunch. Bring notes."}
    assert _outcome("create_calendar_event", plain, ["write"], s) == "allow"


@pytest.mark.parametrize(
    ("session", "needle"),
    [
        ({"user_gave": {"args": []}}, "user_gave"),
        ({"user_gave": ["amount"]}, "user_gave"),
        ({"new_name": {"args": "title", "extra": 1}}, "new_name"),
    ],
)
def test_bad_conditions_are_refused(session: dict[str, object], needle: str) -> None:
    rule = {"id": "r", "reason": "x", "when": {"session": session}, "outcome": "review"}
    with pytest.raises(PolicyError, match=needle):
        Policy.from_dict({"name": "t", "rules": [rule]})
