"""`interlock stop | resume-scope | stops`: the stop switch, for admins.

A stop denies every action of an agent or an environment until an admin lifts it; a running
agent meets it at its next gate evaluation or guarded execution. Signing in works as for
`interlock decide` (`_cli_review`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from interlock.risk.errors import ConfigError
from interlock.ui._cli_review import (
    AsOpt,
    DbOpt,
    JsonOpt,
    ReviewersOpt,
    StdinOpt,
    _login,
    _open,
)
from interlock.ui._output import console, print_json

__all__ = ["register_stop_commands"]


def _scope(agent: str | None, environment: str | None) -> tuple[str, str]:
    if (agent is None) == (environment is None):
        msg = "name exactly one scope: --agent NAME or --environment NAME."
        raise ConfigError(msg)
    return ("agent", agent) if agent is not None else ("environment", str(environment))


AgentOpt = Annotated[str | None, typer.Option("--agent", help="An agent, e.g. ops-agent.")]
EnvOpt = Annotated[
    str | None, typer.Option("--environment", help="An environment, e.g. production.")
]


def _unknown_warning(known: list[str], scope: str, value: str) -> str | None:
    # A misspelt name stops nothing that runs; say so rather than refuse (scripts stop
    # environments before their first review on purpose).
    if value in known:
        return None
    seen = ", ".join(known) or "none yet"
    return (
        f"warning: no review so far names the {scope} {value!r} (known: {seen}); "
        "check the spelling: a stop only refuses actions of the exact name."
    )


def stop_command(
    as_: AsOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why (an incident id, for example).")],
    agent: AgentOpt = None,
    environment: EnvOpt = None,
    password_stdin: StdinOpt = False,
    reviewers: ReviewersOpt = None,
    db: DbOpt = None,
) -> None:
    """Stop an agent or an environment: every gate for it denies until resume-scope (admin)."""
    scope, value = _scope(agent, environment)
    with _open(db, reviewers) as rt:
        who = _login(rt, as_, password_stdin)
        known = rt.stops.known(scope)  # type: ignore[arg-type]
        rt.stops.stop(scope, value, by=who, reason=reason)  # type: ignore[arg-type]
    warning = _unknown_warning(known, scope, value.strip())
    if warning:
        typer.echo(warning, err=True)
    console.print(
        f"stopped {scope} {value}: every action it proposes is denied until "
        f"`interlock resume-scope --{scope} {value}`."
    )


def resume_scope_command(
    as_: AsOpt,
    agent: AgentOpt = None,
    environment: EnvOpt = None,
    password_stdin: StdinOpt = False,
    reviewers: ReviewersOpt = None,
    db: DbOpt = None,
) -> None:
    """Lift a stop (admin)."""
    scope, value = _scope(agent, environment)
    with _open(db, reviewers) as rt:
        who = _login(rt, as_, password_stdin)
        rt.stops.resume(scope, value, by=who)  # type: ignore[arg-type]
    console.print(f"resumed {scope} {value}: its actions are assessed normally again.")


def stops_command(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List active stops."""
    with _open(db, None) as rt:
        active = rt.stops.active()
    if as_json:
        print_json([s.to_dict() for s in active])
        return
    if not active:
        console.print("No active stops.")
    for s in active:
        console.print(f"{s.scope} {s.value}: stopped by {s.by} at {s.at.isoformat()} ({s.reason})")


def register_stop_commands(app: typer.Typer) -> None:
    app.command("stop")(stop_command)
    app.command("resume-scope")(resume_scope_command)
    app.command("stops")(stops_command)
