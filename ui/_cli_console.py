"""`interlock console`: the reviewer console on the configured database.

It brings the database to the latest schema first, then runs `streamlit run` on
`console_app.py` in a child process, bound to loopback unless told otherwise, with the
database URL in `INTERLOCK_DATABASE_URL`. Streamlit is never imported here: the child
process loads it. `--metrics-port` serves Prometheus metrics from this launcher process (it
lives as long as the console; Streamlit's reruns never touch it); `--log-json` makes the
console log each audited event as a JSON line on stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from interlock.risk.errors import ConfigError
from interlock.runtime.store.settings import Settings
from interlock.ui._cli_metrics import (
    LogJsonOpt,
    MetricsAddressOpt,
    MetricsPortOpt,
    enable_json_logs,
    served_metrics,
)
from interlock.ui._output import console

__all__ = ["APP_PATH", "console_command", "streamlit_argv"]

APP_PATH = Path(__file__).with_name("console_app.py")
_START_TIMEOUT_S = 60.0


def streamlit_argv(port: int, address: str, app: Path = APP_PATH) -> list[str]:
    """The `streamlit run` command line: no telemetry, no file watching, no prompts."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",  # never prompts for an e-mail; we open the browser ourselves
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
    ]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def console_command(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Database URL. Default: $INTERLOCK_DATABASE_URL, else "
            "sqlite:///./.interlock/interlock.db.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8501,
    address: Annotated[
        str, typer.Option("--address", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    headless: Annotated[
        bool, typer.Option("--headless", help="Do not open a browser (servers, CI).")
    ] = False,
    metrics_port: MetricsPortOpt = None,
    metrics_address: MetricsAddressOpt = None,
    log_json: LogJsonOpt = False,
) -> None:
    """Open the reviewer console (Streamlit) on the database; runs migrations first."""
    from interlock.runtime import DEMO_PASSWORD, ensure_demo_reviewers, redact_url
    from interlock.runtime.store.migrations import upgrade

    settings = Settings.from_env()
    url = db or settings.database_url
    result = upgrade(url)
    if result.applied:
        console.print(f"database {redact_url(url)}: applied schema version(s) {result.applied}")
    for made in ensure_demo_reviewers(settings.reviewers, url):
        roles = ", ".join(made.roles)
        console.print(f"demo reviewer [bold]{made.name}[/] ({roles}), password: {DEMO_PASSWORD}")
    enable_json_logs(log_json)  # before env is copied: the Streamlit child logs the same way
    env = {**os.environ, "INTERLOCK_DATABASE_URL": url}
    # /metrics is served by this launcher process, which outlives every Streamlit rerun.
    with served_metrics(url, metrics_port, metrics_address):
        _run_streamlit(port, address, headless, url, env)


def _run_streamlit(port: int, address: str, headless: bool, url: str, env: dict[str, str]) -> None:
    from interlock.runtime import redact_url

    proc = subprocess.Popen(streamlit_argv(port, address), env=env)

    def forward(signum: int, _frame: FrameType | None) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    shown = f"http://{'127.0.0.1' if address in ('0.0.0.0', '::') else address}:{port}"
    try:
        if _wait_healthy(shown, proc):
            console.print(
                f"[bold green]Interlock console[/] on {shown}  (database {redact_url(url)})"
            )
            console.print("Press Ctrl+C to stop.")
            if not headless and sys.stdout.isatty():
                webbrowser.open(shown)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        code = proc.wait()
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        msg = f"the console stopped with exit code {code}; is port {port} free?"
        raise ConfigError(msg)
