"""Console session tokens: issued by the runtime's Authenticator, bounded in time, refused
once revoked, tampered with, from another console process, or for a removed reviewer; the
lifetime setting gives one clear line when it is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from interlock.risk.errors import ConfigError
from interlock.runtime import Authenticator, Reviewers
from interlock.ui._console_session import HOURS_ENV, SessionKeeper, session_hours

PASSWORD = "correct horse battery"


@pytest.fixture
def book(console_env: Any) -> Reviewers:
    return Reviewers.load(console_env.reviewers)


def test_a_token_signs_the_same_reviewer_in_again_with_current_roles(book: Reviewers) -> None:
    keeper = SessionKeeper()
    sam = Authenticator(book).password("sam", PASSWORD)
    token = keeper.issue(book, sam, hours=8)
    again = keeper.resume(book, token)
    assert again is not None
    assert (again.name, again.roles, again.method) == ("sam", ("sre-lead",), "session")
    book.remove("sam")
    assert keeper.resume(book.reload(), token) is None  # removed: the cookie no longer works


def test_revoked_expired_tampered_and_foreign_tokens_are_refused(book: Reviewers) -> None:
    keeper = SessionKeeper()
    ada = Authenticator(book).password("ada", PASSWORD)
    sam = Authenticator(book).password("sam", PASSWORD)
    token = keeper.issue(book, ada, hours=8)
    other = keeper.issue(book, sam, hours=8)
    keeper.revoke(token)  # ada signed out
    assert keeper.revoked(token)
    assert keeper.resume(book, token) is None
    assert keeper.resume(book, other) is not None  # sam's session goes on
    expired = keeper.issue(book, ada, hours=-1)
    assert keeper.resume(book, expired) is None
    head, _, mac = other.partition(".")
    assert keeper.resume(book, head + "." + "0" * len(mac)) is None
    assert keeper.resume(book, "not a token") is None
    assert keeper.resume(book, None) is None
    assert SessionKeeper().resume(book, other) is None  # another console process's token


def test_the_session_lifetime_setting() -> None:
    assert session_hours({}) == 8.0
    assert session_hours({HOURS_ENV: "0.5"}) == 0.5
    assert session_hours({HOURS_ENV: "0"}) == 0.0
    for bad in ("eight", "-1", "1000"):
        with pytest.raises(ConfigError) as err:
            session_hours({HOURS_ENV: bad})
        text = str(err.value)
        assert bad in text
        assert "between 0 and 720" in text
        assert "\n" not in text
