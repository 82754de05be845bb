"""`python -m bench`: run every `bench/bench_*.py`, print one table, write the results as JSON.

The harness reports; it does not gate. It exits 0 when a target is missed, and a module that
crashes becomes a failed row carrying its error instead of ending the run. Rows with an empty
`target` only inform and are left out of the "N of M targets met" count.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bench._common import ROW_KEYS, Row

__all__ = ["discover", "main", "run_module"]

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "latest.json"


def discover(only: str | None = None) -> list[str]:
    """Module names (`bench_risk`, …) in this folder, sorted, filtered by substring."""
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if only.lower() in n.lower()]
    return names


def _failed(name: str, error: str) -> Row:
    return Row(
        name=name,
        value=None,
        unit="",
        baseline=None,
        baseline_name="",
        ratio=None,
        target="runs without error",
        ok=False,
        error=error,
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_row(module: str, raw: Any) -> Row:
    """A malformed row is reported, not trusted: the table must never show a made-up value."""
    if not isinstance(raw, dict):
        return _failed(module, f"returned a {type(raw).__name__} instead of a row dict")
    missing = [k for k in ROW_KEYS if k not in raw]
    if missing:
        return _failed(str(raw.get("name", module)), f"row lacks keys {missing}")
    if not _number(raw["value"]):
        return _failed(str(raw["name"]), f"row value is not a finite number: {raw['value']!r}")
    return raw  # type: ignore[return-value]  # keys checked above


def run_module(name: str, *, quick: bool) -> tuple[list[Row], float]:
    """Import and run one module; any exception becomes a single failed row."""
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        raw = module.run(quick=quick)
        if not isinstance(raw, list):
            rows = [_failed(name, f"run() returned {type(raw).__name__}, expected a list")]
        elif not raw:
            rows = [_failed(name, "run() returned no rows")]
        else:
            rows = [_check_row(name, r) for r in raw]
    except Exception as exc:  # one broken benchmark must not hide the others
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        rows = [_failed(name, f"{type(exc).__name__}: {exc}{where}")]
    return rows, time.perf_counter() - t0


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _table(rows: Sequence[Row]) -> Table:
    table = Table(title="Interlock benchmarks", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("baseline", justify="right", no_wrap=True)
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("target")
    table.add_column("ok", justify="center", no_wrap=True)
    for r in rows:
        unit = f" {r['unit']}" if r["unit"] else ""
        value = "error" if r.get("error") else f"{_fmt(r['value'])}{unit}"
        if r["baseline"] is None:
            base = "—"
        else:
            base = f"{_fmt(r['baseline'])}{unit}"
            if r["baseline_name"]:
                base += f" ({r['baseline_name']})"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        if not r["target"]:
            mark = Text("·", style="dim")
        else:
            mark = Text("✓", style="green") if r["ok"] else Text("✗", style="bold red")
        table.add_row(r["name"], value, base, ratio, r["target"] or "(info)", mark)
    return table


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--only", metavar="NAME", help="run modules whose name contains NAME")
    parser.add_argument(
        "--json", metavar="PATH", type=Path, default=DEFAULT_JSON, help="where to write results"
    )
    args = parser.parse_args(argv)

    # Piped output (CI, the harness test) gets a wide table so names are never wrapped.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    modules = discover(args.only)
    if not modules:
        console.print(f"No benchmark module matches {args.only!r}; found: {discover() or 'none'}.")
        return 2

    rows: list[Row] = []
    timings: dict[str, float] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("benchmarks", total=len(modules))
        for name in modules:
            progress.update(task, description=f"running {name}{' (quick)' if args.quick else ''}")
            module_rows, seconds = run_module(name, quick=args.quick)
            timings[name] = round(seconds, 3)
            for r in module_rows:
                r.setdefault("module", name)
            rows.extend(module_rows)
            progress.advance(task)

    console.print(_table(rows))
    # Text, not markup: an error message may well contain square brackets.
    for r in rows:
        if r.get("error"):
            console.print(Text.assemble(("error ", "bold red"), f"{r['name']}: {r.get('error')}"))
        elif r.get("note"):
            console.print(Text.assemble(("note ", "dim"), f"{r['name']}: {r.get('note')}"))

    graded = [r for r in rows if r["target"]]
    met = sum(1 for r in graded if r["ok"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": _machine(),
        "quick": args.quick,
        "only": args.only,
        "modules": timings,
        "summary": {"met": met, "targets": len(graded)},
        "rows": rows,
    }
    args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    style = "green" if met == len(graded) else "bold yellow"
    console.print(f"[{style}]{met} of {len(graded)} targets met[/]  (results: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
