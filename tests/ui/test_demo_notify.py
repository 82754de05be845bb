"""`interlock demo` shows a notification with no server: the review it stops at is told to
the routed team through the terminal channel, and the file channel keeps the same message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def test_the_demo_prints_the_notification_of_its_review(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env["INTERLOCK_OPS_INFRA"] = str(tmp_path / "infra.json")
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = subprocess.run(
        [INTERLOCK, "demo", "--db", db],
        capture_output=True,
        text=True,
        timeout=180,
        env={**env, "COLUMNS": "200"},
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("[interlock notify]")]
    assert "Review needed: delete_volume on volume vol-prod-db in production (critical" in line
    assert "team sre" in line
    saved = [
        json.loads(x) for x in (tmp_path / "demo-notifications.jsonl").read_text().splitlines()
    ]
    assert len(saved) == 1
    assert saved[0]["event"] == "review_opened"
    assert saved[0]["link"] == f"http://localhost:8501/review?review={saved[0]['review_id']}"
    assert saved[0]["review_id"] in line
    with subprocess.Popen(
        [INTERLOCK, "notify", "status", "--db", db, "--json"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        status = json.loads(proc.communicate(timeout=120)[0])
    assert proc.returncode == 0
    assert {c["channel"]: c["delivered"] for c in status["channels"]} == {"file": 1, "terminal": 1}
