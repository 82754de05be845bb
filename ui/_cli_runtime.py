"""`interlock db ...` and `interlock audit ...` (`interlock reviewers ...`: `_cli_reviewers`).

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
from rich.text import Text

from interlock.risk.errors import ConfigError
from interlock.runtime.store.settings import Settings
from interlock.ui._output import console, console_err, print_json

if TYPE_CHECKING:
    from interlock.runtime.audit.log import AuditLog

__all__ = ["audit_app", "db_app"]

db_app = typer.Typer(help="Create and upgrade Interlock's tables.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify and export the audit log.", no_args_is_help=True)

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


def _url(db: str | None) -> str:
    return db or Settings.from_env().database_url


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
    if result.created:
        *dirs, last = result.created
        made = (
            f" and the director{'ies' if len(dirs) > 1 else 'y'} {', '.join(dirs)}" if dirs else ""
        )
        console.print(f"Created {last}{made}.")


@db_app.command("roles")
def db_roles(
    db: DbOpt = None,
    agent: Annotated[
        str, typer.Option("--agent", metavar="ROLE", help="The agent side's database role.")
    ] = "interlock_agent",
    reviewer: Annotated[
        str,
        typer.Option("--reviewer", metavar="ROLE", help="The reviewer side's database role."),
    ] = "interlock_reviewer",
    agent_password_env: Annotated[
        str | None,
        typer.Option(
            "--agent-password-env",
            metavar="VAR",
            help="Set the agent role's password from this environment variable.",
        ),
    ] = None,
    reviewer_password_env: Annotated[
        str | None,
        typer.Option(
            "--reviewer-password-env",
            metavar="VAR",
            help="Set the reviewer role's password from this environment variable.",
        ),
    ] = None,
    show_urls: Annotated[
        bool,
        typer.Option(
            "--print-urls",
            help="Print the two URLs to use (passwords included) as shell assignments.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create the agent and reviewer database roles and grant each exactly its side (Postgres;
    run with the owner's URL after `interlock db upgrade`). Idempotent.

    The agent role (graphs, gates, workers) writes checkpoints, opens reviews, appends audit
    rows and uses the execution ledger; it cannot insert or change decisions, approvals,
    reviewers or stops. The reviewer role (console, CLI decisions, admin commands) can."""
    import os

    from interlock.runtime import redact_url
    from interlock.runtime.store import setup_roles
    from interlock.runtime.store.database import open_database
    from interlock.runtime.store.migrations import require_schema

    def secret(var: str | None) -> str | None:
        if var is None:
            return None
        value = os.environ.get(var, "")
        if not value:
            msg = f"environment variable {var} is empty or unset; export the password there."
            raise ConfigError(msg)
        return value

    from interlock.runtime import parse_database_url

    if parse_database_url(_url(db)).dialect != "postgres":
        msg = (
            f"database roles need Postgres; {redact_url(_url(db))} is the embedded SQLite "
            "mode, which trusts the local user."
        )
        raise ConfigError(msg)
    passwords = secret(agent_password_env), secret(reviewer_password_env)
    with open_database(_url(db), create=False) as database:
        require_schema(database)
        result = setup_roles(
            database,
            agent=agent,
            reviewer=reviewer,
            agent_password=passwords[0],
            reviewer_password=passwords[1],
        )
    if as_json:
        print_json(result.to_dict())
        return
    if show_urls:
        import shlex

        print(f"INTERLOCK_AGENT_DATABASE_URL={shlex.quote(result.agent_url)}")
        print(f"INTERLOCK_REVIEWER_DATABASE_URL={shlex.quote(result.reviewer_url)}")
        return
    made = f"created {', '.join(result.created)}" if result.created else "roles existed"
    console.print(
        f"roles {result.agent} (agent side) and {result.reviewer} (reviewer side): {made}; "
        f"privileges set on {len(result.tables)} tables.",
        highlight=False,
        soft_wrap=True,
    )
    for side, url in (
        ("agent side:   ", result.agent_url),
        ("reviewer side:", result.reviewer_url),
    ):
        console.print(f"{side} INTERLOCK_DATABASE_URL={redact_url(url)}", soft_wrap=True)


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
