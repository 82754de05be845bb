"""`interlock demo`: stop at the critical review, then resume it from a new process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from interlock.graphs import Infra
from interlock.ui._demo import demo_paths

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def demo(cwd: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("INTERLOCK_DATABASE_URL", None)
    return subprocess.run(
        [INTERLOCK, "demo", "--db", db, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )


def infra_of(cwd: Path, db: str) -> Infra:
    path = demo_paths(db)[1]
    return Infra(path if path.is_absolute() else cwd / path)


def test_demo_stops_at_the_critical_review_and_resumes_in_new_processes(
    db_url: str, tmp_path: Path
) -> None:
    first = demo(tmp_path, db_url)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "allow" in out
    assert "restart_service(service='api-staging')" in out
    assert "Pending review" in out
    assert "critical" in out
    assert "delete_volume(volume_id='vol-prod-db', token='tok-ci-admin')" in out
    assert "3 backups live on this volume and would be lost" in out
    infra = infra_of(tmp_path, db_url)
    assert "vol-prod-db" in infra.read()["volumes"]
    assert [e["op"] for e in infra.events()] == ["restart_service", "scale_service"]
    if not db_url.startswith("sqlite"):
        # No demo accounts outside the demo's own SQLite database: --decide is refused there.
        assert "interlock decide rv-" in out
        refused = demo(tmp_path, db_url, "--decide", "approve", "--thread", "anything")
        assert refused.returncode == 2
        assert "works only on the demo's own embedded SQLite database" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) <= 3
        assert "Traceback" not in refused.stderr
        assert "vol-prod-db" in infra.read()["volumes"]
        return
    assert "interlock demo --decide reject --message" in out

    message = "Never delete production volumes. Snapshot it, then fix the staging credential."
    second = demo(tmp_path, db_url, "--decide", "reject", "--message", message)
    assert second.returncode == 0, second.stderr
    assert "REJECTED by a human reviewer" in second.stdout
    assert "snapshot_volume(volume_id='vol-prod-db'" in second.stdout

    for _ in range(4):  # whatever else needs a human on the safe path
        if "The thread finished." in second.stdout:
            break
        second = demo(tmp_path, db_url, "--decide", "approve")
        assert second.returncode == 0, second.stderr
    assert "The thread finished." in second.stdout
    assert "api-staging: healthy" in second.stdout
    assert "vol-prod-db" in infra.read()["volumes"]
    assert "delete_volume" not in [e["op"] for e in infra.events()]


def test_demo_decides_only_threads_the_demo_started(tmp_path: Path) -> None:
    from interlock.graphs import scripted_ops_agent
    from interlock.runtime import Runtime

    db = f"sqlite:///{tmp_path}/demo.db"

    def factory(**kw: object) -> object:
        options = kw["options"]
        assert isinstance(options, dict)
        return scripted_ops_agent(options["turns"], options["infra"], **kw)  # type: ignore[arg-type]

    turns = [[["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]]]
    with Runtime.open(db, reviewers_path=tmp_path / "r.toml", graphs={"s": factory}) as rt:
        run = rt.run("s", "x", options={"infra": str(tmp_path / "i.json"), "turns": turns})
    assert run.status == "pending"
    refused = demo(tmp_path, db, "--decide", "approve", "--thread", run.thread_id)
    assert refused.returncode == 2
    assert "was not started by `interlock demo`" in refused.stderr
    assert "Traceback" not in refused.stderr
    with Runtime.open(db, reviewers_path=tmp_path / "r.toml") as rt:
        assert [s.id for s in rt.inbox.pending()] == [run.review_id]


def test_demo_reports_bad_input_as_one_line_and_changes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/demo.db"
    none_yet = demo(tmp_path, db, "--decide", "approve")
    assert none_yet.returncode == 2
    assert "run `interlock demo` first" in none_yet.stderr
    assert "Traceback" not in none_yet.stderr

    assert demo(tmp_path, db).returncode == 0
    bad = demo(tmp_path, db, "--decide", "edit", "--args", "{not json")
    assert bad.returncode == 2
    assert "--args must be a JSON object" in bad.stderr
    wrong = demo(tmp_path, db, "--decide", "edit", "--args", '{"size": 3}')
    assert wrong.returncode == 2
    assert "unknown keys ['size']" in wrong.stderr

    # The review is still pending and answerable: an edit to staging runs without a new review.
    ok = demo(tmp_path, db, "--decide", "edit", "--args", '{"volume_id": "vol-staging-db"}')
    assert ok.returncode == 0, ok.stderr
    volumes = infra_of(tmp_path, db).read()["volumes"]
    assert set(volumes) == {"vol-prod-db", "vol-prod-logs"}
