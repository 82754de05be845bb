"""`interlock reviewers add | list | remove | passwd`.

Where reviewers live depends on the database (`--db`, else `INTERLOCK_DATABASE_URL`):
- Postgres: the `interlock_reviewers` table, which only the reviewer role may write (`interlock
  db roles`); run these with the reviewer role's URL. `--file` and `INTERLOCK_REVIEWERS` are
  not used there: a path in someone's environment never decides who reviews.
- SQLite (the embedded default): the reviewers file. That mode trusts the local user: whoever
  can write the file decides who reviews.
"""

from __future__ import annotations

import getpass
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from interlock.risk.errors import ConfigError
from interlock.runtime.store.settings import Settings
from interlock.ui._output import console, print_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from interlock.runtime import ReviewerBook

__all__ = ["reviewers_app"]

reviewers_app = typer.Typer(
    help="Manage reviewers (names, roles, password hashes): the database's on Postgres, the "
    "local reviewers file in the embedded SQLite mode (which trusts the local user).",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL; on Postgres use the reviewer role's. Default: "
        "$INTERLOCK_DATABASE_URL, else sqlite:///./.interlock/interlock.db.",
        show_default=False,
    ),
]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        metavar="PATH",
        help="Reviewers file, embedded SQLite mode only. Default: $INTERLOCK_REVIEWERS, else "
        "./.interlock/reviewers.toml.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
StdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


class _Book:
    """The reviewers for `--db`/`--file`: the table on Postgres, the file on SQLite."""

    def __init__(self, db: str | None, file: Path | None) -> None:
        from interlock.runtime import parse_database_url

        self.url = db or Settings.from_env().database_url
        self.postgres = parse_database_url(self.url).dialect == "postgres"
        if self.postgres and file is not None:
            msg = (
                f"--file {file} applies to the embedded SQLite mode only; on Postgres the "
                "reviewers live in the database (drop --file)."
            )
            raise ConfigError(msg)
        self.file = file or Settings.from_env().reviewers

    @contextmanager
    def open(self) -> Iterator[ReviewerBook]:
        from interlock.runtime import DatabaseReviewers, Reviewers, open_database
        from interlock.runtime.store.migrations import require_schema

        if not self.postgres:
            yield Reviewers.load(self.file)
            return
        with open_database(self.url, create=False) as database:
            require_schema(database)
            yield DatabaseReviewers(database)


def _actor() -> str:
    try:
        return "cli:" + str(getpass.getuser())
    except (KeyError, OSError):
        return "cli"


def _password(name: str, password_stdin: bool, command: str) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        # No terminal to ask on (a script, CI): the prompt would echo or wait for nothing.
        msg = (
            f"no terminal to ask for {name}'s password on; pipe it instead: "
            f"`printf '%s\\n' \"$PASSWORD\" | interlock {command} --password-stdin`."
        )
        raise ConfigError(msg)
    return str(typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True))


@reviewers_app.command("add")
def reviewers_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. alice (unique, any case).")],
    role: Annotated[
        list[str],
        typer.Option("--role", "-r", help="A role this reviewer holds; repeat for several."),
    ],
    password_stdin: StdinOpt = False,
    display: Annotated[
        str | None, typer.Option("--display", help="Full name shown in the console.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Update an existing reviewer's roles and password.")
    ] = False,
    db: DbOpt = None,
    file: FileOpt = None,
) -> None:
    """Add a reviewer (prompting for the password unless --password-stdin)."""
    from interlock.runtime import DatabaseReviewers
    from interlock.runtime.review.reviewers import check_reviewer_fields

    check_reviewer_fields(name, role, display)  # before the password prompt
    book = _Book(db, file)
    roles = " ".join(f"--role {r}" for r in role)
    password = _password(name, password_stdin, f"reviewers add {name} {roles}")
    with book.open() as reviewers:
        if isinstance(reviewers, DatabaseReviewers):
            got = reviewers.add(
                name, role, password, display=display, replace=replace, actor=_actor()
            )
        else:
            got = reviewers.add(name, role, password, display=display, replace=replace)
        verb = "updated" if replace else "added"
        console.print(
            f"{verb} reviewer {got.name} (roles: {', '.join(got.roles)}) in the {reviewers.where}.",
            highlight=False,
        )
    warning = _unknown_roles(got.roles)
    if warning:
        typer.echo(warning, err=True)


def _unknown_roles(roles: tuple[str, ...]) -> str | None:
    """A warning for roles the policy in use does not name (a typo meets no requirement).
    Only a warning: the reviewer is kept, as a policy may add the role later."""
    from interlock.risk import default_policy, load_policy

    source = Settings.from_env().policy
    try:
        policy = load_policy(source) if source is not None else default_policy()
    except Exception:  # a broken policy is `interlock policy check`'s to report
        return None
    known = set(policy.roles) | {"admin"}
    odd = [r for r in roles if r not in known]
    if not odd:
        return None
    return (
        f"warning: the policy ({policy.source or 'bundled'}) names no role "
        f"{', '.join(map(repr, odd))}; its roles are {', '.join(policy.roles)}. No review "
        "asks for an unknown role: check the spelling (`interlock reviewers add NAME --role "
        "ROLE --replace` fixes it)."
    )


@reviewers_app.command("list")
def reviewers_list(db: DbOpt = None, file: FileOpt = None, as_json: JsonOpt = False) -> None:
    """List reviewers and their roles (never the password hashes)."""
    with _Book(db, file).open() as reviewers:
        people = list(reviewers)
        if as_json:
            print_json([r.to_dict() for r in people])
            return
        if not people:
            console.print(
                f"No reviewers in the {reviewers.where}. Add one with "
                "`interlock reviewers add NAME --role ROLE`.",
                highlight=False,
            )
            return
        table = Table(title=f"Reviewers ({reviewers.where})")
        table.add_column("name", style="cyan", no_wrap=True)
        table.add_column("roles")
        table.add_column("display")
        for r in people:
            label = Text(r.display or "")
            if r.demo:
                label.append(" [demo]", style="yellow")
            table.add_row(r.name, ", ".join(r.roles), label)
        console.print(table)


@reviewers_app.command("remove")
def reviewers_remove(
    name: Annotated[str, typer.Argument(help="The reviewer to remove.")],
    db: DbOpt = None,
    file: FileOpt = None,
) -> None:
    """Remove a reviewer: they can no longer sign in or decide."""
    from interlock.runtime import DatabaseReviewers

    with _Book(db, file).open() as reviewers:
        if isinstance(reviewers, DatabaseReviewers):
            gone = reviewers.remove(name, actor=_actor())
        else:
            gone = reviewers.remove(name)
        console.print(f"removed reviewer {gone.name} from the {reviewers.where}.", highlight=False)


@reviewers_app.command("passwd")
def reviewers_passwd(
    name: Annotated[str, typer.Argument(help="The reviewer whose password to set.")],
    password_stdin: StdinOpt = False,
    db: DbOpt = None,
    file: FileOpt = None,
) -> None:
    """Set a reviewer's password (prompting unless --password-stdin); roles stay."""
    from interlock.runtime import DatabaseReviewers

    book = _Book(db, file)
    password = _password(name, password_stdin, f"reviewers passwd {name}")
    with book.open() as reviewers:
        if isinstance(reviewers, DatabaseReviewers):
            got = reviewers.passwd(name, password, actor=_actor())
        else:
            got = reviewers.passwd(name, password)
        console.print(
            f"set a new password for reviewer {got.name} in the {reviewers.where}.",
            highlight=False,
        )
