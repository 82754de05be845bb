"""Routes in the CLI: `policy check` lists them, `policy explain` says who is told, and
`interlock pending --team NAME` / `--mine --as NAME` list the reviews routed there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
NOTIFY = """\
default_team = "oncall"
[teams.sre]
members = ["SRE-Lead-Demo"]
channels = ["term"]
[teams.oncall]
members = ["oncall-demo"]
channels = ["term"]
[channels.term]
kind = "terminal"
"""


class Cli:
    def __init__(self, cwd: Path, db: str | None = None) -> None:
        self.cwd, self.db = cwd, db
        self.env = {
            **os.environ,
            "COLUMNS": "200",
            "INTERLOCK_REVIEWERS": str(cwd / "reviewers.toml"),
            "INTERLOCK_OPS_INFRA": str(cwd / "infra.json"),
        }
        for name in ("INTERLOCK_DATABASE_URL", "INTERLOCK_NOTIFY", "INTERLOCK_POLICY"):
            self.env.pop(name, None)

    def __call__(
        self, *args: str, stdin: str | None = None, notify: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if notify is not None:
            env["INTERLOCK_NOTIFY"] = str(notify)
        return subprocess.run(
            [INTERLOCK, *args, *(["--db", self.db] if self.db else [])],
            cwd=self.cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def ids(self, *args: str, notify: Path | None = None) -> list[str]:
        out = self("pending", *args, "--json", notify=notify)
        assert out.returncode == 0, out.stderr
        items: list[dict[str, Any]] = json.loads(out.stdout)
        return [i["id"] for i in items]


def _one_line_error(out: subprocess.CompletedProcess[str], text: str) -> None:
    assert out.returncode != 0
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("error: ")
    assert text in out.stderr
    assert "Traceback" not in out.stderr


def test_pending_filters_by_team_and_by_my_teams(sqlite_url: str, tmp_path: Path) -> None:
    cli = Cli(tmp_path, sqlite_url)
    demo = cli("demo")
    assert demo.returncode == 0, demo.stderr
    (review,) = cli.ids()
    # The demo deletes a production volume: critical in production, so the sre team is told.
    listed = cli("pending")
    assert listed.returncode == 0, listed.stderr
    assert " sre " in listed.stdout
    shown = cli("show", review)
    assert shown.returncode == 0, shown.stderr
    assert "team" in shown.stdout
    assert "sre  (production-critical: environment production, level critical)" in shown.stdout
    assert cli.ids("--team", "sre") == [review]
    assert cli.ids("--team", "oncall") == []
    assert cli.ids("--team", "dba", "--team", "sre") == [review]
    notify = tmp_path / "notify.toml"
    notify.write_text(NOTIFY)
    # Member names compare without regard to case.
    assert cli.ids("--mine", "--as", "sre-lead-demo", notify=notify) == [review]
    assert cli.ids("--mine", "--as", "oncall-demo", notify=notify) == []
    assert cli.ids("--mine", "--as", "oncall-demo", "--team", "sre", notify=notify) == [review]

    _one_line_error(
        cli("pending", "--mine", "--as", "nobody", notify=notify),
        "nobody is a member of no team in",
    )
    _one_line_error(cli("pending", "--mine", "--as", "oncall-demo"), "INTERLOCK_NOTIFY is not set")
    _one_line_error(cli("pending", "--mine", notify=notify), "add --as NAME")
    _one_line_error(cli("pending", "--as", "oncall-demo"), "only means something with --mine")
    # Nothing was changed by the refusals: the review is still pending, still routed.
    assert cli.ids("--team", "sre") == [review]


def test_policy_check_lists_routes_and_explain_says_who_is_told(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    check = cli("policy", "check")
    assert check.returncode == 0, check.stderr
    assert "routes (first match wins)" in check.stdout
    for row in ("production-critical", "databases", "database-rules", "default_team"):
        assert row in check.stdout
    assert "escalations tell: sre-lead → sre, admin → sre" in check.stdout
    sql = {"tool": "run_sql", "args": {"query": "DROP TABLE users"}, "environment": "staging"}
    explain = cli("policy", "explain", "--action", json.dumps(sql))
    assert explain.returncode == 0, explain.stderr
    assert "route: team dba is told (databases: tool run_sql)" in explain.stdout
    read = {"tool": "read_file", "args": {"path": "README.md"}}
    allowed = cli("policy", "explain", "--action", json.dumps(read), "--json")
    assert allowed.returncode == 0, allowed.stderr
    got = json.loads(allowed.stdout)
    assert got["outcome"] == "allow"
    assert got["route"] == {
        "team": "oncall",
        "route": "default_team",
        "why": "no route matched, so the policy's default team",
    }
    policy = tmp_path / "plain.yaml"
    policy.write_text(
        "name: plain\nrules:\n  - id: w\n    reason: Writes\n    when: {effects: [write]}\n"
    )
    plain = cli("policy", "check", str(policy))
    assert plain.returncode == 0, plain.stderr
    assert "routes: none" in plain.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy.read_text() + "routes:\n  - team: sre\n    level: urgent\n")
    _one_line_error(cli("policy", "check", str(bad)), "bad.yaml:8")
