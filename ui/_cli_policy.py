"""`interlock policy ...`: validate, explain and evaluate risk policies."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from interlock.risk import (
    OUTCOMES,
    Action,
    ActionError,
    Assessment,
    Context,
    Policy,
    default_policy,
    evaluate,
    load_corpus,
    load_policy,
)
from interlock.ui._output import assessment_table, console, outcome_text, print_json

__all__ = ["policy_app"]

policy_app = typer.Typer(help="Validate, explain and evaluate risk policies.", no_args_is_help=True)

PolicyArg = Annotated[
    Path | None,
    typer.Argument(
        help="Policy YAML file. Default: $INTERLOCK_POLICY, else the bundled default policy.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _policy(path: Path | None) -> Policy:
    if path is None and os.environ.get("INTERLOCK_POLICY"):
        path = Path(os.environ["INTERLOCK_POLICY"])
    return default_policy() if path is None else load_policy(path)


def _read_action(raw: str) -> Action:
    """`--action` takes inline JSON, `@file.json`, or `-` for standard input."""
    source = "--action"
    if raw == "-":
        raw, source = sys.stdin.read(), "standard input"
    elif raw.startswith("@"):
        path = Path(raw[1:])
        try:
            raw, source = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            msg = f"cannot read action file {path}: {exc.strerror}."
            raise ActionError(msg) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        msg = (
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}). "
            'Example: --action \'{"tool": "delete_volume", "environment": "production", '
            '"effects": ["delete"]}\''
        )
        raise ActionError(msg) from None
    return Action.from_dict(data)


def _parse_at(at: str | None) -> Context:
    if at is None:
        return Context()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        msg = f"--at takes an ISO date-time with offset, like 2026-12-23T10:00+01:00; got {at!r}."
        raise ActionError(msg) from None
    if when.tzinfo is None:
        msg = f"--at needs a timezone offset (e.g. {at}+00:00) so freezes are unambiguous."
        raise ActionError(msg)
    return Context(now=when)


@policy_app.command("check")
def check(path: PolicyArg = None, as_json: JsonOpt = False) -> None:
    """Validate a policy and print its version and a summary of its rules."""
    policy = _policy(path)
    if as_json:
        print_json({"name": policy.name, "version": policy.version, **policy.to_dict()})
        return
    console.print(
        f"[bold green]valid[/] policy [bold]{policy.name}[/] version [cyan]{policy.version}[/] "
        f"({len(policy.rules)} rules; roles, junior first: {', '.join(policy.roles)})"
    )
    table = Table(show_lines=False)
    for col in ("rule", "points", "floor", "outcome", "approval", "when"):
        table.add_column(col, overflow="fold")
    for r in policy.rules:
        approval = f"{r.approval.count}× {'/'.join(r.approval.roles)}" if r.approval else ""
        table.add_row(
            r.id,
            str(r.points or ""),
            r.floor or "",
            r.outcome or "",
            approval,
            json.dumps(r.when, sort_keys=True, default=str),
        )
    console.print(table)
    lv = policy.levels
    console.print(
        f"levels: medium ≥ {lv['medium']}, high ≥ {lv['high']}, critical ≥ {lv['critical']}; "
        + ", ".join(f"{k} → {v}" for k, v in policy.outcomes.items())
    )
    _print_routes(policy)


@policy_app.command("explain")
def explain(
    path: PolicyArg = None,
    action: Annotated[
        str, typer.Option("--action", help="The action as JSON, @file.json, or - for stdin.")
    ] = "-",
    at: Annotated[
        str | None, typer.Option("--at", help="Assess as of this time (ISO, with offset).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Assess one action and show the verdict with every reason."""
    policy = _policy(path)
    parsed = _read_action(action)
    result = policy.assess(parsed, _parse_at(at))
    if as_json:
        print_json(result.to_dict())
        return
    console.print(assessment_table(result, title=f"{parsed.tool} ({parsed.environment or '?'})"))
    console.print(_route_line(result))


def _route_line(result: Assessment) -> str:
    if result.route is None:
        return "route: none (the policy has no routes): the notify settings' default team is told"
    told = "is told" if result.outcome == "review" else "would be told of a review"
    r = result.route
    return (
        f"route: team [bold]{escape(r.team)}[/] {told} ({escape(r.why)}); "
        "the approval roles say who may decide"
    )


def _print_routes(policy: Policy) -> None:
    if not policy.routes and policy.default_team is None:
        console.print("routes: none (every review goes to the notify settings' default team)")
        return
    table = Table(title="routes (first match wins)", show_lines=False)
    for col in ("route", "team", "matches"):
        table.add_column(col, overflow="fold")
    for i, route in enumerate(policy.routes):
        when = {k: v for k, v in route.to_dict().items() if k not in ("team", "name")}
        said = ", ".join(f"{k} {'|'.join(v)}" for k, v in when.items()) or "every review"
        table.add_row(route.label(i), route.team, said)
    if policy.default_team is not None:
        table.add_row("default_team", policy.default_team, "any review no route matched")
    console.print(table)
    if policy.escalation_teams:
        console.print(
            "escalations tell: "
            + ", ".join(f"{role} → {team}" for role, team in policy.escalation_teams.items())
        )


@policy_app.command("test")
def run_corpus(
    path: PolicyArg = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Labelled JSON Lines corpus. Default: the bundled one."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Assess as of this time (ISO, with offset); default: now."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a labelled corpus; exit 1 if anything labelled review/deny came out allow."""
    policy = _policy(path)
    context = _parse_at(at)
    report = evaluate(policy, load_corpus(corpus), context)
    if as_json:
        print_json(
            {
                "policy": report.policy_version,
                "total": report.total,
                "agreed": report.agreed,
                "must_stop_recall": round(report.must_stop_recall, 4),
                "benign_gated": round(report.benign_gated, 4),
                "confusion": {f"{e}->{g}": c for (e, g), c in sorted(report.confusion.items())},
                "misses": [
                    {
                        "file": m.item.source,
                        "line": m.item.line,
                        "id": m.item.id,
                        "tool": m.item.action.tool,
                        "expected": m.item.expected,
                        "got": m.got,
                        "dangerous": m.dangerous,
                        "note": m.item.note,
                    }
                    for m in report.misses
                ],
            }
        )
    else:
        table = Table(title=f"{report.total} actions, policy {report.policy_version}")
        table.add_column("expected \\ got")
        for g in OUTCOMES:
            table.add_column(g, justify="right")
        for e in OUTCOMES:
            table.add_row(e, *[str(report.confusion[(e, g)]) for g in OUTCOMES])
        console.print(table)
        for m in report.misses:
            flag = "[bold red]DANGEROUS[/] " if m.dangerous else ""
            console.print(
                f"{flag}{m.item.source}:{m.item.line} {m.item.id} {m.item.action.tool}: expected "
                f"{m.item.expected}, got ",
                outcome_text(m.got),
                f" — {m.item.note}",
            )
        console.print(
            f"{report.agreed}/{report.total} agree; {len(report.dangerous)} dangerous miss(es). "
            f"Must-stop recall {report.must_stop_recall:.1%} ({report.must_stop} labelled review "
            f"or deny); benign gated {report.benign_gated:.1%}."
        )
    if report.dangerous:
        raise typer.Exit(1)


@policy_app.command("replay")
def replay(
    path: Annotated[Path, typer.Argument(help="The candidate policy YAML file.")],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only actions recorded from this date on (ISO date)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL. Default: $INTERLOCK_DATABASE_URL.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-assess every action in the audit log under a candidate policy.

    Exits 1 when any action a human rejected or edited would now run unattended.
    """
    from interlock.runtime.audit.log import AuditLog
    from interlock.runtime.audit.replay import replay_rows
    from interlock.runtime.store.database import open_database
    from interlock.runtime.store.settings import Settings

    candidate = load_policy(path)
    when = _parse_since(since)
    with open_database(db or Settings.from_env().database_url, create=False) as database:
        report = replay_rows(AuditLog(database).rows(since=when), candidate)
    if as_json:
        print_json(
            {
                "policy": report.policy_version,
                "actions": len(report.items),
                "skipped": report.skipped,
                "moves": {f"{a}->{b}": n for (a, b), n in sorted(report.moves.items())},
                "reviews_before": report.reviews_before,
                "reviews_after": report.reviews_after,
                "dangerous": [_replay_item(i) for i in report.dangerous],
                "changed": [_replay_item(i) for i in report.changed],
            }
        )
    else:
        table = Table(title=f"{len(report.items)} recorded actions under {report.policy_version}")
        table.add_column("recorded \\ candidate")
        for g in OUTCOMES:
            table.add_column(g, justify="right")
        for e in OUTCOMES:
            table.add_row(e, *[str(report.moves[(e, g)]) for g in OUTCOMES])
        console.print(table)
        delta = report.reviews_after - report.reviews_before
        console.print(
            f"review load: {report.reviews_before} → {report.reviews_after} ({delta:+d})"
            + (
                f"; {report.skipped} row(s) skipped: no rebuildable action"
                if report.skipped
                else ""
            )
        )
        for item in report.changed:
            flag = "[bold red]DANGEROUS[/] " if item.dangerous else ""
            human = f" — a human chose {item.human}" if item.human else ""
            console.print(
                f"{flag}{item.action.tool} {dict(item.action.args)} in "
                f"{item.action.environment or '?'} (thread {item.thread_id}): ",
                outcome_text(item.before),
                " → ",
                outcome_text(item.after),
                human,
            )
        if not report.changed:
            console.print("No recorded action would change outcome.")
    if report.dangerous:
        raise typer.Exit(1)


def _parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        when = datetime.fromisoformat(since)
    except ValueError:
        msg = f"--since takes an ISO date such as 2026-11-01, got {since!r}."
        raise ActionError(msg) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _replay_item(item: Any) -> dict[str, Any]:
    return {
        "seq": item.seq,
        "thread_id": item.thread_id,
        "digest": item.digest,
        "tool": item.action.tool,
        "args": dict(item.action.args),
        "environment": item.action.environment,
        "before": item.before,
        "after": item.after,
        "human": item.human,
    }
