"""Authenticator: a password, OIDC claims or a session token become a Principal; nothing else
does, and a principal changed after the fact is no longer one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from interlock.risk.errors import AuthorizationError, NotFoundError
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers
from interlock.runtime.review import vouched


@pytest.fixture
def book(tmp_path: Path) -> Reviewers:
    reviewers = Reviewers.load(tmp_path / "reviewers.toml")
    reviewers.add("alice", ["oncall"], "alice-password", display="Alice M.")
    return reviewers


def test_a_password_login_gives_a_principal_without_the_hash(book: Reviewers) -> None:
    who = Authenticator(book).password("alice", "alice-password")
    assert isinstance(who, Principal)
    assert (who.name, who.roles, who.method, who.password_hash) == (
        "alice",
        ("oncall",),
        "password",
        "",
    )
    assert vouched(who)
    with pytest.raises(AuthorizationError, match="wrong password"):
        Authenticator(book).password("alice", "not-her-password")
    with pytest.raises(NotFoundError, match="unknown reviewer"):
        Authenticator(book).password("mallory", "whatever-it-is")


def test_oidc_claims_map_to_a_stored_reviewer_or_to_nothing(book: Reviewers) -> None:
    auth = Authenticator(book)
    who = auth.oidc({"email": "nobody@example.com", "preferred_username": "alice"})
    assert (who.name, who.roles, who.method) == ("alice", ("oncall",), "oidc")
    with pytest.raises(NotFoundError, match="names no reviewer"):
        auth.oidc({"email": "mallory@example.com", "name": "Mallory"})


def test_a_session_token_is_good_only_unaltered_unexpired_and_with_its_authenticator(
    book: Reviewers,
) -> None:
    auth = Authenticator(book)
    token = auth.issue_session(auth.password("alice", "alice-password"))
    assert auth.session(token).name == "alice"
    assert auth.session(token).method == "session"
    head, _, mac = token.partition(".")
    for bad in (f"{head}.{'0' * len(mac)}", token[:-2], "garbage", ""):
        with pytest.raises(AuthorizationError, match="invalid or expired"):
            auth.session(bad)
    with pytest.raises(AuthorizationError, match="invalid or expired"):
        Authenticator(book).session(token)  # another authenticator's secret
    old = auth.issue_session(auth.password("alice", "alice-password"), ttl_s=-1)
    with pytest.raises(AuthorizationError, match="invalid or expired"):
        auth.session(old)
    with pytest.raises(AuthorizationError, match="not an authenticated principal"):
        auth.issue_session(Reviewer(name="alice", roles=("admin",)))  # type: ignore[arg-type]


def test_refresh_follows_the_store_and_tampering_is_refused(book: Reviewers) -> None:
    auth = Authenticator(book)
    who = auth.password("alice", "alice-password")
    book.add("alice", ["sre-lead"], "alice-password", replace=True)
    assert auth.refresh(who).roles == ("sre-lead",)
    with pytest.raises(AuthorizationError, match="not issued by an authenticator"):
        dataclasses.replace(who, roles=("admin",))
    with pytest.raises(AuthorizationError, match="not issued by an authenticator"):
        Principal(name="alice", roles=("admin",))
    object.__setattr__(who, "roles", ("admin",))
    assert not vouched(who)
    with pytest.raises(AuthorizationError, match="not an authenticated principal"):
        auth.refresh(who)
