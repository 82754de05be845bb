"""`python -m bench --quick --only risk` runs, prints the table and writes the JSON results.

Only the shape is checked: speed targets are reported by the bench, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RISK_ROWS = ("risk.assess median (200 rules)", "risk.assess p95 (200 rules)")


def test_quick_risk_bench_prints_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "risk", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in RISK_ROWS:
        assert name in proc.stdout, proc.stdout
    assert "targets met" in proc.stdout

    data = json.loads(out.read_text("utf-8"))
    assert data["machine"]["cpu_count"] >= 1
    assert data["machine"]["python"].count(".") == 2
    rows = {r["name"]: r for r in data["rows"]}
    errors = [r for r in data["rows"] if r.get("error")]
    assert not errors, errors
    for name in RISK_ROWS:
        r = rows[name]
        assert r["unit"] == "µs"
        assert isinstance(r["value"], float)
        assert r["value"] > 0
        assert isinstance(r["baseline"], float)
        assert r["baseline"] > 0
        assert r["baseline_name"] == "cedarpy.is_authorized"
        assert r["ratio"] == r["value"] / r["baseline"]
        assert isinstance(r["ok"], bool)
    assert data["summary"]["targets"] >= len(RISK_ROWS)


def test_unknown_module_filter_says_what_exists() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "no-such-bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "bench_risk" in proc.stdout


def test_crashing_module_becomes_a_failed_row() -> None:
    code = (
        "import json, sys, types\n"
        "mod = types.ModuleType('bench.bench_boom')\n"
        "def run(quick=False):\n"
        "    raise RuntimeError('boom [x]')\n"
        "mod.run = run\n"
        "sys.modules['bench.bench_boom'] = mod\n"
        "from bench.__main__ import run_module\n"
        "rows, _ = run_module('bench_boom', quick=True)\n"
        "print(json.dumps(rows))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["ok"] is False
    assert row["value"] is None
    assert "RuntimeError: boom [x]" in row["error"]


def _quick(only: str, out: Path) -> dict[str, dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", only, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    errors = [r for r in data["rows"] if r.get("error")]
    assert not errors, errors
    return {str(r["name"]): r for r in data["rows"]}


def test_quick_inbox_bench_lists_from_a_cloned_dataset_and_runs_both_naive_ways(
    tmp_path: Path,
) -> None:
    rows = _quick("bench_inbox", tmp_path / "inbox.json")
    size = "50 pending / 2,000 threads, Postgres"
    page = rows[f"inbox: first page (50) + count, {size}"]
    assert page["unit"] == "ms"
    assert isinstance(page["value"], float)
    assert page["value"] > 0
    assert str(page["target"]).startswith("<= 2 ms")
    assert isinstance(page["ok"], bool)
    assert rows[f"inbox: all 50 pending + count, {size}"]["target"] == ""
    for naive in ("checkpointer.list(None)", "get_state per thread"):
        speedup = rows[f"inbox speed-up vs {naive}"]
        assert speedup["unit"] == "×"
        assert speedup["target"] == ">= 300×"
        assert isinstance(speedup["value"], float)
        assert speedup["value"] > 0
        assert "took" in str(speedup["note"])
    assert rows["inbox dataset: 2,000 threads cloned in SQL"]["unit"] == "s"


def test_quick_resume_bench_compares_a_decision_with_a_raw_resume(tmp_path: Path) -> None:
    rows = _quick("bench_resume", tmp_path / "resume.json")
    for backend in ("SQLite", "Postgres"):
        r = rows[f"decision -> tool start, {backend}"]
        assert r["unit"] == "ms"
        assert isinstance(r["value"], float)
        assert isinstance(r["baseline"], float)
        assert r["value"] > 0
        assert r["baseline"] > 0
        assert r["baseline_name"] == "raw LangGraph Command(resume=...)"
        assert r["ratio"] == r["value"] / r["baseline"]
        assert r["target"] == "<= 2x raw resume"
        assert isinstance(r["ok"], bool)
    signing = rows["approval sign + verify (Ed25519)"]
    assert signing["unit"] == "ms"
    assert 0 < signing["value"] < 50
    assert signing["target"] == "<= 0.2 ms"
