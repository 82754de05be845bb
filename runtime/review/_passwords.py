"""scrypt password hashes: `scrypt$n$r$p$salt_b64$hash_b64`, with bounded parameters so a
hand-edited hash can neither ask for gigabytes of memory nor fail with a traceback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["hash_password", "verify_password"]

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAX_WORK = 2**20  # n*r*p: 8x the default, about a second; bounds a hand-edited hash


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # What OpenSSL needs (128*r*(n+p+2)) plus slack: a smaller maxmem fails on tiny params.
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32
    )


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt_b64$hash_b64` for `password`, with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        msg = "password_hash must look like scrypt$n$r$p$salt_b64$hash_b64"
        raise ValueError(msg)
    n, r, p = (int(x) for x in parts[1:4])
    # Bounds keep a hand-edited file from asking for gigabytes of memory.
    if not (
        2 <= n <= 2**17
        and n & (n - 1) == 0
        and 1 <= r <= 32
        and 1 <= p <= 16
        and n * r * p <= _SCRYPT_MAX_WORK
    ):
        msg = (
            f"scrypt parameters out of range (n={n}, r={r}, p={p}; allowed: n a power of two "
            f"from 2 to {2**17}, r 1-32, p 1-16, n*r*p at most {_SCRYPT_MAX_WORK})"
        )
        raise ValueError(msg)
    salt = base64.b64decode(parts[4], validate=True)
    digest = base64.b64decode(parts[5], validate=True)
    return n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded`; compares in constant time."""
    try:
        n, r, p, salt, digest = _parse_hash(encoded)
    except ValueError:
        return False
    try:
        computed = _scrypt(password, salt, n, r, p)
    except (ValueError, MemoryError):  # parameters this machine cannot run: not a match
        return False
    return hmac.compare_digest(computed, digest)
