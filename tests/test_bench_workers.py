"""The worker-pool benchmark behind README's "Running at scale" table really runs: real
`interlock worker` processes resume every queued review, each pool size gets a row, and
each row's baseline is raw LangGraph resuming with the same number of processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_worker_pool_bench_resumes_everything_and_reports_each_pool(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "workers", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["name"] for r in rows] == [
        "worker pool throughput, 1 worker(s), Postgres",
        "worker pool throughput, 2 worker(s), Postgres",
    ]
    for workers, r in zip((1, 2), rows, strict=True):
        assert "error" not in r, r
        assert r["unit"] == "resumes/s"
        assert r["value"] > 0
        assert "of 30 decided reviews resumed after the pool was up" in r["note"]
        # Each pool is held against raw LangGraph resumes by as many processes.
        assert r["baseline_name"] == f"raw LangGraph, {workers} process(es)"
        assert r["baseline"] > 0
        assert r["ratio"] == r["value"] / r["baseline"]
        assert r["target"] == ">= 0.8x raw"
    assert "1.00x the 1-worker pool" in rows[0]["note"]
