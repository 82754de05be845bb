"""`interlock key create | rotate | show`: the Ed25519 keys approvals are signed with.

The private key belongs to the reviewer side only (`INTERLOCK_SIGNING_KEY`: the console and
the CLI's decisions sign with it); the agent side (workers, graphs on LangGraph Server) gets
the public keys alone (`INTERLOCK_PUBLIC_KEYS`, a file or a directory of `<key id>.pub`).
Defaults: the private key `$INTERLOCK_SIGNING_KEY`, else `./.interlock/keys/signing.key`;
the public directory `$INTERLOCK_PUBLIC_KEYS`, else `public/` beside the private key (the
embedded SQLite mode's local pair).

Rotation writes a new private key and adds its public key; the old public key file stays, so
approvals it signed stay valid until they expire (the approval TTL, one hour by default).
Remove the old `.pub` file once that time has passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interlock.risk.errors import ConfigError
from interlock.runtime.store.settings import Settings
from interlock.ui._output import console, print_json

__all__ = ["keys_app"]

DEFAULT_KEY = Path("./.interlock/keys/signing.key")

keys_app = typer.Typer(
    help="Manage the Ed25519 key approvals are signed with (reviewer side) and the public "
    "keys guarded execution verifies them with (agent side).",
    no_args_is_help=True,
)

KeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--key",
        metavar="PATH",
        help="Private key file. Default: $INTERLOCK_SIGNING_KEY, else "
        "./.interlock/keys/signing.key.",
        show_default=False,
    ),
]
PublicOpt = Annotated[
    Path | None,
    typer.Option(
        "--public-dir",
        metavar="DIR",
        help="Directory of public keys. Default: $INTERLOCK_PUBLIC_KEYS, else public/ beside "
        "the private key.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _paths(key: Path | None, public_dir: Path | None) -> tuple[Path, Path]:
    settings = Settings.from_env()
    private = key or settings.signing_key or DEFAULT_KEY
    folder = public_dir or settings.public_keys or private.parent / "public"
    if folder.exists() and not folder.is_dir():
        msg = (
            f"public keys {folder} is a file; `interlock key` writes `<key id>.pub` files into "
            "a directory: pass --public-dir DIR (and point INTERLOCK_PUBLIC_KEYS at it)."
        )
        raise ConfigError(msg)
    return private, folder


@keys_app.command("create")
def create(key: KeyOpt = None, public_dir: PublicOpt = None, as_json: JsonOpt = False) -> None:
    """Create a signing key (mode 600) and write its public key into the public directory."""
    from interlock.runtime.review.keys import create_key

    private, folder = _paths(key, public_dir)
    signer, public_file = create_key(private, folder)
    info = {
        "key_id": signer.key_id,
        "private_key": str(private),
        "public_key_file": str(public_file),
        "public_key": signer.public_pem(),
    }
    if as_json:
        print_json(info)
        return
    console.print(f"created signing key {signer.key_id}")
    console.print(f"  private key (reviewer side only, mode 600): {private}")
    console.print(f"  public key (give this to the agent side):   {public_file}")
    console.print(signer.public_pem().rstrip(), markup=False)


@keys_app.command("rotate")
def rotate(key: KeyOpt = None, public_dir: PublicOpt = None, as_json: JsonOpt = False) -> None:
    """Replace the signing key with a new one; the old public key stays trusted."""
    from interlock.runtime.review.keys import rotate_key

    private, folder = _paths(key, public_dir)
    old, new, public_file = rotate_key(private, folder)
    info = {
        "old_key_id": old.key_id,
        "key_id": new.key_id,
        "private_key": str(private),
        "public_key_file": str(public_file),
        "public_key": new.public_pem(),
    }
    if as_json:
        print_json(info)
        return
    console.print(f"rotated: new signing key {new.key_id} (was {old.key_id})")
    console.print(f"  new public key: {public_file}")
    console.print(
        f"  {folder / (old.key_id + '.pub')} stays, so approvals signed with {old.key_id} stay "
        "valid until they expire; remove it after the approval TTL (1 h by default)."
    )


@keys_app.command("show")
def show(key: KeyOpt = None, public_dir: PublicOpt = None, as_json: JsonOpt = False) -> None:
    """Public information only: the signing key's id and public key, and the trusted keys."""
    from interlock.runtime.review.signing import KeyRing, load_signer

    private, folder = _paths(key, public_dir)
    named = key is not None or Settings.from_env().signing_key is not None
    signing = load_signer(private) if named or private.exists() else None
    ring = KeyRing([folder])
    info = {
        "signing_key_id": signing.key_id if signing else None,
        "signing_public_key": signing.public_pem() if signing else None,
        "public_keys": str(folder),
        "trusted_key_ids": list(ring.key_ids),
    }
    if as_json:
        print_json(info)
        return
    if signing is None:
        console.print(f"no signing key at {private} (this process cannot sign approvals)")
    else:
        console.print(f"signing key {signing.key_id} ({private})")
        console.print(signing.public_pem().rstrip(), markup=False)
    trusted = ", ".join(ring.key_ids) or "none"
    console.print(f"trusted public keys in {folder}: {trusted}")
