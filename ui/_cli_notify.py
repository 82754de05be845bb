"""`interlock notify check | test`: the notify file (INTERLOCK_NOTIFY) and its channels.

`check` validates the file (unknown keys, bad durations, unknown channel kinds, teams naming
unknown channels), that every secret variable it names is set here, and that every team the
policy routes to is defined. `test` sends a made-up notification through one channel now.
Everything heavy is imported inside the commands, so `interlock --help` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from interlock.risk.errors import ConfigError
from interlock.ui._output import console, console_err, print_json

if TYPE_CHECKING:
    from interlock.risk import Policy
    from interlock.runtime.notify import NotifyConfig

__all__ = ["notify_app", "notify_file", "route_team_problems"]

notify_app = typer.Typer(
    help="Notifications: check the notify file (INTERLOCK_NOTIFY), send a test message.",
    no_args_is_help=True,
)

FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="The notify file (TOML). Default: $INTERLOCK_NOTIFY.",
        show_default=False,
    ),
]
PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="The policy whose routes must name teams of the file. "
        "Default: $INTERLOCK_POLICY, else the bundled policy.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def notify_file(path: Path | None) -> Path:
    """`path`, else $INTERLOCK_NOTIFY; ConfigError (one line) when neither names a file."""
    if path is not None:
        return path
    named = os.environ.get("INTERLOCK_NOTIFY", "").strip()
    if named:
        return Path(named)
    msg = (
        "no notify file: INTERLOCK_NOTIFY is not set, so notifications are off; pass "
        "--file PATH or set INTERLOCK_NOTIFY (start from docs/notify.example.toml)."
    )
    raise ConfigError(msg)


def _policy(path: Path | None) -> Policy:
    from interlock.risk import default_policy, load_policy

    if path is None and os.environ.get("INTERLOCK_POLICY", "").strip():
        path = Path(os.environ["INTERLOCK_POLICY"].strip())
    return default_policy() if path is None else load_policy(path)


def _policy_teams(policy: Policy) -> list[tuple[str, str]]:
    """(team, what names it) for every team the policy can route a review to."""
    found = [(r.team, f"route {r.label(i)!r}") for i, r in enumerate(policy.routes)]
    if policy.default_team:
        found.append((policy.default_team, "default_team"))
    found += [(t, f"escalation_teams.{role}") for role, t in policy.escalation_teams.items()]
    return found


def route_team_problems(config: NotifyConfig, policy: Policy) -> list[str]:
    """One line per team the policy routes to that the notify file does not define."""
    where = config.source or "the notify file"
    name = policy.source or f"the bundled policy {policy.name!r}"
    by_team: dict[str, list[str]] = {}
    for team, by in _policy_teams(policy):
        by_team.setdefault(team, []).append(by)
    out: list[str] = []
    for team, names in by_team.items():
        if team in config.teams:
            continue
        fallback = (
            f"its reviews would tell default team {config.default_team!r} instead"
            if config.default_team
            else "nobody would be told of its reviews"
        )
        verb = "names" if len(names) == 1 else "name"
        out.append(
            f"{name}: {', '.join(names)} {verb} team {team!r}, which {where} does not define "
            f"({fallback}); add [teams.{team}] to {where} or change the policy."
        )
    return out


@notify_app.command()
def check(file: FileOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the notify file, the secrets it names and the policy's route teams."""
    from interlock.runtime.notify import load_notify_config

    config = load_notify_config(notify_file(file))
    pol = _policy(policy)
    problems = config.missing_secrets() + route_team_problems(config, pol)
    kinds = sorted({c.kind for c in config.channels.values()})
    policy_teams = sorted({t for t, _ in _policy_teams(pol)})
    policy_name = pol.source or pol.name
    summary = {
        "file": config.source,
        "ok": not problems,
        "problems": problems,
        "teams": {
            n: {"members": list(t.members), "channels": list(t.channels)}
            for n, t in sorted(config.teams.items())
        },
        "channels": {n: c.kind for n, c in sorted(config.channels.items())},
        "default_team": config.default_team,
        "reminders_before_expiry_seconds": [
            int(d.total_seconds()) for d in config.reminders.before_expiry
        ],
        "console_url": config.console_url,
        "policy": policy_name,
        "policy_teams": policy_teams,
    }
    if as_json:
        print_json(summary)
    else:
        for line in problems:
            console_err.print(
                f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True
            )
    if problems:
        raise typer.Exit(2)
    if as_json:
        return
    reminders = ", ".join(_duration(d.total_seconds()) for d in config.reminders.before_expiry)
    teams = "; ".join(
        f"{n} ({', '.join(t.channels) or 'no channels'})" for n, t in sorted(config.teams.items())
    )
    link = f"{config.console_url}/review?review=<id>" if config.console_url else "none"
    secrets = len({var for c in config.channels.values() for _key, var in c.env_vars})
    lines = [
        f"{config.source}: ok",
        f"  teams: {teams or 'none'}; default team: {config.default_team or 'none'}",
        f"  channels: {len(config.channels)} ({', '.join(kinds) or 'none'})",
        f"  reminders: {reminders + ' before expiry' if reminders else 'none'}",
        f"  links: {link}",
        f"  policy {policy_name}: routes to {', '.join(policy_teams) or 'no team'}: all defined",
        f"  secrets: {secrets} variable(s) named, all set",
    ]
    console.print(escape("\n".join(lines)), soft_wrap=True)


def _duration(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


@notify_app.command("test")
def send_test(
    channel: Annotated[str, typer.Option("--channel", help="The channel to send through.")],
    file: FileOpt = None,
) -> None:
    """Send a made-up notification through one channel now (nothing is waiting for review)."""
    from interlock.runtime.notify import build_channel, load_notify_config, sample_notification

    config = load_notify_config(notify_file(file))
    if channel not in config.channels:
        known = ", ".join(sorted(config.channels)) or "none"
        msg = f"no channel {channel!r} in {config.source} (channels: {known}); pick one of those."
        raise ConfigError(msg)
    team = next((n for n, t in sorted(config.teams.items()) if channel in t.channels), None)
    note = sample_notification(config, team=team)
    ch = build_channel(config.channels[channel])
    ch.send(note)  # ChannelError: one line from the CLI's main, exit 2
    console.print(
        escape(f"sent a test notification through {channel} ({ch.kind}): delivery {note['id']}."),
        soft_wrap=True,
    )


# `status` (the outbox) lives in its own module, next to the outbox's owner.
from interlock.ui._cli_notify_status import retry_command, status_command  # noqa: E402

notify_app.command("status")(status_command)
notify_app.command("retry")(retry_command)
