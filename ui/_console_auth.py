"""Who is using the console. The only code that sets the signed-in identity.

- OIDC through `st.login` when `.streamlit/secrets.toml` has an `[auth]` section. The
  provider's e-mail (or, failing that, its `preferred_username`/`name` claim) must name a
  reviewer in the reviewers file, which gives the roles; an identity the file does not know
  may read nothing.
- Otherwise name and password, checked against the scrypt hash of the reviewers: the
  database's `interlock_reviewers` on Postgres, the local reviewers file in the embedded
  SQLite mode (which trusts the local user).

The identity lives in `st.session_state` under a key no widget uses; decisions take it from
here (through `signed_in()`), never from a form field. A password sign-in also gets a session
cookie (`_console_session`), so a reload or a new tab signs in again without the form until
it expires or the reviewer signs out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import streamlit as st

from interlock.risk.errors import AuthorizationError, NotFoundError
from interlock.runtime import Authenticator, Principal, Reviewer, ReviewerBook
from interlock.ui._console_render import code_span, esc
from interlock.ui._console_session import (
    COOKIE,
    clear_cookie,
    keeper,
    session_hours,
    write_cookie,
)
from interlock.ui._console_state import get_runtime

__all__ = [
    "oidc_providers",
    "refresh_identity",
    "require_reviewer",
    "safe_label",
    "session_cookie",
    "session_revoked",
    "sidebar_identity",
    "sign_in_page",
    "signed_in",
]

_IDENTITY = "interlock.identity"
_METHOD = "interlock.identity_method"
_GONE = "interlock.identity_gone"
_SESSION = "interlock.session_token"
_CLEAR = "interlock.clear_cookie"
_PASSWORD_IN_LABEL = re.compile(r",?\s*password\s*[:=][^)]*", re.IGNORECASE)


def oidc_providers() -> list[str | None]:
    """Configured `st.login` providers: `[None]` for a bare `[auth]`, else the named ones."""
    try:
        if not st.secrets.load_if_toml_exists():
            return []
        section = st.secrets.get("auth")
    except Exception:  # an unreadable secrets file means no OIDC, not a crash
        return []
    if not isinstance(section, Mapping) or not section:
        return []
    if "client_id" in section or "server_metadata_url" in section:
        return [None]
    return [str(name) for name, sub in section.items() if isinstance(sub, Mapping)]


def signed_in() -> Principal | None:
    """The authenticated reviewer of this session, if any: a `Principal` an authenticator
    issued (decisions accept nothing else)."""
    who = st.session_state.get(_IDENTITY)
    return who if isinstance(who, Principal) else None


def _book() -> ReviewerBook:
    # Read the reviewers again (a small TOML file, or the database's table on Postgres):
    # reviewers added, removed or given other roles with `interlock reviewers ...` count at
    # once, without restarting the console.
    return get_runtime().reviewers.reload()


def refresh_identity() -> None:
    """Keep the session's identity in step with the reviewers file, once per run.

    A reviewer removed from the file is signed out; changed roles apply from the next click.
    Nobody signed in yet: a valid session cookie (a reload, a new tab) signs them in again.
    A session whose token was revoked (signed out in another tab) ends here.
    """
    who = signed_in()
    if who is None:
        _from_cookie()
        return
    token = st.session_state.get(_SESSION)
    if isinstance(token, str) and keeper().revoked(token):
        _sign_out()
        st.rerun()
    book = _book()
    if who.name not in book:
        _sign_out()
        st.session_state[_GONE] = who.name
        st.rerun()
    current = book.get(who.name)
    if current.roles != who.roles or current.display != who.display:
        st.session_state[_IDENTITY] = Authenticator(book).refresh(who)


def require_reviewer() -> Principal:
    """The signed-in reviewer; a page that needs one stops here when nobody is."""
    who = signed_in()
    if who is None:
        st.warning("Sign in first.", icon=":material/lock:")
        st.stop()
    assert who is not None
    return who


def _from_cookie() -> None:
    token = st.context.cookies.get(COOKIE)
    if not isinstance(token, str) or not token:  # AppTest has no browser cookies
        return
    who = keeper().resume(_book(), token)
    if who is None:  # expired, revoked, from an earlier console process: forget it
        st.session_state[_CLEAR] = True
        return
    _set_identity(who, "session")
    st.session_state[_SESSION] = token


def _set_identity(reviewer: Principal, method: str) -> None:
    st.session_state[_IDENTITY] = reviewer
    st.session_state[_METHOD] = method
    st.session_state.pop(_CLEAR, None)
    hours = session_hours()
    if method == "password" and hours > 0:
        st.session_state[_SESSION] = keeper().issue(_book(), reviewer, hours=hours)


def session_revoked() -> bool:
    """True when this session's token was revoked (signed out in another tab)."""
    token = st.session_state.get(_SESSION)
    return isinstance(token, str) and keeper().revoked(token)


def session_cookie() -> None:
    """Keep the browser's session cookie in step with this session (once per run)."""
    token = st.session_state.get(_SESSION)
    if isinstance(token, str) and signed_in() is not None:
        write_cookie(token, session_hours())
    elif st.session_state.get(_CLEAR):
        clear_cookie()


def _sign_out() -> None:
    method = st.session_state.get(_METHOD)
    for token in (st.session_state.get(_SESSION), st.context.cookies.get(COOKIE)):
        if isinstance(token, str) and token:
            keeper().revoke(token)  # refused from now on, whoever holds a copy
    for key in list(st.session_state.keys()):
        del st.session_state[key]  # nothing a previous reviewer typed survives
    st.session_state[_CLEAR] = True
    if method == "oidc":
        st.logout()


def _oidc_identity() -> None:
    """Map a logged-in OIDC user to a reviewer, or explain why that is not possible."""
    user: Mapping[str, Any] = st.user
    claims = [user.get(k) for k in ("email", "preferred_username", "name")]
    names = [str(c) for c in claims if isinstance(c, str) and c]
    reviewers = _book()
    if any(name in reviewers for name in names):
        _set_identity(Authenticator(reviewers).oidc(user), "oidc")
        return
    shown = names[0] if names else "this account"
    st.error(
        f"You are signed in as **{esc(shown)}**, but no reviewer of that name exists, so "
        "the console shows nothing. An administrator can add you with "
        f"{code_span(f'interlock reviewers add {shown} --role ROLE')}.",
        icon=":material/block:",
    )
    if st.button("Sign out", key="auth_oidc_unknown_logout"):
        st.logout()
    st.stop()


def sign_in_page() -> None:
    """The page shown before anyone is signed in."""
    st.title("Interlock reviewer console")
    providers = oidc_providers()
    if providers:
        if st.user.get("is_logged_in"):
            _oidc_identity()
            st.rerun()
        st.write("Sign in with your organisation's account.")
        for provider in providers:
            label = f"Sign in with {provider}" if provider else "Sign in"
            if st.button(label, key=f"auth_login_{provider or 'default'}", type="primary"):
                st.login(provider)
        return
    book = _book()
    gone = st.session_state.pop(_GONE, None)
    if gone:
        st.warning(
            f"You were signed out: reviewer {esc(gone)} is no longer in the "
            f"{'database' if _book().path is None else 'reviewers file'}.",
            icon=":material/person_off:",
        )
    st.write("Sign in with your name and password from the reviewers file.")
    demo = sorted(r.name for r in book if r.demo)
    if demo:
        st.caption(
            "Demo accounts exist: " + ", ".join(map(code_span, demo)) + ". `interlock demo` "
            "printed their password where it ran."
        )
    with st.form("auth_form", border=True):
        name = st.text_input("Name", key="auth_name", autocomplete="username")
        password = st.text_input(
            "Password", key="auth_password", type="password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary", key="auth_submit")
    if submitted:
        try:
            reviewer = Authenticator(book).password(name.strip(), password)
        except (AuthorizationError, NotFoundError):
            # One message for both: the form must not reveal which names exist.
            st.error("Wrong name or password.", icon=":material/lock:")
        else:
            _set_identity(reviewer, "password")
            st.rerun()
    if not len(book):
        st.info(
            f"No reviewers are set up yet ({esc(book.path)}). Add one with "
            "`interlock reviewers add NAME --role oncall`.",
            icon=":material/info:",
        )


def safe_label(reviewer: Reviewer) -> str:
    """The reviewer's label without a password in it (demo accounts made by earlier versions
    carried ", password: ..." in their display name)."""
    return _PASSWORD_IN_LABEL.sub("", reviewer.label)


def sidebar_identity(reviewer: Principal) -> None:
    """Who is signed in, their roles, and the way out."""
    with st.sidebar:
        st.markdown(f"Signed in as **{esc(safe_label(reviewer))}**")
        st.markdown("Roles: " + ", ".join(code_span(r) for r in reviewer.roles))
        if st.button("Sign out", key="auth_sign_out"):
            _sign_out()
            st.rerun()
