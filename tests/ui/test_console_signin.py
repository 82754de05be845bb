"""Signing in to the console: the reviewers file, OIDC through st.login, and signing out."""

from __future__ import annotations

from typing import Any

OIDC = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "console",
    "client_secret": "secret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}


def test_nothing_but_the_sign_in_form_before_signing_in(console: Any) -> None:
    at = console.new_app().run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Sign in with your name and password" in console.texts(at)
    assert "Signed in as" not in console.texts(at)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(console: Any) -> None:
    wrong = console.sign_in("olivia", "not the password")
    unknown = console.sign_in("mallory", "whatever password")
    for at in (wrong, unknown):
        assert [e.value for e in at.error] == ["Wrong name or password."]
        assert "interlock.identity" not in at.session_state
        assert "Signed in as" not in console.texts(at)


def test_signing_in_shows_who_and_their_roles_then_signing_out_forgets_everything(
    console: Any,
) -> None:
    at = console.sign_in("sam")
    side = "\n".join(m.value for m in at.sidebar.markdown)
    assert "Signed in as **Sam \\(sam\\)**" in side
    assert "`sre-lead`" in side
    assert at.session_state["interlock.identity"].roles == ("sre-lead",)
    at.sidebar.button(key="auth_sign_out").click().run()
    assert "interlock.identity" not in at.session_state
    assert [b.label for b in at.button] == ["Sign in"]


def test_oidc_identity_maps_to_the_reviewer_of_that_email(console: Any) -> None:
    at = console.new_app()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.text_input  # no password form when OIDC is configured
    at.user = {"is_logged_in": True, "email": "olivia@example.com", "name": "Olivia"}
    at.run()
    assert not at.exception
    who = at.session_state["interlock.identity"]
    assert (who.name, who.roles) == ("olivia@example.com", ("oncall",))
    assert "`oncall`" in "\n".join(m.value for m in at.sidebar.markdown)


def test_an_oidc_account_unknown_to_the_reviewers_file_sees_nothing(console: Any) -> None:
    at = console.new_app()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": True, "email": "eve@example.com"}
    at.run()
    assert "interlock.identity" not in at.session_state
    assert "no reviewer of that name exists" in console.texts(at)
    assert "interlock reviewers add eve@example.com --role ROLE" in console.texts(at)


def test_the_reviewers_file_counts_at_once_added_changed_and_removed(
    console: Any, password: str
) -> None:
    at = console.sign_in("sam")  # the console's runtime is open from here on
    with console.env.book() as book:  # the file, or on Postgres the database's table
        book.add("nina", ["oncall"], password)  # added while the console runs
        assert console.sign_in("nina").session_state["interlock.identity"].roles == ("oncall",)
        book.add("sam", ["admin"], password, replace=True)  # sam becomes an admin
        at.run()
        assert at.session_state["interlock.identity"].roles == ("admin",)
        book.remove("sam")
    at.run()
    assert "interlock.identity" not in at.session_state
    where = "reviewers file" if console.env.url.startswith("sqlite") else "database"
    assert f"reviewer sam is no longer in the {where}" in at.warning[0].value
    assert [b.label for b in at.button] == ["Sign in"]
