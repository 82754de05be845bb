"""An edit as the reviewer judges it: the arguments old → new, as a markdown table.

Values are shown as JSON in code spans, so a changed token, a number turned into a string,
or an added or removed argument is visible exactly; nothing in them is interpreted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from interlock.ui._console_render import code_span

__all__ = ["ABSENT", "arg_changes", "diff_markdown"]

ABSENT = "(not set)"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def arg_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(argument, old, new) for every argument the edit adds, removes or changes; the
    shown value is JSON, or ABSENT for a missing argument."""
    out = []
    for key in sorted(set(before) | set(after)):
        old = _show(before[key]) if key in before else ABSENT
        new = _show(after[key]) if key in after else ABSENT
        if key not in before or key not in after or before[key] != after[key]:
            out.append((str(key), old, new))
    return out


def _cell(value: str) -> str:
    # A pipe would end the table cell; a code span keeps everything else literal.
    return "*" + ABSENT + "*" if value == ABSENT else code_span(value).replace("|", "\\|")


def diff_markdown(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    rows = arg_changes(before, after)
    if not rows:
        return "No argument changed."
    lines = ["| argument | was | becomes |", "|---|---|---|"]
    lines += [f"| {code_span(k)} | {_cell(o)} | {_cell(n)} |" for k, o, n in rows]
    return "\n".join(lines)
