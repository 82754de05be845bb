"""What a benchmark module returns, and the timing helpers they share."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NotRequired

from typing_extensions import TypedDict

__all__ = [
    "ROW_KEYS",
    "Row",
    "gc_disabled",
    "percentile",
    "postgres_db",
    "row",
    "signing_keys",
    "time_calls_ns",
]


class Row(TypedDict):
    """One line of the results table and of `bench/results/latest.json`."""

    name: str
    """What was measured, e.g. `risk.assess median (200 rules)`."""
    value: float | None
    """The measurement; None only for a row that reports a crash."""
    unit: str
    """Unit of `value` and `baseline`, e.g. `µs`."""
    baseline: float | None
    """The same quantity for the anchor, measured in the same run; None when there is none."""
    baseline_name: str
    """What the baseline is, e.g. `cedarpy.is_authorized`."""
    ratio: float | None
    """value / baseline."""
    target: str
    """The goal in words; empty for a row that only informs."""
    ok: bool
    """Whether the target is met (True for informational rows)."""
    error: NotRequired[str]
    """Set when the module crashed or returned a malformed row."""
    note: NotRequired[str]
    """One short line of context shown under the table."""
    module: NotRequired[str]
    """The module that produced the row; the harness fills it in."""


ROW_KEYS = ("name", "value", "unit", "baseline", "baseline_name", "ratio", "target", "ok")


def row(
    name: str,
    value: float,
    unit: str,
    *,
    target: str = "",
    ok: bool = True,
    baseline: float | None = None,
    baseline_name: str = "",
    note: str = "",
) -> Row:
    """Build a row; the ratio is computed here so every module computes it alike."""
    ratio = value / baseline if baseline else None
    out = Row(
        name=name,
        value=value,
        unit=unit,
        baseline=baseline,
        baseline_name=baseline_name,
        ratio=ratio,
        target=target,
        ok=ok,
    )
    if note:
        out["note"] = note
    return out


@contextmanager
def gc_disabled() -> Iterator[None]:
    """A collection pause inside a timed call would be noise, not a property of the code."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def time_calls_ns(fn: Callable[[], object], reps: int) -> list[int]:
    """Wall time of `reps` single calls of `fn`, in nanoseconds, one sample per call."""
    clock = time.perf_counter_ns
    out = []
    for _ in range(reps):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100) of unsorted samples."""
    if not samples:
        msg = "percentile() of no samples."
        raise ValueError(msg)
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


@contextmanager
def postgres_db() -> Iterator[str]:
    """A brand-new Postgres database for one benchmark, dropped afterwards (on
    `INTERLOCK_TEST_DATABASE_URL`'s server, default the local one)."""
    import os
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    admin = os.environ.get(
        "INTERLOCK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"interlock_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def signing_keys() -> Iterator[None]:
    """A throwaway Ed25519 pair named in the environment for one benchmark (and the worker
    processes it starts): a Postgres deployment has no local key pair, so the reviewer side
    signs with `INTERLOCK_SIGNING_KEY` and the agent side verifies with
    `INTERLOCK_PUBLIC_KEYS`, as in production."""
    import os
    import tempfile
    from pathlib import Path

    from interlock.runtime.review.keys import create_key

    names = ("INTERLOCK_SIGNING_KEY", "INTERLOCK_PUBLIC_KEYS")
    before = {k: os.environ.get(k) for k in names}
    with tempfile.TemporaryDirectory() as tmp:
        private, public = Path(tmp) / "signing.key", Path(tmp) / "public"
        create_key(private, public)
        os.environ.update(dict(zip(names, (str(private), str(public)), strict=True)))
        try:
            yield
        finally:
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
