"""Console sessions that survive a reload and a new tab, for a bounded time.

After a password sign-in the console issues a session token with the runtime's
`Authenticator.issue_session` (an HMAC-signed name and expiry; no crypto of our own) and keeps
it in the browser cookie `interlock_session` (`Path=/`, `SameSite=Strict`, `Secure` over
https). A new websocket (F5, a new tab, a deep link) sends the cookie, `st.context.cookies`
reads it, and `Authenticator.session` turns it back into a principal with the roles the
reviewers store holds now. The token is never put in the URL.

- Lifetime: `INTERLOCK_CONSOLE_SESSION_HOURS` (default 8; 0 turns the cookie off).
- Signing out revokes the token here, server-side: a copy of the old cookie is refused
  afterwards, and other tabs of the same session are signed out at their next run.
- The signing secret and the revocations live in this console process (a
  `st.cache_resource`), so restarting the console signs everybody out; run one console
  process per deployment (or sticky sessions) for the cookie to carry between tabs.

Setting the cookie needs a few lines of our own JavaScript in the page (`st.html` with
`unsafe_allow_javascript`): a fixed script whose only variable part is the token, whose
characters are base64url, hex and a dot. JavaScript can read the cookie (it cannot be
`HttpOnly`); the console shows no agent HTML that could run script (see `_console_render`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from interlock.risk.errors import AuthorizationError, ConfigError, NotFoundError
from interlock.runtime import Authenticator, Principal, ReviewerBook

__all__ = [
    "COOKIE",
    "DEFAULT_HOURS",
    "HOURS_ENV",
    "SessionKeeper",
    "clear_cookie",
    "keeper",
    "session_hours",
    "write_cookie",
]

COOKIE = "interlock_session"
HOURS_ENV = "INTERLOCK_CONSOLE_SESSION_HOURS"
DEFAULT_HOURS = 8.0
_TOKEN = re.compile(r"^[A-Za-z0-9_=-]+\.[0-9a-f]{64}$")


def session_hours(environ: dict[str, str] | None = None) -> float:
    """How long a console session lasts, from `INTERLOCK_CONSOLE_SESSION_HOURS`."""
    raw = (os.environ if environ is None else environ).get(HOURS_ENV, "").strip()
    if not raw:
        return DEFAULT_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 24 * 30:
        msg = (
            f"{HOURS_ENV}={raw!r} is not a number of hours between 0 and 720; "
            f"set it to e.g. 8 (the default), or 0 to sign in on every visit."
        )
        raise ConfigError(msg)
    return hours


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(kw_only=True)
class SessionKeeper:
    """Issues, checks and revokes this console process's session tokens."""

    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _revoked: dict[str, float] = field(default_factory=dict)  # token digest -> its expiry
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _auth(self, book: ReviewerBook) -> Authenticator:
        return Authenticator(book, session_secret=self.secret)

    def issue(self, book: ReviewerBook, who: Principal, *, hours: float) -> str:
        """A token for `who`, valid for `hours`."""
        return self._auth(book).issue_session(who, ttl_s=hours * 3600)

    def resume(self, book: ReviewerBook, token: str | None) -> Principal | None:
        """The principal of a token that is well formed, signed here, unexpired and not
        revoked; None otherwise (and for a reviewer no longer in the store)."""
        if not token or not _TOKEN.match(token) or self.revoked(token):
            return None
        try:
            return self._auth(book).session(token)
        except (AuthorizationError, NotFoundError):
            return None

    def revoked(self, token: str) -> bool:
        with self._lock:
            return _digest(token) in self._revoked

    def revoke(self, token: str) -> None:
        """Refuse `token` from now on (kept until it would have expired anyway)."""
        now = time.time()
        with self._lock:
            # Forget revocations of tokens that have expired: those are refused anyway.
            for key in [k for k, exp in self._revoked.items() if exp < now]:
                del self._revoked[key]
            self._revoked[_digest(token)] = now + 24 * 30 * 3600


@st.cache_resource(show_spinner=False)
def keeper() -> SessionKeeper:
    """The console process's one session keeper (shared by every browser session)."""
    return SessionKeeper()


def _secure() -> str:
    url = st.context.url
    return "; Secure" if isinstance(url, str) and url.startswith("https://") else ""


def write_cookie(token: str, hours: float) -> None:
    """Store the session token in the browser (a same-origin script of our own)."""
    if not _TOKEN.match(token):  # never let anything else into the script
        return
    max_age = int(hours * 3600)
    st.html(
        "<script>document.cookie = "
        f'"{COOKIE}={token}; Max-Age={max_age}; Path=/; SameSite=Strict{_secure()}";'
        "</script>",
        unsafe_allow_javascript=True,
    )


def clear_cookie() -> None:
    """Delete the session cookie from the browser."""
    st.html(
        f'<script>document.cookie = "{COOKIE}=; Max-Age=0; Path=/; SameSite=Strict";</script>',
        unsafe_allow_javascript=True,
    )
