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
