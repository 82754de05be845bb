"""The `interlock` command line.

Each concern lives in its own `_cli_*` module and is registered here. Nothing on this path
imports Streamlit: only `interlock console` does, when it launches.
"""

from __future__ import annotations

import itertools
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from rich.markup import escape

from interlock.risk.errors import InterlockError
from interlock.ui._cli_console import console_command
from interlock.ui._cli_keys import keys_app
from interlock.ui._cli_metrics import register_metrics_commands
from interlock.ui._cli_notify import notify_app
from interlock.ui._cli_policy import policy_app
from interlock.ui._cli_policy_pin import register_pin_commands
from interlock.ui._cli_review import register_review_commands
from interlock.ui._cli_reviewers import reviewers_app
from interlock.ui._cli_runtime import audit_app, db_app
from interlock.ui._cli_worker import register_worker_commands
from interlock.ui._output import console_err

__all__ = ["app", "main"]

app = typer.Typer(
    name="interlock",
    help="Interlock: LangGraph agents with human approval built into the runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
register_pin_commands(policy_app)
app.add_typer(policy_app, name="policy")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(reviewers_app, name="reviewers")
app.add_typer(keys_app, name="key")
app.add_typer(notify_app, name="notify")
app.command("console")(console_command)
register_review_commands(app)
register_worker_commands(app)
register_metrics_commands(app)


def _version() -> str:
    try:
        return version("interlock")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"interlock {_version()}")
        raise typer.Exit


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Interlock: LangGraph agents with human approval built into the runtime."""


@app.command()
def demo(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL: sqlite:///path.db or postgresql://… "
            "[default: $INTERLOCK_DATABASE_URL or sqlite:///./.interlock/interlock.db]",
        ),
    ] = None,
    decide: Annotated[
        str | None,
        typer.Option(
            "--decide",
            help="Answer the pending review: approve, reject, edit, respond or escalate.",
        ),
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", help="Feedback for the agent (reject, respond).")
    ] = None,
    args: Annotated[
        str | None,
        typer.Option("--args", help="For edit: a JSON object merged into the proposed args."),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="For escalate: the role that must decide.")
    ] = None,
    thread: Annotated[
        str | None, typer.Option("--thread", help="Thread id (default: the last demo thread).")
    ] = None,
) -> None:
    """Run the PocketOS scenario: unattended steps run, the production delete stops for review.

    Run it again with --decide to answer the review; a new process resumes the same thread
    from its checkpoint.
    """
    from interlock.ui._demo import run_demo

    run_demo(db=db, decide=decide, message=message, args=args, role=role, thread=thread)


def main(argv: list[str] | None = None) -> None:
    """Entry point: known errors become one clear line and exit code 2, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    command: Any = None
    if any(a.startswith("-") and b.startswith("--") for a, b in itertools.pairwise(args)):
        from interlock.ui._cli_argv import swallowed_option

        command = typer.main.get_command(app)  # built once: it runs the command too
        found = swallowed_option(command, args)
        if found is not None:
            console_err.print(
                f"[bold red]error:[/] {escape(found)}", highlight=False, soft_wrap=True
            )
            sys.exit(2)
    try:
        if command is not None:
            code = command(args=args, standalone_mode=False)
        else:
            code = app(args=args, standalone_mode=False)
    except typer.TyperException as exc:  # the command line did not parse
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # the help was shown
        # Typer would draw a box around it; one line says the same.
        ctx = getattr(exc, "ctx", None)
        shown = getattr(exc, "format_message", None)
        text = (shown() if callable(shown) else str(exc)).strip()
        text = text.replace(": Value error, ", ": ")  # the validator's own label, not news
        text = text if text.endswith(".") else f"{text}."
        if ctx is not None:
            text += f" Run '{ctx.command_path} --help' for what it takes."
        console_err.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except typer.Abort:
        console_err.print("Aborted.", highlight=False)
        sys.exit(1)
    except InterlockError as exc:
        # escaped: an error names things like `interlock[postgres]`, which are not markup
        console_err.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except Exception as exc:
        from interlock.runtime.store import lock_wait_message

        waited = lock_wait_message(exc)
        if waited is not None:
            console_err.print(f"[bold red]error:[/] {escape(waited)}", highlight=False)
            sys.exit(2)
        # Postgres refused what this database role may not do (`interlock db roles`).
        if getattr(exc, "sqlstate", None) != "42501":
            raise
        first = escape((str(exc).strip().splitlines() or ["permission denied"])[0])
        console_err.print(
            f"[bold red]error:[/] the database refused: {first}. This database role may not "
            "do that; use the role of the side that may (see `interlock db roles --help`).",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    # As in click's standalone mode: the exit code of the command (a typer.Exit's), else 0.
    sys.exit(code if isinstance(code, int) else 0)
