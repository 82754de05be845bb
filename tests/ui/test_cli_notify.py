"""`interlock notify check | test` as a user runs them: the documented example passes, each
problem is one line (exit 2, no traceback), and a test message really arrives."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).with_name("interlock")
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "notify.example.toml"
SECRETS = {
    "INTERLOCK_ONCALL_WEBHOOK_URL": "http://127.0.0.1:9/unused",
    "INTERLOCK_ONCALL_WEBHOOK_SECRET": "k",
    "INTERLOCK_ONCALL_SLACK_URL": "http://127.0.0.1:9/unused",
    "INTERLOCK_SMTP_PASSWORD": "p",
}


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        check=False,
    )


def one_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, out
    assert "Traceback" not in out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_documented_example_passes_check() -> None:
    out = run("notify", "check", "--file", str(EXAMPLE), env=SECRETS)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.splitlines()[0] == f"{EXAMPLE}: ok"
    assert "policy default.yaml: routes to dba, oncall, sre: all defined" in out.stdout
    assert "reminders: 15m before expiry" in out.stdout
    assert "links: http://localhost:8501/review?review=<id>" in out.stdout
    assert "secrets: 4 variable(s) named, all set" in out.stdout


def test_the_file_comes_from_interlock_notify_and_json_is_machine_readable() -> None:
    out = run("notify", "check", "--json", env={**SECRETS, "INTERLOCK_NOTIFY": str(EXAMPLE)})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] is True
    assert doc["problems"] == []
    assert doc["default_team"] == "oncall"
    assert doc["channels"]["oncall-slack"] == "slack"
    assert doc["reminders_before_expiry_seconds"] == [900]
    assert doc["policy_teams"] == ["dba", "oncall", "sre"]


def test_no_file_says_notifications_are_off() -> None:
    line = one_error(run("notify", "check"))
    assert line == (
        "error: no notify file: INTERLOCK_NOTIFY is not set, so notifications are off; pass "
        "--file PATH or set INTERLOCK_NOTIFY (start from docs/notify.example.toml)."
    )


def test_each_missing_secret_is_one_line() -> None:
    env = dict(SECRETS)
    del env["INTERLOCK_ONCALL_SLACK_URL"]
    out = run("notify", "check", "--file", str(EXAMPLE), env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(f"error: {EXAMPLE}:")
    assert (
        "channel 'oncall-slack' (slack): environment variable INTERLOCK_ONCALL_SLACK_URL "
        "(url_env) is not set" in line
    )


def test_a_bad_file_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "notify.toml"
    bad.write_text(
        EXAMPLE.read_text().replace('before_expiry = ["15m"]', 'before_expiry = ["15 mins"]')
    )
    line = one_error(run("notify", "check", "--file", str(bad), env=SECRETS))
    number = EXAMPLE.read_text().splitlines().index('before_expiry = ["15m"]') + 1
    assert line.startswith(
        f"error: {bad}:{number}: reminders.before_expiry: '15 mins' is not a duration"
    )


def test_a_team_the_policy_routes_to_must_exist(tmp_path: Path) -> None:
    notify = tmp_path / "notify.toml"
    notify.write_text(
        'default_team = "oncall"\n'
        '[teams.oncall]\nchannels = ["t"]\n[teams.sre]\nchannels = ["t"]\n'
        '[channels.t]\nkind = "terminal"\n'
    )
    line = one_error(run("notify", "check", "--file", str(notify)))
    assert "default.yaml: route 'databases', route 'database-rules' name team 'dba', which" in line
    assert "does not define (its reviews would tell default team 'oncall' instead)" in line
    assert line.endswith(f"add [teams.dba] to {notify} or change the policy.")
    policy = tmp_path / "policy.yaml"  # a policy with no routes asks for no team
    policy.write_text("name: bare\nrules: []\n")
    out = run("notify", "check", "--file", str(notify), "--policy", str(policy))
    assert out.returncode == 0, out.stderr
    assert "routes to no team: all defined" in out.stdout


@pytest.fixture
def hook() -> Iterator[dict[str, Any]]:
    got: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            got["headers"] = dict(self.headers.items())
            self.send_response(got.get("status", 204))
            self.end_headers()

        def log_message(self, *_a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    got["url"] = f"http://127.0.0.1:{server.server_address[1]}/in"
    yield got
    server.shutdown()
    server.server_close()


def test_notify_test_sends_a_signed_message_through_the_webhook(hook: dict[str, Any]) -> None:
    env = {
        **SECRETS,
        "INTERLOCK_ONCALL_WEBHOOK_URL": hook["url"],
        "INTERLOCK_ONCALL_WEBHOOK_SECRET": "hmac-key",
    }
    out = run("notify", "test", "--channel", "oncall-webhook", "--file", str(EXAMPLE), env=env)
    assert out.returncode == 0, out.stderr
    body = hook["body"]
    sig = "sha256=" + hmac.new(b"hmac-key", body, hashlib.sha256).hexdigest()
    assert hook["headers"]["X-Interlock-Signature"] == sig
    note = json.loads(body)
    assert (
        out.stdout.strip()
        == f"sent a test notification through oncall-webhook (webhook): delivery {note['id']}."
    )
    assert hook["headers"]["X-Interlock-Delivery"] == note["id"]
    assert note["team"] == "oncall"
    assert note["link"] == "http://localhost:8501/review?review=rv-notify-test"


def test_notify_test_to_a_channel_that_is_down_is_one_line(hook: dict[str, Any]) -> None:
    hook["status"] = 503
    env = {**SECRETS, "INTERLOCK_ONCALL_WEBHOOK_URL": hook["url"]}
    line = one_error(
        run("notify", "test", "--channel", "oncall-webhook", "--file", str(EXAMPLE), env=env)
    )
    assert (
        line
        == "error: channel oncall-webhook: the URL in INTERLOCK_ONCALL_WEBHOOK_URL answered 503; "
        "will retry."
    )


def test_notify_test_through_the_file_and_terminal_channels(tmp_path: Path) -> None:
    out = run("notify", "test", "--channel", "demo-file", "--file", str(EXAMPLE), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (line,) = (tmp_path / ".interlock" / "notifications.jsonl").read_text().splitlines()
    assert json.loads(line)["event"] == "review_opened"
    out = run("notify", "test", "--channel", "terminal", "--file", str(EXAMPLE))
    assert out.returncode == 0
    assert out.stderr.startswith(
        "[interlock notify] Test notification from `interlock notify test`"
    )


def test_notify_test_names_the_channels_there_are() -> None:
    line = one_error(run("notify", "test", "--channel", "pager", "--file", str(EXAMPLE)))
    assert line == (
        f"error: no channel 'pager' in {EXAMPLE} (channels: dba-email, demo-file, oncall-slack, "
        "oncall-webhook, sre-email, terminal); pick one of those."
    )


def test_help_loads_no_channel_library() -> None:
    code = (
        "import sys\n"
        "from interlock.ui.cli import main\n"
        "for argv in (['--help'], ['notify', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "mods = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(mods & {'slack_sdk', 'httpx', 'aiosmtpd', 'smtplib'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_readme_configuration_passes_check(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Routing and notifications\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    (toml_text,) = re.findall(r"```toml\n(.*?)```", section, re.S)
    path = tmp_path / "notify.toml"
    path.write_text(toml_text, encoding="utf-8")
    out = run("notify", "check", "--file", str(path), env=SECRETS)
    assert out.returncode == 0, out.stderr
    assert "routes to dba, oncall, sre: all defined" in out.stdout
    assert "channels: 3 (email, terminal, webhook)" in out.stdout
