"""`interlock worker` and `interlock prune`.

The worker prints one line per thing it does (JSON lines with `--json`) and its totals when
it stops; `--metrics-port` serves Prometheus metrics read from the database and
`--log-json` logs each audited event as a JSON line on stderr. SIGTERM or Ctrl-C lets the
resume in progress finish, then exits 0; a second Ctrl-C stops at once (whatever was cut
short is picked up by the next worker: the execution ledger keeps every action to at most
once).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from interlock.runtime.store.settings import Settings
from interlock.ui._cli_metrics import (
    LogJsonOpt,
    MetricsAddressOpt,
    MetricsPortOpt,
    enable_json_logs,
    served_metrics,
)
from interlock.ui._cli_notify_status import notify_line
from interlock.ui._cli_review import DbOpt, JsonOpt
from interlock.ui._output import console, console_err, print_json

if TYPE_CHECKING:
    from interlock.runtime.execution.worker import WorkerEvent

__all__ = ["register_worker_commands"]

_STYLE = {
    "resumed": "green",
    "expired": "yellow",
    "orphan": "bold yellow",
    "busy": "dim",
    "reconciled": "cyan",
    "failed": "red",
    "outage": "bold red",
    "recovered": "green",
}


def _print_event(event: WorkerEvent, as_json: bool) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    if as_json:
        print(json.dumps({"ts": stamp, **event.to_dict()}, default=str), flush=True)
        return
    where = " ".join(x for x in (event.review_id, event.thread_id) if x)
    status = f" → {event.thread_status}" if event.thread_status else ""
    style = _STYLE.get(event.kind, "")
    console.print(
        f"{stamp} [{style}]{event.kind:<10}[/] {where}{status}  {event.detail}".rstrip(),
        highlight=False,
        soft_wrap=True,
    )


def worker_command(
    db: DbOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="One sweep, then exit (for cron or a test).")
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", metavar="SECONDS", help="Idle wait between sweeps.")
    ] = 1.0,
    batch: Annotated[int, typer.Option("--batch", help="Settled reviews taken per sweep.")] = 50,
    expire_every: Annotated[
        float, typer.Option("--expire-every", metavar="SECONDS", help="Expiry pass interval.")
    ] = 5.0,
    reconcile_every: Annotated[
        float,
        typer.Option(
            "--reconcile-every", metavar="SECONDS", help="Inbox reconcile interval (0: never)."
        ),
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    metrics_port: MetricsPortOpt = None,
    metrics_address: MetricsAddressOpt = None,
    log_json: LogJsonOpt = False,
) -> None:
    """Resume decided threads, apply expiry and escalation, keep the inbox consistent.

    Run one or more, on one or many machines sharing Postgres: each thread is claimed by
    one worker at a time. SIGTERM finishes the current resume, then exits 0.
    """
    from interlock.runtime import Runtime, redact_url
    from interlock.runtime.execution.worker import Worker, WorkerOptions

    options = WorkerOptions(
        poll=poll, batch=batch, expire_every=expire_every, reconcile_every=reconcile_every
    )
    url = db or Settings.from_env().database_url
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: stop now
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.set()
        name = signal.Signals(signum).name
        console_err.print(f"{name}: finishing the current step, then stopping.")

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    enable_json_logs(log_json)
    try:
        # create=False: a worker on a mistyped SQLite path says so instead of sweeping a new,
        # empty database forever.
        with (
            Runtime.open(url, create=False) as rt,
            served_metrics(rt.db, metrics_port, metrics_address),
        ):
            worker = Worker(rt, options, on_event=lambda e: _print_event(e, as_json))
            worker.warm()  # imports and graphs now, not inside the first resume's claim
            if as_json:
                print(json.dumps({"started": options.name, "db": redact_url(url)}), flush=True)
            else:
                console_err.print(
                    f"interlock worker {options.name} on {redact_url(url)}"
                    + (" (one sweep)" if once else f" (idle poll {poll:g}s; Ctrl-C stops)")
                )
                console_err.print(escape(notify_line()), soft_wrap=True)
            stats = worker.run(stop=stop, once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        print(json.dumps({"stopped": True, **stats.to_dict()}), flush=True)
        return
    console_err.print(
        f"stopped after {stats.seconds:.1f}s: {stats.resumed} resumed, {stats.expired} "
        f"expired, {stats.orphans} orphaned run(s) recovered ({stats.marked_in_doubt} "
        f"execution(s) marked in doubt), {stats.reconciled} reconciled, {stats.busy} busy, "
        f"{stats.failed} failed, {stats.claim_lost} claim(s) lost to another worker, "
        f"{stats.interrupted} cut short by an outage, {stats.outages} database outage(s)."
    )


def prune_command(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Idle time after which a finished thread's checkpoints go: 30d, 12h, 2w...",
        ),
    ],
    db: DbOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be removed; remove nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove old checkpoints of finished threads.

    Never touches pending reviews, threads with an execution in doubt, decisions not yet
    carried out, or the audit log and Interlock's other tables.
    """
    from interlock.runtime import Runtime
    from interlock.runtime.execution.prune import parse_age, prune

    age = parse_age(older_than)  # a bad age fails before the database is opened
    url = db or Settings.from_env().database_url
    with Runtime.open(url, create=False) as rt:
        if as_json or not sys.stderr.isatty():
            result = prune(rt, age, dry_run=dry_run)
        else:
            with Progress(console=console_err, transient=True) as progress:
                task = progress.add_task("checking threads", total=None)

                def _tick(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = prune(rt, age, dry_run=dry_run, on_progress=_tick)
    if as_json:
        print_json(result.to_dict())
        return
    _print_prune(result.to_dict())


def _print_prune(data: dict[str, Any]) -> None:
    verb = "would remove" if data["dry_run"] else "removed"
    console.print(
        f"{verb} {data['checkpoints_removed']} checkpoint(s) of "
        f"{data['threads_removed']} finished thread(s) idle since before {data['cutoff']}."
    )
    if data["removed"]:
        table = Table(title=f"threads ({verb})")
        for col in ("thread", "checkpoints", "last activity"):
            table.add_column(col)
        for t in data["removed"][:50]:
            table.add_row(t["thread_id"], str(t["checkpoints"]), t["last_activity"])
        if len(data["removed"]) > 50:
            table.caption = f"and {len(data['removed']) - 50} more (--json lists all)"
        console.print(table)
    if data["kept"]:
        kept = ", ".join(f"{n} {why}" for why, n in sorted(data["kept"].items()))
        console.print(f"kept: {kept}. The audit log and Interlock's tables are never pruned.")
    else:
        console.print("The audit log and Interlock's tables are never pruned.")


def register_worker_commands(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
    app.command("prune")(prune_command)
