"""`interlock pending | show | decide | resolve` (and the stop commands, `_cli_stops`).

Reviewers are authenticated against the database's reviewers on Postgres, and against the
reviewers file (`INTERLOCK_REVIEWERS`) in the embedded SQLite mode, which trusts the local
user: `--as NAME`
plus a password from `--password-stdin`, else `INTERLOCK_REVIEWER_PASSWORD`, else a prompt
on a terminal. On the embedded SQLite default, `interlock demo` creates demo reviewers
(`oncall-demo`, `sre-lead-demo`, `admin-demo`) whose password is `demo`:

    INTERLOCK_REVIEWER_PASSWORD=demo interlock decide rv-... --as sre-lead-demo --reject "..."

Every refusal is one line on stderr: exit 2 for a bad id, a malformed decision, an unknown
reviewer, a wrong password or a missing role; exit 3 when the review is no longer current
(someone decided first, the thread moved on, it expired). A refusal changes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from interlock.risk.errors import AuthorizationError, ConfigError, DecisionError, NotFoundError
from interlock.runtime.store.settings import Settings
from interlock.ui._output import console, print_json

if TYPE_CHECKING:
    from interlock.runtime import Reviewer, Runtime

__all__ = ["PASSWORD_ENV", "parse_edit", "register_review_commands"]

PASSWORD_ENV = "INTERLOCK_REVIEWER_PASSWORD"
_MAX_EDIT_CHARS = 64_000

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL. Default: $INTERLOCK_DATABASE_URL, "
        "else sqlite:///./.interlock/interlock.db.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AsOpt = Annotated[
    str,
    typer.Option(
        "--as", metavar="NAME", help="Who you are (the database's reviewers on Postgres)."
    ),
]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read your password from standard input.")
]
ReviewersOpt = Annotated[
    Path | None,
    typer.Option(
        "--reviewers",
        metavar="FILE",
        show_default=False,
        help="Reviewers file (embedded SQLite mode only, which trusts the local user). "
        "Default: $INTERLOCK_REVIEWERS, else .interlock/reviewers.toml.",
    ),
]


def _open(db: str | None, reviewers: Path | None) -> Runtime:
    from interlock.runtime import Runtime, parse_database_url

    url = db or Settings.from_env().database_url
    if reviewers is not None and parse_database_url(url).dialect == "postgres":
        msg = (
            f"--reviewers {reviewers} applies to the embedded SQLite mode only; on Postgres the "
            "reviewers are the database's (`interlock reviewers list --db URL`)."
        )
        raise ConfigError(msg)
    return Runtime.open(url, reviewers_path=reviewers, create=False)


def _login(rt: Runtime, name: str, password_stdin: bool) -> Reviewer:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:  # nothing piped: not a wrong password, and not worth an audit row
            msg = (
                f"--password-stdin read no password for {name} (standard input was empty); "
                f"pipe it, e.g. `printf '%s\\n' \"$PASSWORD\" | interlock ... --password-stdin`."
            )
            raise ConfigError(msg)
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    elif sys.stdin.isatty():
        password = typer.prompt(f"Password for {name}", hide_input=True)
    else:
        msg = (
            f"--as {name} needs a password: pipe it with --password-stdin or set {PASSWORD_ENV} "
            "(the demo reviewers' password is `demo`)."
        )
        raise ConfigError(msg)
    try:
        return rt.authenticate(name, password)  # a Principal: decisions take nothing else
    except Exception as exc:
        # Someone tried to act as a reviewer and could not prove it (unknown, wrong password,
        # or a database role that may not read the reviewers): that is oversight news.
        denied = getattr(exc, "sqlstate", None) == "42501"
        if not (denied or isinstance(exc, NotFoundError | AuthorizationError)):
            raise
        rt.audit.append(
            "authentication_failed",
            actor=f"unauthenticated:{name[:64]}",
            data={"via": "cli", "error": type(exc).__name__, "reason": str(exc)},
        )
        raise


def parse_edit(text: str, proposed: dict[str, Any]) -> dict[str, Any]:
    """`--edit JSON`: an object merged into the proposed arguments; a null removes a key."""
    example = '{"volume_id": "vol-staging-db"}'
    if len(text) > _MAX_EDIT_CHARS:
        msg = f"--edit is {len(text)} characters; at most {_MAX_EDIT_CHARS} are accepted."
        raise DecisionError(msg)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        msg = f"--edit must be a JSON object such as '{example}': {detail}."
        raise DecisionError(msg) from None
    if not isinstance(value, dict):
        msg = f"--edit must be a JSON object such as '{example}', got {type(value).__name__}."
        raise DecisionError(msg)
    merged = {**proposed, **value}
    return {k: v for k, v in merged.items() if v is not None}


def _decision(
    approve: bool,
    reject: str | None,
    edit: str | None,
    respond: str | None,
    escalate: str | None,
    message: str | None,
) -> tuple[str, dict[str, Any], str | None]:
    chosen = [
        ("approve", approve),
        ("reject", reject is not None),
        ("edit", edit is not None),
        ("respond", respond is not None),
        ("escalate", escalate is not None),
    ]
    picked = [k for k, on in chosen if on]
    if len(picked) != 1:
        msg = (
            "choose exactly one of --approve, --reject MSG, --edit JSON, --respond MSG, "
            f"--escalate ROLE (got {', '.join('--' + p for p in picked) or 'none'})."
        )
        raise ConfigError(msg)
    kind = picked[0]
    d: dict[str, Any] = {"type": kind}
    if kind in ("reject", "respond"):
        d["message"] = reject if kind == "reject" else respond
    elif message:
        d["message"] = message
    if kind == "escalate":
        d["role"] = escalate
    return kind, d, edit


def pending_command(
    level: Annotated[
        list[str] | None, typer.Option("--level", help="low, medium, high, critical (repeatable).")
    ] = None,
    environment: Annotated[
        str | None, typer.Option("--environment", help="Only this environment.")
    ] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="Only this tool.")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="Only reviews this role may decide.")
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="Only reviews routed to this team (repeatable)."),
    ] = None,
    mine: Annotated[
        bool,
        typer.Option(
            "--mine", help="Only reviews routed to your teams ($INTERLOCK_NOTIFY; with --as NAME)."
        ),
    ] = False,
    who: Annotated[
        str | None,
        typer.Option("--as", metavar="NAME", help="Who you are, for --mine."),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="urgency, age, expiry or level.")] = "urgency",
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 200,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List pending reviews, most urgent first (critical, then soonest expiry, then oldest).

    A team filter narrows what is shown (the policy's routes say who is told); who may decide
    is still the approval roles."""
    from interlock.ui._cli_review_render import pending_table

    teams = _team_filter(team, mine, who)
    with _open(db, None) as rt:
        filters: dict[str, Any] = {
            "level": level or None,
            "environment": environment,
            "tool": tool,
            "role": role,
            "team": teams,
        }
        items = rt.inbox.pending(**filters, sort=sort, limit=limit)  # type: ignore[arg-type]
        total = rt.inbox.count(**filters)
    if as_json:
        print_json([s.to_dict() for s in items])
        return
    if not items:
        console.print("No pending reviews.")
        return
    console.print(pending_table(items, total, datetime.now(UTC)))
    console.print(
        "Open one with [bold]interlock show REVIEW[/]; decide with "
        "[bold]interlock decide REVIEW --as NAME --approve|--reject MSG|...[/]"
    )


def _team_filter(team: list[str] | None, mine: bool, who: str | None) -> list[str] | None:
    """The teams to list: `--team` names, plus the teams `--as NAME` is a member of with
    `--mine` (from the notify file: its teams list their members)."""
    if not mine:
        if who is not None:
            msg = f"--as {who} only means something with --mine here; add --mine or drop --as."
            raise ConfigError(msg)
        return team or None
    if who is None:
        msg = "--mine needs to know who you are: add --as NAME (a member of a notify-file team)."
        raise ConfigError(msg)
    from interlock.runtime.notify import NOTIFY_ENV, notify_config_from_env

    config = notify_config_from_env()
    if config is None:
        msg = (
            f"--mine reads the teams' members from the notify file, and {NOTIFY_ENV} is not set; "
            f"set {NOTIFY_ENV}=FILE, or name the team with --team NAME."
        )
        raise ConfigError(msg)
    mine_teams = config.teams_of(who)
    if not mine_teams:
        known = ", ".join(sorted(config.teams)) or "none"
        msg = (
            f"{who} is a member of no team in {config.source or NOTIFY_ENV} (teams: {known}); "
            "add them to a team's members, or use --team NAME."
        )
        raise ConfigError(msg)
    return list(dict.fromkeys([*(team or []), *mine_teams]))


def show_command(
    review: Annotated[
        str, typer.Argument(help="Review id, or a unique prefix of one (6+ characters).")
    ],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one review in full: request, reasoning, tool results, actions, risk, history."""
    from interlock.ui._cli_review_render import detail_view

    with _open(db, None) as rt:
        detail = rt.inbox.get(review)
    if as_json:
        print_json(detail.to_dict())
        return
    console.print(detail_view(detail, datetime.now(UTC)))


def decide_command(
    review: Annotated[
        str, typer.Argument(help="Review id, or a unique prefix of one (6+ characters).")
    ],
    as_: AsOpt,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the action as shown.")
    ] = False,
    reject: Annotated[
        str | None,
        typer.Option("--reject", metavar="MSG", help="Reject; MSG goes back to the agent."),
    ] = None,
    edit: Annotated[
        str | None,
        typer.Option(
            "--edit",
            metavar="JSON",
            help="Run with these args instead: a JSON object merged into the proposed "
            "args (null removes a key).",
        ),
    ] = None,
    respond: Annotated[
        str | None,
        typer.Option("--respond", metavar="MSG", help="Answer the agent instead of running it."),
    ] = None,
    escalate: Annotated[
        str | None,
        typer.Option("--escalate", metavar="ROLE", help="Hand the decision to a more senior role."),
    ] = None,
    message: Annotated[
        str | None,
        typer.Option("--message", help="A note for the audit trail (approve, edit, escalate)."),
    ] = None,
    action: Annotated[
        int | None,
        typer.Option(
            "--action", metavar="N", help="Decide action N (from 1); default: every action."
        ),
    ] = None,
    no_resume: Annotated[
        bool, typer.Option("--no-resume", help="Record only; a worker resumes the thread.")
    ] = False,
    password_stdin: StdinOpt = False,
    reviewers: ReviewersOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide a pending review as NAME, then resume its thread (unless --no-resume)."""
    from interlock.ui._cli_review_render import outcome_view

    kind, decision, edit_json = _decision(approve, reject, edit, respond, escalate, message)
    with _open(db, reviewers) as rt:
        detail = rt.inbox.get(review)
        actions = detail.request.get("action_requests") or []
        if action is not None and not 1 <= action <= len(actions):
            msg = (
                f"--action {action} is out of range: review {detail.summary.id} has "
                f"{len(actions)} action(s)."
            )
            raise DecisionError(msg)
        indexes = [action - 1] if action is not None else list(range(len(actions)))
        if edit_json is not None and len(indexes) != 1:
            msg = (
                f"review {detail.summary.id} has {len(actions)} actions: say which to edit "
                "with --action N."
            )
            raise DecisionError(msg)
        who = _login(rt, as_, password_stdin)

        def one(i: int) -> dict[str, Any]:
            if edit_json is None:
                return dict(decision)
            return {**decision, "args": parse_edit(edit_json, dict(actions[i].get("args") or {}))}

        if len(indexes) == 1 and (action is not None or len(actions) == 1):
            out = rt.decisions.decide(
                detail.summary.id,
                one(indexes[0]),
                reviewer=who,
                action=indexes[0],
                resume=not no_resume,
            )
        else:
            out = rt.decisions.decide_all(
                detail.summary.id, [one(i) for i in indexes], reviewer=who, resume=not no_resume
            )
    if as_json:
        print_json(out.to_dict())
        return
    console.print(outcome_view(out, who.name, kind))


def resolve_command(
    review: Annotated[str, typer.Argument(help="The in-doubt review id.")],
    as_: AsOpt,
    ran: Annotated[bool, typer.Option("--ran", help="The action did run.")] = False,
    did_not_run: Annotated[
        bool, typer.Option("--did-not-run", help="The action did not run.")
    ] = False,
    note: Annotated[str, typer.Option("--note", help="What you checked.")] = "",
    password_stdin: StdinOpt = False,
    reviewers: ReviewersOpt = None,
    db: DbOpt = None,
) -> None:
    """Say what happened to an execution in doubt (it started and never reported)."""
    if ran == did_not_run:
        msg = "choose exactly one of --ran or --did-not-run."
        raise ConfigError(msg)
    with _open(db, reviewers) as rt:
        who = _login(rt, as_, password_stdin)
        outcome = rt.decisions.resolve(review, ran=ran, reviewer=who, note=note)
    console.print(f"{review}: {outcome} (recorded by {who.name}).")


def register_review_commands(app: typer.Typer) -> None:
    app.command("pending")(pending_command)
    app.command("show")(show_command)
    app.command("decide")(decide_command)
    app.command("resolve")(resolve_command)
    from interlock.ui._cli_stops import register_stop_commands

    register_stop_commands(app)
