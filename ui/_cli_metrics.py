"""`interlock metrics`, and the metrics and JSON-log options of `interlock worker` and
`interlock console`.

prometheus_client is imported inside the commands only (through
`interlock.runtime.notify.metrics`, which loads it on first use), so `interlock --help`
stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from interlock.runtime.audit import LOG_FORMAT_ENV, configure_event_logs
from interlock.runtime.store.settings import Settings
from interlock.ui._cli_review import DbOpt
from interlock.ui._output import console_err

if TYPE_CHECKING:
    from interlock.runtime.notify import MetricsServer
    from interlock.runtime.store import Database

__all__ = [
    "LogJsonOpt",
    "MetricsAddressOpt",
    "MetricsPortOpt",
    "enable_json_logs",
    "metrics_command",
    "register_metrics_commands",
    "served_metrics",
]

MetricsPortOpt = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        metavar="PORT",
        min=0,
        max=65535,
        help="Serve Prometheus metrics on this port (/metrics). Default: "
        "$INTERLOCK_METRICS_PORT, else none.",
        show_default=False,
    ),
]
MetricsAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--metrics-address",
        metavar="ADDR",
        help="Address the metrics endpoint binds. Default: $INTERLOCK_METRICS_ADDRESS, else "
        "127.0.0.1 (loopback only).",
        show_default=False,
    ),
]
LogJsonOpt = Annotated[
    bool,
    typer.Option(
        "--log-json",
        help="Log every audited event as one JSON line on stderr (logger interlock.events; "
        "also INTERLOCK_LOG_FORMAT=json).",
    ),
]


def enable_json_logs(flag: bool) -> bool:
    """Turn the JSON event lines on when asked (flag or environment); True when on. The
    environment variable is set too, so child processes (the console's) log the same way."""
    wanted = flag or os.environ.get(LOG_FORMAT_ENV, "").strip().casefold() == "json"
    if wanted:
        os.environ[LOG_FORMAT_ENV] = "json"
        configure_event_logs(sys.stderr)
    return wanted


@contextmanager
def served_metrics(
    db: Database | str, port: int | None, address: str | None
) -> Iterator[MetricsServer | None]:
    """Serve /metrics for `db` (a Database, or a URL opened here and closed after) while the
    block runs, when a port is given (or in the environment); yields None if not. Says where
    on stderr."""
    from interlock.runtime.notify import (
        METRICS_ADDRESS_ENV,
        metrics_port_from_env,
        serve_metrics,
    )
    from interlock.runtime.store import open_database

    chosen = port if port is not None else metrics_port_from_env()
    if chosen is None:
        yield None
        return
    bind = address or os.environ.get(METRICS_ADDRESS_ENV, "").strip() or "127.0.0.1"
    with ExitStack() as stack:
        database = stack.enter_context(open_database(db)) if isinstance(db, str) else db
        server = serve_metrics(database, chosen, bind)
        stack.callback(server.close)
        console_err.print(f"metrics on {server.url}", highlight=False, soft_wrap=True)
        yield server


def metrics_command(db: DbOpt = None) -> None:
    """Print the Prometheus metrics once, read from the database (what /metrics serves)."""
    from interlock.runtime.notify import metrics_text
    from interlock.runtime.store import open_database, require_schema

    url = db or Settings.from_env().database_url
    with open_database(url, create=False) as database:
        require_schema(database)
        sys.stdout.write(metrics_text(database))
        sys.stdout.flush()


def register_metrics_commands(app: typer.Typer) -> None:
    app.command("metrics")(metrics_command)
