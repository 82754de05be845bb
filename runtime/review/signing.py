"""Signed approvals: the reviewer side signs, the agent side verifies with public keys only.

An approval row in the database is not enough to run anything: guarded execution runs an
approved action only when the approval carries an Ed25519 signature, by a key whose PUBLIC
half this process trusts, over the canonical encoding of what makes the approval unique
(`approval_message`): the action digest (which binds the tool, its arguments, the thread,
the interrupt and the policy version), the approvers (normalised names), the issue and
expiry times, the policy version, the review and action it settles, and the key id. A
process holding only the database URL and the public keys (the agent side) cannot mint one.

Key files (see `interlock key create|rotate|show`):

- the private key: PEM (PKCS#8, unencrypted), mode 600, named by `INTERLOCK_SIGNING_KEY`;
  only the reviewer side (console, CLI decisions) holds it;
- the public keys: PEM files `<key id>.pub` in a directory (or one file) named by
  `INTERLOCK_PUBLIC_KEYS`. Rotation writes a new private key and adds its public key; the
  old public key stays, so approvals it signed stay valid until they expire (at most the
  approval TTL, one hour by default); delete its file after that.

The embedded SQLite mode with no keys configured keeps a local pair in `keys/` next to the
database file (`./.interlock/keys/` for the default URL), created on first use: that mode
trusts the local user.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interlock.risk import canonical_json
from interlock.risk.errors import ConfigError
from interlock.runtime.store._db import iso_utc, parse_database_url

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from interlock.nodes import Approval
    from interlock.runtime.store.settings import Settings

__all__ = [
    "KeyRing",
    "Signer",
    "approval_message",
    "key_id",
    "load_signer",
    "local_key_paths",
    "normalise_name",
    "public_pem",
    "public_ring",
    "signer_for",
]

_CONTEXT = b"interlock-approval-v1\n"
_PUBLIC_SUFFIXES = (".pub", ".pem")
_VOUCHED_KEPT = 1024
"""Signatures this process made and remembers (`KeyRing.vouched`); older ones verify."""


def normalise_name(name: str) -> str:
    """A reviewer name as signatures and separation of duties compare it."""
    return name.strip().casefold()


def approval_message(a: Approval) -> bytes:
    """The exact bytes an approval's signature covers."""
    body = {
        "digest": a.digest,
        "tool": a.tool,
        "thread_id": a.thread_id,
        "interrupt_id": a.interrupt_id,
        "tool_call_id": a.tool_call_id,
        "review_id": a.review_id,
        "action_index": a.action_index,
        "reviewers": sorted({normalise_name(r) for r in a.reviewers}),
        "roles": sorted(set(a.roles)),
        "issued_at": iso_utc(a.issued_at),
        "expires_at": iso_utc(a.expires_at),
        "policy_version": a.policy_version,
        "key_id": a.key_id,
    }
    return _CONTEXT + canonical_json(body).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: 16 hex digits of SHA-256 of its raw bytes."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    """`public` as a PEM (SubjectPublicKeyInfo) file holds it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Signer:
    """The reviewer side's private key."""

    key_id: str
    private: Ed25519PrivateKey
    path: Path
    vouch: Callable[[str, bytes], None] | None = field(default=None, compare=False, repr=False)
    """Told (signature, message) of every approval signed: see `KeyRing.vouched`."""
    _fast: Any = field(init=False, default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fast", _fast_signer(self.private))

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def public_pem(self) -> str:
        return public_pem(self.public).decode("ascii")

    def sign(self, approval: Approval) -> Approval:
        """`approval` with this key's id and signature."""
        named = replace(approval, key_id=self.key_id, signature="")
        message = approval_message(named)
        signature = base64.b64encode(self._fast.sign(message).signature).decode("ascii")
        if self.vouch is not None:
            self.vouch(signature, message)
        return replace(named, signature=signature)


# The keys live in PEM files through `cryptography`; the signing and verifying themselves go
# through libsodium (PyNaCl), about twice as fast as OpenSSL's Ed25519 here (issue 12:
# sign + verify <= 0.2 ms). Ed25519 is deterministic: both give the very same signatures.
def _fast_signer(private: Ed25519PrivateKey) -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    from nacl.signing import SigningKey

    return SigningKey(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def _fast_verifier(public: Ed25519PublicKey) -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from nacl.signing import VerifyKey

    return VerifyKey(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        msg = f"{what} {path} does not exist; create one with `interlock key create`."
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"cannot read {what} {path}: {exc.strerror or exc}; check its permissions."
        raise ConfigError(msg) from None


def load_signer(path: str | os.PathLike[str]) -> Signer:
    """The Ed25519 private key in the PEM file `path`, or one ConfigError line."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    where = Path(path)
    data = _read(where, "signing key file")
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        msg = (
            f"signing key file {where} is not an unencrypted PEM private key; "
            "create one with `interlock key create`."
        )
        raise ConfigError(msg) from None
    if not isinstance(key, Ed25519PrivateKey):
        msg = (
            f"signing key file {where} holds a {type(key).__name__}; Interlock signs with Ed25519."
        )
        raise ConfigError(msg)
    return Signer(key_id=key_id(key.public_key()), private=key, path=where)


def _load_public(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = _read(path, "public key file")
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        msg = f"public key file {path} is not a PEM public key; copy it from `interlock key show`."
        raise ConfigError(msg) from None
    if not isinstance(key, Ed25519PublicKey):
        msg = f"public key file {path} holds a {type(key).__name__}; Interlock verifies Ed25519."
        raise ConfigError(msg)
    return key


def _public_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _PUBLIC_SUFFIXES and p.is_file())
    return [path] if path.exists() else []


class KeyRing:
    """The public keys this process trusts, by key id, read from files (never from the
    database, which the agent side can write). An unknown key id re-reads the files once, so
    a long-running worker picks up a rotated key without a restart."""

    def __init__(
        self, sources: Iterable[Path] = (), extra: Iterable[Ed25519PublicKey] = ()
    ) -> None:
        self.sources = tuple(Path(s) for s in sources)
        self._extra = list(extra)
        self._lock = threading.Lock()
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._verifiers: dict[str, Any] = {}
        self._signed: dict[str, bytes] = {}
        self.reload()

    def vouched(self, signer: Signer) -> Signer:
        """`signer`, trusted here, remembering what it signs in this ring.

        An approval this very process signed (a decision resumed in process) then checks as
        a comparison of the exact signed bytes, not ~0.2 ms of curve arithmetic: the
        signature was made here, with a private key whose public half this ring trusts,
        over exactly these bytes, so verifying it could only say yes. A row changed in the
        database no longer matches those bytes and takes the full verification."""
        self.trust(signer.public)
        return replace(signer, vouch=self._vouch)

    def _vouch(self, signature: str, message: bytes) -> None:
        with self._lock:
            if len(self._signed) >= _VOUCHED_KEPT:
                self._signed.pop(next(iter(self._signed)))
            self._signed[signature] = message

    def trust(self, public: Ed25519PublicKey) -> None:
        """Also trust `public` (a signing process trusts its own key)."""
        with self._lock:
            self._extra.append(public)
            self._keys[key_id(public)] = public
            self._verifiers[key_id(public)] = _fast_verifier(public)

    def reload(self) -> None:
        keys = {key_id(k): k for k in self._extra}
        for source in self.sources:
            for file in _public_files(source):
                key = _load_public(file)
                keys[key_id(key)] = key
        verifiers = {kid: _fast_verifier(k) for kid, k in keys.items()}
        with self._lock:
            self._keys, self._verifiers = keys, verifiers

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def why_invalid(self, approval: Approval) -> str | None:
        """None when `approval` carries a valid signature by a trusted key, else why not."""
        from nacl.exceptions import BadSignatureError

        if not approval.signature or not approval.key_id:
            return "the approval is not signed"
        key = self._keys.get(approval.key_id)
        if key is None:
            try:
                self.reload()
            except ConfigError as exc:
                return f"the public keys could not be re-read: {exc}"
            key = self._keys.get(approval.key_id)
        if key is None:
            return f"the approval is signed by key {approval.key_id!r}, which is not trusted here"
        message = approval_message(approval)
        if self._signed.get(approval.signature) == message:
            return None
        try:
            raw = base64.b64decode(approval.signature, validate=True)
            verifier = self._verifiers.get(approval.key_id) or _fast_verifier(key)
            verifier.verify(message, raw)
        except (BadSignatureError, ValueError, TypeError):
            return f"the signature by key {approval.key_id} does not match the approval"
        return None


def local_key_paths(url: str) -> tuple[Path, Path] | None:
    """(private key, public dir) of the embedded mode's local pair for a SQLite `url`:
    `keys/` next to the database file. None for Postgres."""
    parsed = parse_database_url(url)
    if parsed.dialect != "sqlite" or parsed.path is None:
        return None
    folder = parsed.path.parent / "keys"
    return folder / "signing.key", folder / "public"


_LOCAL_LOCK = threading.Lock()


def public_ring(settings: Settings, url: str) -> KeyRing:
    """The public keys this process verifies with: `INTERLOCK_PUBLIC_KEYS`, else (with no
    keys configured at all) the local pair's public folder of a SQLite database; with only
    `INTERLOCK_SIGNING_KEY`, its own public half. A process that signs also trusts its own
    key (`KeyRing.trust`). Postgres with nothing configured trusts no key: approved actions
    are refused until keys are configured."""
    if settings.public_keys is not None:
        return KeyRing([settings.public_keys])
    if settings.signing_key is not None:  # a reviewer-side process (say, its worker)
        return KeyRing(extra=[load_signer(settings.signing_key).public])
    local = local_key_paths(url)
    return KeyRing([local[1]]) if local is not None else KeyRing()


def signer_for(settings: Settings, url: str) -> Signer:
    """The reviewer side's signer: `INTERLOCK_SIGNING_KEY`, else the local pair of a SQLite
    database (created on first use), else one ConfigError line saying what to set."""
    if settings.signing_key is not None:
        return load_signer(settings.signing_key)
    local = local_key_paths(url) if settings.public_keys is None else None
    if local is None:
        msg = (
            "this process cannot sign approvals: set INTERLOCK_SIGNING_KEY to the reviewer "
            "side's private key (create one with `interlock key create`). The agent side "
            "needs only INTERLOCK_PUBLIC_KEYS."
        )
        raise ConfigError(msg)
    from interlock.runtime.review.keys import create_key

    private, public_dir = local
    with _LOCAL_LOCK:
        if not private.exists():
            try:
                create_key(private, public_dir)
            except ConfigError:
                if not private.exists():  # not another process winning the race
                    raise
    return load_signer(private)
