"""Shared Rich consoles and small rendering helpers for the CLI."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from interlock.risk import Assessment

__all__ = [
    "assessment_table",
    "console",
    "console_err",
    "level_text",
    "outcome_text",
    "print_json",
]

console = Console(highlight=False)
console_err = Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    """Machine-readable output for `--json`: plain JSON on stdout, nothing else."""
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


LEVEL_STYLE = {"low": "green", "medium": "yellow", "high": "red", "critical": "bold white on red"}
OUTCOME_STYLE = {"allow": "green", "review": "yellow", "deny": "bold red"}


def level_text(level: str) -> Text:
    return Text(level, style=LEVEL_STYLE.get(level, ""))


def outcome_text(outcome: str) -> Text:
    return Text(outcome, style=OUTCOME_STYLE.get(outcome, ""))


def assessment_table(assessment: Assessment, *, title: str | None = None) -> Table:
    """An assessment as a reviewer reads it: verdict first, then every reason."""
    head = Text.assemble(
        outcome_text(assessment.outcome),
        "  ",
        level_text(assessment.level),
        f"  score {assessment.score}/100",
    )
    if assessment.approval is not None:
        a = assessment.approval
        head.append(f"  needs {a.count} approval(s) from: {', '.join(a.roles)}")
    table = Table(title=title, caption=f"policy {assessment.policy_version}", show_lines=False)
    table.add_column("rule", style="cyan", no_wrap=True)
    table.add_column("points", justify="right")
    table.add_column("why")
    for r in assessment.reasons:
        extra = " ".join(x for x in (r.floor and f"≥{r.floor}", r.outcome and f"→{r.outcome}") if x)
        table.add_row(r.rule, str(r.points) if r.points else "", Text(f"{r.text} {extra}".strip()))
    if not assessment.reasons:
        table.add_row("-", "", "No rule matched: routine action.")
    table.title = title
    table.caption = f"policy {assessment.policy_version}"
    grid = Table.grid()
    grid.add_row(head)
    grid.add_row(table)
    return grid
