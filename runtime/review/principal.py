"""Authenticated principals: the only identity the decision service accepts.

A `Principal` is a `Reviewer` that an authenticator vouched for: a password checked against
the reviewers store (`Reviewers.authenticate`, `DatabaseReviewers.authenticate`,
`Authenticator.password`), OIDC claims mapped to a stored reviewer (`Authenticator.oidc`), or
a session token this process signed (`Authenticator.session`). Each one carries a tag, an
HMAC over its fields under a secret drawn when this module is imported; constructing one by
hand, copying one with other roles (`dataclasses.replace`) or bringing one from another
process (pickle) gives a tag that does not verify, and `DecisionService` checks the tag again
before anything is recorded. A plain `Reviewer(name=..., roles=...)` is refused with one
AuthorizationError line.

This guards the API against a forged identity, not against code that runs inside the same
Python process and reads its memory: the agent side's boundary is the process (it holds no
signing key and, on Postgres, a role that cannot write decisions or approvals).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from interlock.risk import canonical_json
from interlock.risk.errors import AuthorizationError, NotFoundError
from interlock.runtime.review.reviewers import Reviewer

__all__ = ["AuthMethod", "Authenticator", "Principal", "principal_for", "vouched"]

AuthMethod = Literal["password", "oidc", "session"]
_SECRET = secrets.token_bytes(32)
_DEFAULT_CLAIMS = ("email", "preferred_username", "name")


def _tag(name: str, roles: tuple[str, ...], display: str | None, demo: bool, method: str) -> str:
    body = canonical_json([name, list(roles), display, demo, method]).encode("utf-8")
    return hmac.new(_SECRET, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Principal(Reviewer):
    """A reviewer as authenticated by this process. Only authenticators create one."""

    method: str = "password"
    tag: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not vouched(self):
            msg = (
                f"a Principal for {self.name!r} was not issued by an authenticator; "
                "authenticate first (rt.authenticate(name, password) or an Authenticator)."
            )
            raise AuthorizationError(msg)


def vouched(who: object) -> bool:
    """True when `who` is a Principal this process's authenticators issued, unchanged."""
    if not isinstance(who, Principal):
        return False
    want = _tag(who.name, tuple(who.roles), who.display, who.demo, who.method)
    return hmac.compare_digest(str(who.tag), want)


def principal_for(reviewer: Reviewer, method: AuthMethod) -> Principal:
    """The principal for a reviewer an authenticator has just checked (never the hash)."""
    roles = tuple(reviewer.roles)
    return Principal(
        name=reviewer.name,
        roles=roles,
        display=reviewer.display,
        demo=reviewer.demo,
        method=method,
        tag=_tag(reviewer.name, roles, reviewer.display, reviewer.demo, method),
    )


class ReviewerStore(Protocol):
    def get(self, name: str) -> Reviewer: ...

    def authenticate(self, name: str, password: str) -> Reviewer: ...

    def __contains__(self, name: object) -> bool: ...


class Authenticator:
    """Turns proof of identity into a `Principal`, against one reviewers store (the file
    in the embedded mode, the database's table on Postgres)."""

    def __init__(self, store: ReviewerStore, *, session_secret: bytes | None = None) -> None:
        self.store = store
        self._session_secret = session_secret or secrets.token_bytes(32)

    def password(self, name: str, password: str) -> Principal:
        """Name and password checked against the store's scrypt hash."""
        return principal_for(self.store.authenticate(name, password), "password")

    def oidc(
        self, claims: Mapping[str, Any], *, names: Iterable[str] = _DEFAULT_CLAIMS
    ) -> Principal:
        """The stored reviewer named by the first of `names` (claims of a verified OIDC
        login: e-mail, then preferred_username, then name) that the store knows."""
        tried = [str(claims[k]) for k in names if isinstance(claims.get(k), str) and claims[k]]
        for name in tried:
            if name in self.store:
                return principal_for(self.store.get(name), "oidc")
        shown = ", ".join(repr(n) for n in tried) or "no usable claim"
        msg = f"the signed-in account ({shown}) names no reviewer; an administrator adds one."
        raise NotFoundError(msg)

    def refresh(self, who: Principal) -> Principal:
        """`who` again, with the roles the store holds now (NotFoundError when removed)."""
        if not vouched(who):
            msg = f"{who.name!r} is not an authenticated principal; sign in again."
            raise AuthorizationError(msg)
        method: AuthMethod = "oidc" if who.method == "oidc" else "password"
        if who.method == "session":
            method = "session"
        return principal_for(self.store.get(who.name), method)

    def issue_session(self, who: Principal, *, ttl_s: float = 8 * 3600) -> str:
        """A session token for `who`, valid for `ttl_s` seconds with this authenticator."""
        if not vouched(who):
            msg = f"{who.name!r} is not an authenticated principal; sign in first."
            raise AuthorizationError(msg)
        body = canonical_json({"name": who.name, "exp": int(time.time() + ttl_s)})
        mac = hmac.new(self._session_secret, body.encode(), hashlib.sha256).hexdigest()
        return base64.urlsafe_b64encode(body.encode()).decode() + "." + mac

    def session(self, token: str) -> Principal:
        """The principal of a token from `issue_session`, with the store's current roles."""
        bad = AuthorizationError("the session token is invalid or expired; sign in again.")
        head, _, mac = str(token).partition(".")
        try:
            body = base64.urlsafe_b64decode(head.encode()).decode()
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise bad from None
        want = hmac.new(self._session_secret, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, want) or not isinstance(data, dict):
            raise bad
        if float(data.get("exp", 0)) < time.time():
            raise bad
        return principal_for(self.store.get(str(data.get("name"))), "session")
