"""`make bench`: speed benchmarks, each measured against a baseline in the same run.

Run from the repository root with `python -m bench` (see `bench/__main__.py`). Every
`bench/bench_*.py` module exposes `run(quick: bool = False) -> list[Row]`.
"""

from __future__ import annotations

__all__: list[str] = []
