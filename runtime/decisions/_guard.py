"""Only an authenticated principal decides: the refusal of anything else, audited."""

from __future__ import annotations

from interlock.risk.errors import AuthorizationError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.review.principal import vouched

__all__ = ["require_principal"]


def require_principal(audit: AuditLog, who: object, review_id: object) -> None:
    """Only a principal an authenticator issued in this process decides: a hand-made
    `Reviewer` (or a Principal copied, altered or brought from elsewhere) records nothing
    but the refusal, audited as `decision_refused`."""
    if vouched(who):
        return
    name = getattr(who, "name", None)
    got = f"{type(who).__name__} {name!r}" if name else type(who).__name__
    msg = (
        f"decisions take an authenticated principal, got a {got} that no authenticator "
        "issued; authenticate first (rt.authenticate(name, password), or an "
        "Authenticator for OIDC and sessions). Nothing was recorded."
    )
    exc = AuthorizationError(msg)
    audit.append(
        "decision_refused",
        actor=f"unauthenticated:{str(name)[:64]}",
        review_id=review_id if isinstance(review_id, str) else None,
        data={
            "error": type(exc).__name__,
            "reason": msg,
            "claimed_roles": list(getattr(who, "roles", ()) or ())[:8],
        },
    )
    raise exc
