"""Fixtures for runtime tests: an open, migrated database on each backend, a Runtime, and a
LangGraph Server (`langgraph dev`) serving the repository's langgraph.json."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import scripted_ops_agent
from interlock.runtime import (
    Database,
    Runtime,
    ensure_demo_reviewers,
    open_database,
    upgrade_database,
)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """`db_url` opened and upgraded to the latest schema (SQLite and Postgres)."""
    with open_database(db_url) as database:
        upgrade_database(database)
        yield database


def scripted_ops(**kw: Any) -> Any:
    """The ops tools driven by a script: options `infra` (file) and `turns`, a list of model
    turns, each a list of [tool, args] calls. Past the script the agent says "Done."."""
    return scripted_ops_agent(kw["options"]["turns"], kw["options"]["infra"], **kw)


@pytest.fixture
def open_rt(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Opens Runtimes on `db_url` (both backends) with the `scripted_ops` graph registered;
    keyword arguments go to `Runtime.open`. All are closed after the test."""
    opened: list[Runtime] = []

    def open_one(**kwargs: Any) -> Runtime:
        kwargs.setdefault("reviewers_path", tmp_path / "reviewers.toml")
        kwargs["graphs"] = {"scripted_ops": scripted_ops, **kwargs.get("graphs", {})}
        opened.append(Runtime.open(db_url, **kwargs))
        return opened[-1]

    yield open_one
    for runtime in opened:
        runtime.close()


@pytest.fixture
def rt(open_rt: Callable[..., Runtime]) -> Runtime:
    """A `Runtime` on `db_url` (both backends) with the `scripted_ops` graph registered."""
    return open_rt()


@pytest.fixture
def ops_options(tmp_path: Path) -> dict[str, str]:
    """Options that give the ops agent its own simulated infrastructure file."""
    return {"infra": str(tmp_path / "infra.json")}


# -- LangGraph Server (`langgraph dev`) for tests/runtime/test_langgraph_server*.py ---------------

LANGGRAPH = Path(sys.executable).with_name("langgraph")
LANGGRAPH_JSON = Path(__file__).resolve().parents[2] / "langgraph.json"
SERVER_START_TIMEOUT_S = 60.0


@dataclass
class LangGraphServer:
    """A running `langgraph dev`: its URL, the database its environment names, the ops
    agent's simulated infrastructure file and the server's log."""

    url: str
    db_url: str
    infra: Path
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def volumes(self) -> set[str]:
        return set(json.loads(self.infra.read_text())["volumes"])

    def ops(self) -> list[str]:
        return [e["op"] for e in json.loads(self.infra.read_text())["events"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ok(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    wait = f"{SERVER_START_TIMEOUT_S:.0f} s"
    pytest.fail(f"langgraph dev did not answer /ok in {wait}:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def serve(db_url: str, where: Path) -> Iterator[LangGraphServer]:
    """`langgraph dev` on the repository's langgraph.json, on a free loopback port, run from
    `where` with an environment naming `db_url`. It runs in its own process group, which is
    always terminated (then killed) on exit; its output is kept in `log`."""
    where.mkdir(parents=True, exist_ok=True)
    infra, log = where / "ops-infra.json", where / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INTERLOCK_DATABASE_URL": db_url,
        "INTERLOCK_OPS_INFRA": str(infra),
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    env.pop("INTERLOCK_LANGGRAPH_URL", None)
    argv = [str(LANGGRAPH), "dev", "--config", str(LANGGRAPH_JSON), "--port", str(port)]
    argv += ["--host", "127.0.0.1", "--no-browser", "--no-reload"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=where, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ok(proc, url, log)
        yield LangGraphServer(url=url, db_url=db_url, infra=infra, log=log)
    finally:
        _stop(proc)


@pytest.fixture
def lg_server(db_url: str, tmp_path: Path) -> Iterator[LangGraphServer]:
    """A LangGraph Server per test, its database on SQLite and on Postgres."""
    with serve(db_url, tmp_path / "server") as found:
        yield found


@pytest.fixture
def lg_sqlite_server(sqlite_url: str, tmp_path: Path) -> Iterator[LangGraphServer]:
    """A LangGraph Server per test, its database on SQLite."""
    with serve(sqlite_url, tmp_path / "server") as found:
        yield found


@pytest.fixture
def lg_serve() -> Callable[[str, Path], Any]:
    """`serve(db_url, folder)`, for a test that stops its server itself."""
    return serve


@pytest.fixture
def lg_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[LangGraphServer], Runtime]]:
    """Opens a Runtime with the server backend on a server's database; the demo reviewers
    (password `demo`) are in `tmp_path/reviewers.toml`."""
    opened: list[Runtime] = []

    def open_on(server: LangGraphServer) -> Runtime:
        reviewers = tmp_path / "reviewers.toml"
        ensure_demo_reviewers(reviewers, server.db_url, force=True)
        # The graph is built here too (never run): the decision service re-assesses edits.
        monkeypatch.setenv("INTERLOCK_OPS_INFRA", str(server.infra))
        opened.append(
            Runtime.open(server.db_url, reviewers_path=reviewers, langgraph_url=server.url)
        )
        return opened[-1]

    yield open_on
    for runtime in opened:
        runtime.close()


# -- a private Postgres server that tests may stop and restart -------------------------------
# initdb runs as the `postgres` OS user when we are root (initdb refuses root), so the shared
# test server is never restarted.


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(f"{name} not found: install the postgresql server package", pytrace=False)
    return found[-1]


class PgCluster:
    """A private Postgres server in a temporary directory."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="interlock-pg-"))
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(
            _bin("initdb"),
            "-D",
            f"{self.dir}/data",
            "--auth=trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _run(self, *args: str) -> None:
        out = subprocess.run([*self._as, *args], capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"{args[0]} failed: {out.stdout}{out.stderr}"

    def _ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _bin("pg_ctl"),
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-o",
            opts,
            "-w",
            *args,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def destroy(self) -> None:
        self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster(
    monkeypatch: pytest.MonkeyPatch, signing_keys: tuple[Path, Path]
) -> Iterator[PgCluster]:
    # A Postgres deployment has no local key pair: name the session's, as `pg_url` does.
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", str(signing_keys[0]))
    monkeypatch.setenv("INTERLOCK_PUBLIC_KEYS", str(signing_keys[1]))
    c = PgCluster()
    c.start()
    try:
        yield c
    finally:
        c.destroy()
