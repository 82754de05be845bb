"""`interlock db ...`, `interlock audit ...` and `interlock reviewers ...`.

Database drivers and LangGraph are imported inside the commands, so `interlock --help`
stays fast and loads neither.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import typer
from rich.table import Table
from rich.text import Text

from interlock.risk.errors import ConfigError
from interlock.runtime.store.settings import Settings
from interlock.ui._output import console, console_err, print_json

if TYPE_CHECKING:
    from interlock.runtime.audit.log import AuditLog

__all__ = ["audit_app", "db_app", "reviewers_app"]

db_app = typer.Typer(help="Create and upgrade Interlock's tables.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify and export the audit log.", no_args_is_help=True)
reviewers_app = typer.Typer(
    help="Manage the local reviewers file (names, roles, password hashes).", no_args_is_help=True
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL. Default: $INTERLOCK_DATABASE_URL, else "
        "sqlite:///./.interlock/interlock.db.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        metavar="PATH",
        help="Reviewers file. Default: $INTERLOCK_REVIEWERS, else ./.interlock/reviewers.toml.",
        show_default=False,
    ),
]


def _url(db: str | None) -> str:
    return db or Settings.from_env().database_url


def _reviewers_path(path: Path | None) -> Path:
    return path or Settings.from_env().reviewers


# -- db ----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create or upgrade Interlock's tables and LangGraph's checkpoint tables. Idempotent."""
    from interlock.runtime import redact_url
    from interlock.runtime.store.migrations import upgrade

    result = upgrade(_url(db))
    if as_json:
        print_json(result.to_dict())
        return
    done = (
        f"applied version(s) {', '.join(map(str, result.applied))}"
        if result.applied
        else "already up to date"
    )
    console.print(f"{redact_url(result.url)}: schema version {result.after} ({done}).")


@db_app.command("status")
def db_status(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Show the database's schema version and the version this Interlock needs."""
    from interlock.runtime import redact_url
    from interlock.runtime.store.database import open_database
    from interlock.runtime.store.migrations import LATEST_VERSION, schema_version

    with open_database(_url(db), create=False) as database:
        version = schema_version(database)
    info = {"url": redact_url(_url(db)), "version": version, "latest": LATEST_VERSION}
    if as_json:
        print_json(info)
        return
    hint = "up to date" if version == LATEST_VERSION else "run `interlock db upgrade`"
    console.print(f"{info['url']}: schema version {version} of {LATEST_VERSION} ({hint}).")


# -- audit -------------------------------------------------------------------------------


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"

    @property
    def literal(self) -> Literal["jsonl", "csv"]:
        return "csv" if self is ExportFormat.csv else "jsonl"


def _parse_since(raw: str | None, flag: str = "--since") -> datetime | None:
    """A date (midnight UTC) or an ISO date-time; without an offset it is taken as UTC."""
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        msg = (
            f"{flag} takes a date or an ISO date-time, like 2026-01-31 or "
            f"2026-01-31T09:00+01:00; got {raw!r}."
        )
        raise ConfigError(msg) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


@audit_app.command("verify")
def audit_verify(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Walk the hash chain. Exit 1 and name the first bad row when any row was changed,
    removed or reordered."""
    from interlock.runtime.audit.log import AuditLog
    from interlock.runtime.store.database import open_database
    from interlock.runtime.store.migrations import require_schema

    with open_database(_url(db), create=False) as database:
        require_schema(database)
        result = AuditLog(database).verify()
    if as_json:
        print_json(result.to_dict())
    elif result.ok:
        console.print(
            Text.assemble(
                ("audit log intact", "bold green"),
                f": {result.rows} row(s), head {result.head_seq} hash {result.head_hash}",
            )
        )
    else:
        console.print(
            Text.assemble(
                ("audit log BROKEN", "bold red"),
                f" at row {result.first_bad_seq}: {result.problem}",
            ),
            soft_wrap=True,
        )
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl (one JSON object a line) or csv.")
    ] = ExportFormat.jsonl,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only rows at or after this date / ISO date-time (UTC unless an offset is given).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Only rows before this date / date-time."),
    ] = None,
    thread: Annotated[
        str | None, typer.Option("--thread", metavar="ID", help="Only this thread's rows.")
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", metavar="NAME", help="Only rows by this actor.")
    ] = None,
    event: Annotated[
        list[str] | None,
        typer.Option("--event", metavar="NAME", help="Only this event (repeat for several)."),
    ] = None,
    db: DbOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write here instead of standard output."),
    ] = None,
) -> None:
    """Export the audit log with each row's prev_hash and hash, so the export can be checked
    on its own. Filters select rows; a filtered export still verifies row by row."""
    from interlock.runtime.audit.log import AuditLog
    from interlock.runtime.store.database import open_database
    from interlock.runtime.store.migrations import require_schema

    filters: dict[str, Any] = {
        "since": _parse_since(since),
        "until": _parse_since(until, "--until"),
        "thread_id": thread,
        "actor": actor,
        "event": event or None,
    }
    with open_database(_url(db), create=False) as database:
        require_schema(database)
        log = AuditLog(database)
        if out is None:
            count = log.export(out=sys.stdout, fmt=fmt.literal, **filters)
        else:
            count = _export_to(log, out, fmt.literal, filters)
    where = "standard output" if out is None else str(out)
    console_err.print(f"exported {count} audit row(s) to {where}.")


def _export_to(
    log: AuditLog, path: Path, fmt: Literal["jsonl", "csv"], filters: dict[str, Any]
) -> int:
    try:
        fh: TextIO = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from None
    with fh:
        return log.export(out=fh, fmt=fmt, **filters)


# -- reviewers ---------------------------------------------------------------------------


@reviewers_app.command("add")
def reviewers_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. alice.")],
    role: Annotated[
        list[str],
        typer.Option("--role", "-r", help="A role this reviewer holds; repeat for several."),
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
    display: Annotated[
        str | None, typer.Option("--display", help="Full name shown in the console.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Update an existing reviewer's roles and password.")
    ] = False,
    file: FileOpt = None,
) -> None:
    """Add a reviewer (prompting for the password unless --password-stdin)."""
    from interlock.runtime.review.reviewers import Reviewers

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    path = _reviewers_path(file)
    reviewer = Reviewers.load(path).add(name, role, password, display=display, replace=replace)
    verb = "updated" if replace else "added"
    console.print(
        f"{verb} reviewer {reviewer.name} (roles: {', '.join(reviewer.roles)}) in {path}."
    )


@reviewers_app.command("list")
def reviewers_list(file: FileOpt = None, as_json: JsonOpt = False) -> None:
    """List reviewers and their roles (never the password hashes)."""
    from interlock.runtime.review.reviewers import Reviewers

    path = _reviewers_path(file)
    reviewers = Reviewers.load(path)
    if as_json:
        print_json([r.to_dict() for r in reviewers])
        return
    if not len(reviewers):
        console.print(
            f"No reviewers in {path}. Add one with `interlock reviewers add NAME --role ROLE`."
        )
        return
    table = Table(title=f"Reviewers ({path})")
    table.add_column("name", style="cyan", no_wrap=True)
    table.add_column("roles")
    table.add_column("display")
    for r in reviewers:
        label = Text(r.display or "")
        if r.demo:
            label.append(" [demo]", style="yellow")
        table.add_row(r.name, ", ".join(r.roles), label)
    console.print(table)
