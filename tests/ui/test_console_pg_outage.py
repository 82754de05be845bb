"""The console while Postgres restarts or is down: a clear banner, then recovery, with the
reviewer's input still in place.

It runs its own throwaway Postgres cluster (initdb as the `postgres` OS user when we are
root), so the shared test server is never stopped.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

MESSAGE = "Snapshot it first, then fix the staging credential."


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(f"{name} not found: install the postgresql server package", pytrace=False)
    return found[-1]


class Cluster:
    """A private Postgres server in a temporary directory."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="interlock-console-pg-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        data = f"{self.dir}/data"
        self._run(_bin("initdb"), "-D", data, "--auth=trust", "-U", "postgres", "--no-sync")

    def _run(self, *args: str) -> None:
        out = subprocess.run([*self._as, *args], capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"{args[0]} failed: {out.stdout}{out.stderr}"

    def ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = f"{self.dir}/data", f"{self.dir}/log"
        self._run(_bin("pg_ctl"), "-D", data, "-l", log, "-o", opts, "-w", *args)


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch, signing_keys: tuple[Path, Path]) -> Iterator[Cluster]:
    # A Postgres deployment has no local key pair: the console signs with the session's.
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", str(signing_keys[0]))
    monkeypatch.setenv("INTERLOCK_PUBLIC_KEYS", str(signing_keys[1]))
    c = Cluster()
    c.ctl("start")
    try:
        yield c
    finally:
        c.ctl("-m", "immediate", "stop")
        shutil.rmtree(c.dir, ignore_errors=True)


def _k(review_id: str, name: str) -> str:
    return f"decide_{review_id}_0_{name}"


def test_a_restart_and_an_outage_show_a_banner_then_recover_with_input_kept(
    cluster: Cluster, console_on: Callable[[str], Any]
) -> None:
    console = console_on(cluster.url)
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("reject").run()
    at.text_area(key=_k(rid, "message")).input(MESSAGE).run()

    cluster.ctl("-m", "fast", "restart")  # every pooled connection is now dead
    at.run()
    assert not at.exception
    assert not [e for e in at.error if "Database unavailable" in e.value]
    assert at.text_area(key=_k(rid, "message")).value == MESSAGE

    cluster.ctl("-m", "fast", "stop")
    at.run(timeout=120)  # the pool waits for a connection before it gives up
    assert not at.exception
    assert "**Database unavailable, retrying.**" in at.error[0].value
    assert any(b.key == "db_retry_now" for b in at.button)

    cluster.ctl("start")
    at.run()
    assert not at.exception
    assert not [e for e in at.error if "Database unavailable" in e.value]
    assert at.text_area(key=_k(rid, "message")).value == MESSAGE  # still what sam typed
    at.button(key=_k(rid, "submit")).click().run()
    assert "Your decision (reject) was recorded." in console.texts(at)
