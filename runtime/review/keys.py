"""Key files: create and rotate the reviewer side's Ed25519 key pair (`interlock key`).

The private key is written mode 600 and never over an existing file (rotation replaces it
atomically); public keys are `<key id>.pub` PEM files in a directory, read by `KeyRing`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from interlock.risk.errors import ConfigError
from interlock.runtime.review.signing import Signer, key_id, load_signer, public_pem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = ["create_key", "rotate_key"]


def _write_private_key(path: Path, key: Ed25519PrivateKey, *, replace_existing: bool) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        if replace_existing:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails when the file appeared meanwhile: never overwrite
            finally:
                tmp.unlink()
    except FileExistsError:
        msg = f"signing key file {path} already exists; use `interlock key rotate` to replace it."
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"cannot write signing key file {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from None


def _write_public(public_dir: Path, public: Ed25519PublicKey) -> Path:
    target = public_dir / f"{key_id(public)}.pub"
    try:
        public_dir.mkdir(parents=True, exist_ok=True)
        target.write_bytes(public_pem(public))
    except OSError as exc:
        msg = f"cannot write public key file {target}: {exc.strerror or exc}"
        raise ConfigError(msg) from None
    return target


def create_key(private_path: Path, public_dir: Path) -> tuple[Signer, Path]:
    """A new key pair: the private key at `private_path` (mode 600; refused if it exists),
    the public key as `<key id>.pub` in `public_dir`."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if private_path.exists():
        msg = (
            f"signing key file {private_path} already exists; use `interlock key rotate` to "
            "replace it, or `interlock key show` to see it."
        )
        raise ConfigError(msg)
    key = Ed25519PrivateKey.generate()
    _write_private_key(private_path, key, replace_existing=False)
    return Signer(key_id=key_id(key.public_key()), private=key, path=private_path), _write_public(
        public_dir, key.public_key()
    )


def rotate_key(private_path: Path, public_dir: Path) -> tuple[Signer, Signer, Path]:
    """Replace the private key at `private_path` with a new one; (old, new, new public
    file). The old public key file stays in `public_dir` (written if it was missing), so
    approvals it signed stay valid until they expire."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    old = load_signer(private_path)
    _write_public(public_dir, old.public)
    key = Ed25519PrivateKey.generate()
    _write_private_key(private_path, key, replace_existing=True)
    new = Signer(key_id=key_id(key.public_key()), private=key, path=private_path)
    return old, new, _write_public(public_dir, key.public_key())
