"""How two identities are compared: stripped and casefolded, so `Alice`, `alice` and
` ALICE ` are one person for separation of duties, N distinct approvers and reviewer names."""

from __future__ import annotations

__all__ = ["identity_key", "same_identity"]


def identity_key(name: str) -> str:
    """`name` normalised for comparison (not for display)."""
    return name.strip().casefold()


def same_identity(a: str | None, b: str | None) -> bool:
    """True when both are set and name the same person."""
    return bool(a) and bool(b) and identity_key(str(a)) == identity_key(str(b))
