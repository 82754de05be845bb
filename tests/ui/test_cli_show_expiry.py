"""`interlock show` says when a pending review has expired but the sweep has not run yet:
no decision is taken any more, and the reviewer should not try."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from interlock.runtime import Runtime

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env.update(COLUMNS="200", INTERLOCK_OPS_INFRA=str(cwd / "infra.json"))
    env["INTERLOCK_REVIEWERS"] = str(cwd / "reviewers.toml")
    return subprocess.run(
        [INTERLOCK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_show_marks_a_pending_review_past_its_expiry(tmp_path: Path) -> None:
    assert _cli(tmp_path, "demo").returncode == 0
    (item,) = json.loads(_cli(tmp_path, "pending", "--json").stdout)
    fresh = _cli(tmp_path, "show", item["id"])
    assert fresh.returncode == 0, fresh.stderr
    assert "(in 23h)" in fresh.stdout or "(in 1d)" in fresh.stdout
    assert "EXPIRED" not in fresh.stdout
    url = f"sqlite:///{tmp_path / '.interlock' / 'interlock.db'}"
    with Runtime.open(url, reviewers_path=tmp_path / "reviewers.toml") as rt:
        past = datetime.now(UTC) - timedelta(hours=2)
        with rt.db.transaction() as conn:
            conn.execute(
                "UPDATE interlock_reviews SET expires_at = ? WHERE id = ?", (past, item["id"])
            )
    shown = _cli(tmp_path, "show", item["id"])
    assert shown.returncode == 0, shown.stderr
    assert "EXPIRED 2h ago: it can no longer be decided" in shown.stdout
    assert "pending" in shown.stdout  # the row itself is unchanged until the sweep
