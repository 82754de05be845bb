"""Shared Rich consoles and small rendering helpers for the CLI."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

__all__ = ["console", "console_err", "print_json"]

console = Console(highlight=False)
console_err = Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    """Machine-readable output for `--json`: plain JSON on stdout, nothing else."""
    print(json.dumps(value, indent=2, sort_keys=True, default=str))
