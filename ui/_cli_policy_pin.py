"""`interlock policy publish | pinned`: the policy every runtime on a database must run.

Publishing is an admin's act on the reviewer side (on Postgres, the reviewer role's URL: the
agent role may only read the pin); signing in works as for `interlock decide`
(`_cli_review`). See `interlock.runtime.review.policy_pin`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from interlock.risk.errors import ConfigError
from interlock.ui._cli_review import AsOpt, DbOpt, JsonOpt, ReviewersOpt, StdinOpt, _login
from interlock.ui._output import console, print_json

if TYPE_CHECKING:
    from interlock.risk import Policy

__all__ = ["register_pin_commands"]

FileArg = Annotated[
    Path | None,
    typer.Argument(
        help="Policy YAML file to pin. Default: $INTERLOCK_POLICY, else the bundled default.",
        show_default=False,
    ),
]


def _url(db: str | None) -> str:
    from interlock.runtime import Settings

    return db or Settings.from_env().database_url


def _pinned(url: str) -> Policy | None:
    """The policy pinned now (the database migrated first), read before the runtime opens:
    the runtime then opens with it, whatever this shell's INTERLOCK_POLICY says."""
    from interlock.runtime import AuditLog, PolicyPin
    from interlock.runtime.store import open_database, upgrade_database

    db = open_database(url, create=False)
    try:
        upgrade_database(db)
        return PolicyPin(db, AuditLog(db)).load()
    finally:
        db.close()


def _text(file: Path | None) -> tuple[str, str]:
    """The YAML text to publish and where it came from."""
    import os

    from interlock.risk import bundled_policy_path

    if file is None and os.environ.get("INTERLOCK_POLICY"):
        file = Path(os.environ["INTERLOCK_POLICY"])
    path = file or bundled_policy_path("default")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        msg = f"cannot read policy file {path}: {why}."
        raise ConfigError(msg) from None


def publish_command(
    as_: AsOpt,
    file: FileArg = None,
    password_stdin: StdinOpt = False,
    reviewers: ReviewersOpt = None,
    db: DbOpt = None,
) -> None:
    """Pin a policy (admin): every runtime on this database runs it, and refuses to open
    with another. Validated before anything changes; audited."""
    from interlock.risk import policy_from_text
    from interlock.runtime import Runtime

    text, source = _text(file)
    candidate = policy_from_text(text, source)  # a policy error: one line, nothing opened
    url = _url(db)
    with Runtime.open(url, policy=_pinned(url), reviewers_path=reviewers, create=False) as rt:
        who = _login(rt, as_, password_stdin)
        before = rt.policy_pin.current()
        pin = rt.policy_pin.publish(text, by=who, source=source)
    if before is not None and before.version == pin.version:
        console.print(
            f"policy {pin.name} {pin.version} is already the pinned one; nothing changed."
        )
        return
    replaced = f" (replacing {before.name} {before.version})" if before is not None else ""
    console.print(
        f"pinned policy {candidate.name} {pin.version}{replaced}: every runtime on this "
        "database now runs it and refuses another."
    )


def pinned_command(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Show the pinned policy (its version, who published it and when)."""
    from interlock.runtime import AuditLog, PolicyPin
    from interlock.runtime.store import open_database, require_schema

    url = _url(db)
    database = open_database(url, create=False)
    try:
        require_schema(database)
        pin = PolicyPin(database, AuditLog(database)).current()
    finally:
        database.close()
    if as_json:
        print_json(pin.to_dict() if pin is not None else None)
        return
    if pin is None:
        console.print(
            "No policy is pinned: each runtime runs the policy its own configuration names. "
            "Pin one with `interlock policy publish FILE --as ADMIN`."
        )
        return
    console.print(
        f"pinned: {pin.name} {pin.version}, published by {pin.actor} at "
        f"{pin.published_at.isoformat()}"
    )


def register_pin_commands(app: typer.Typer) -> None:
    app.command("publish")(publish_command)
    app.command("pinned")(pinned_command)
