"""The whole PocketOS flow through the CLI, each step in its own process: `demo` stops,
`pending` lists it, `decide --reject` by an authorised reviewer resumes it onto the safe
path, refusals are one line and change nothing, and `audit verify` passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from interlock.graphs import Infra

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


class Cli:
    def __init__(self, cwd: Path, db: str) -> None:
        self.cwd, self.db = cwd, db
        self.env = {
            **os.environ,
            "COLUMNS": "200",
            "INTERLOCK_REVIEWERS": str(cwd / "reviewers.toml"),
            "INTERLOCK_OPS_INFRA": str(cwd / "infra.json"),
        }
        self.env.pop("INTERLOCK_DATABASE_URL", None)
        self.env.pop("INTERLOCK_REVIEWER_PASSWORD", None)

    def __call__(
        self, *args: str, password: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if password is not None:
            env["INTERLOCK_REVIEWER_PASSWORD"] = password
        return subprocess.run(
            [INTERLOCK, *args, "--db", self.db],  # reviewers too: on Postgres they are the db's
            cwd=self.cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def json(self, *args: str) -> Any:
        out = self(*args, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


def one_line_error(out: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("error: ")
    assert text in out.stderr
    assert "Traceback" not in out.stderr


def test_pocketos_flow_through_the_cli(db_url: str, tmp_path: Path) -> None:
    cli = Cli(tmp_path, db_url)
    demo = cli("demo")
    assert demo.returncode == 0, demo.stderr
    assert "Pending review" in demo.stdout
    sqlite = db_url.startswith("sqlite")
    if sqlite:  # the embedded default gets demo reviewers a newcomer can use at once
        assert "demo reviewers added" in demo.stdout
        assert "oncall-demo" in demo.stdout
        lead, oncall, admin, password = "sre-lead-demo", "oncall-demo", "admin-demo", "demo"
    else:  # never on Postgres: real reviewers are added
        lead, oncall, admin, password = "sam", "olivia", "ada", "correct horse"
        for name, role in ((lead, "sre-lead"), (oncall, "oncall"), (admin, "admin")):
            added = cli(
                "reviewers", "add", name, "--role", role, "--password-stdin", stdin=f"{password}\n"
            )
            assert added.returncode == 0, added.stderr

    (item,) = cli.json("pending")
    assert (item["level"], item["tool"], item["target"]) == (
        "critical",
        "delete_volume",
        "volume vol-prod-db",
    )
    rid = item["id"]
    table = cli("pending", "--level", "critical")
    assert rid in table.stdout
    assert "sre-lead or admin" in table.stdout
    shown = cli("show", rid)
    assert shown.returncode == 0, shown.stderr
    for text in (
        "agent's reasoning",
        "3 backups live on this volume and would be lost",
        "[last-copy]",
        "history",
    ):
        assert text in shown.stdout

    # Refusals: one clear line, exit 2, and the database exactly as it was.
    before = (cli.json("pending"), cli.json("audit", "verify")["head_seq"])
    one_line_error(
        cli("decide", "rv-nope", "--as", lead, "--approve", password=password),
        2,
        "no review 'rv-nope'",
    )
    one_line_error(
        cli("decide", rid, "--as", "nobody", "--approve", password=password),
        2,
        "unknown reviewer 'nobody'",
    )
    one_line_error(
        cli("decide", rid, "--as", lead, "--approve", password="wrong"), 2, "wrong password"
    )
    one_line_error(
        cli("decide", rid, "--as", oncall, "--approve", password=password),
        2,
        "needs sre-lead or admin",
    )
    one_line_error(
        cli("decide", rid, "--as", lead, "--edit", "{not json", password=password),
        2,
        "--edit must be a JSON object",
    )
    # Nothing changed but the log of the two logins that failed (an unknown name, a wrong
    # password): someone tried to act as a reviewer, which oversight wants to know.
    pending, seq = before
    assert (cli.json("pending"), cli.json("audit", "verify")["head_seq"]) == (pending, seq + 2)

    rejected = cli(
        "decide", rid, "--as", lead, "--reject", ADVICE, "--password-stdin", stdin=f"{password}\n"
    )
    assert rejected.returncode == 0, rejected.stderr
    assert "reject by" in rejected.stdout
    assert "REJECTED by a human reviewer" in rejected.stdout
    assert "agent proposes snapshot_volume(volume_id='vol-prod-db'" in rejected.stdout
    infra = Infra(tmp_path / "infra.json")
    assert "vol-prod-db" in infra.read()["volumes"]

    # The thread stopped at the snapshot: the on-call reviewer approves it, the safe path runs.
    (snap,) = cli.json("pending")
    assert snap["tool"] == "snapshot_volume"
    approved = cli("decide", snap["id"], "--as", oncall, "--approve", "--json", password=password)
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "resumed"
    assert "snapshot_volume" in [e["op"] for e in infra.events()]
    assert "delete_volume" not in [e["op"] for e in infra.events()]
    assert "vol-prod-db" in infra.read()["volumes"]

    # A late second decision on the first review is a conflict: exit 3.
    late = cli("decide", rid, "--as", admin, "--approve", password=password)
    one_line_error(late, 3, "already decided")

    # The stop switch: admins only, audited, listed.
    one_line_error(
        cli(
            "stop",
            "--environment",
            "production",
            "--as",
            lead,
            "--reason",
            "INC-7",
            password=password,
        ),
        2,
        "needs the admin role",
    )
    stopped = cli(
        "stop", "--environment", "production", "--as", admin, "--reason", "INC-7", password=password
    )
    assert stopped.returncode == 0, stopped.stderr
    assert [s["value"] for s in cli.json("stops")] == ["production"]
    resumed = cli("resume-scope", "--environment", "production", "--as", admin, password=password)
    assert resumed.returncode == 0, resumed.stderr
    assert cli.json("stops") == []

    verify = cli("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "audit log intact" in verify.stdout
