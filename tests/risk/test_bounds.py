"""Argument analysis is bounded and fails closed: past a bound, a human looks, whatever the
policy says, and the reason names the bound and the size."""

from __future__ import annotations

import shlex
import time
from typing import Any

import pytest

from interlock.risk import Action, Assessment, Policy, analyze, default_policy
from interlock.risk.analyzers import (
    MAX_ACTION,
    MAX_COMMANDS,
    MAX_DEPTH,
    MAX_SHELL_DEPTH,
    MAX_SQL_DEPTH,
    MAX_STRING,
    MAX_VALUES,
)

EMPTY = Policy(name="no-rules", rules=())  # nothing but the engine's own fail-closed rules


def _assess(args: dict[str, Any], policy: Policy = EMPTY, tool: str = "shell") -> Assessment:
    return policy.assess(Action(tool=tool, args=args, environment="dev", effects=frozenset()))


def _unchecked(got: Assessment) -> str:
    texts = [r.text for r in got.reasons if r.rule == "fail-closed:unchecked-arguments"]
    assert texts, got.reasons
    return texts[0]


def _nested(command: str, levels: int) -> str:
    for _ in range(levels):
        command = "bash -c " + shlex.quote(command)
    return command


def test_the_bounds_are_the_documented_ones() -> None:
    assert (MAX_STRING, MAX_ACTION, MAX_DEPTH, MAX_VALUES) == (65_536, 262_144, 32, 10_000)
    assert (MAX_SHELL_DEPTH, MAX_COMMANDS, MAX_SQL_DEPTH) == (8, 500, 4)


def test_a_command_over_the_bound_is_reviewed_not_read_in_part() -> None:
    command = "echo ok; " * 8000 + "rm -rf /srv/data"
    got = _assess({"command": command})
    assert got.outcome == "review"
    text = _unchecked(got)
    assert f"{len(command):,} characters" in text
    assert "65,536" in text
    # Not analysed piecemeal: the prefix is not trusted, and nothing pretends to have read it.
    assert got.signals == frozenset({"analysis.incomplete"})


def test_under_the_bound_the_same_command_is_analysed_in_full() -> None:
    command = "echo ok; " * 100 + "rm -rf /srv/data"
    got = _assess({"command": command}, default_policy())
    assert "shell.recursive_delete" in got.signals
    assert not any(r.rule.startswith("fail-closed") for r in got.reasons)


@pytest.mark.parametrize("key", ["sql", "query", "plan", "body_graphql"])
def test_other_analysed_texts_have_the_same_bound(key: str) -> None:
    text = "DELETE FROM t WHERE id = 1; " * 3000
    args = (
        {"graphql": "mutation { x }" + " " * MAX_STRING} if key == "body_graphql" else {key: text}
    )
    got = _assess(args, tool="t")
    assert got.outcome == "review"
    assert "over the bound of 65,536" in _unchecked(got)


def test_an_argv_element_over_the_bound_is_reviewed() -> None:
    got = _assess({"argv": ["bash", "-c", "x" * (MAX_STRING + 1)]})
    assert "one argv element: 65,537 characters" in _unchecked(got)


def test_all_the_arguments_together_have_a_bound() -> None:
    args = {f"note{i}": "x" * 60_000 for i in range(5)}  # never parsed, but 300,000 in all
    got = _assess(args, tool="write_notes")
    assert got.outcome == "review"
    assert "300,000 characters, over the bound of 262,144" in _unchecked(got)
    assert _assess({"note": "x" * 200_000}, tool="write_notes").outcome == "allow"


def test_nesting_past_the_depth_bound_is_reviewed() -> None:
    deep: dict[str, Any] = {"command": "ls"}
    for _ in range(MAX_DEPTH + 5):
        deep = {"inner": deep}
    got = _assess(deep, tool="t")
    assert got.outcome == "review"
    assert "nested more than 32 levels deep" in _unchecked(got)


def test_within_the_depth_bound_a_nested_command_is_still_found() -> None:
    deep: dict[str, Any] = {"command": "rm -rf /"}
    for _ in range(20):
        deep = {"inner": [deep]}
    assert "shell.recursive_delete" in _assess(deep, tool="t").signals


def test_too_many_values_are_reviewed() -> None:
    got = _assess({"ids": list(range(MAX_VALUES + 10))}, tool="t")
    assert "10,011 keys and items, over the bound of 10,000" in _unchecked(got)


def test_a_shared_subtree_is_counted_each_time_it_is_reached() -> None:
    shared: dict[str, Any] = {"command": "rm -rf /x"}
    for _ in range(30):  # 2**30 paths through 30 objects
        shared = {"a": shared, "b": [shared]}
    start = time.perf_counter()
    got = _assess(shared, tool="t")
    assert time.perf_counter() - start < 1.0
    assert got.outcome == "review"


def test_shell_nested_past_its_bound_is_reviewed() -> None:
    got = _assess({"command": _nested("ls", MAX_SHELL_DEPTH + 2)})
    assert got.outcome == "review"
    assert "shell text nested more than 8 levels deep" in _unchecked(got)


def test_shell_nested_within_its_bound_is_followed() -> None:
    got = _assess({"command": _nested("rm -rf /var/lib/data", 5)}, default_policy())
    assert "shell.recursive_delete" in got.signals
    assert got.outcome == "review"


def test_too_many_commands_are_reviewed() -> None:
    got = _assess({"command": "rm -f a.tmp; " * (MAX_COMMANDS + 1)})
    assert "more than 500 shell commands" in _unchecked(got)


def test_sql_run_from_strings_past_its_bound_is_reviewed() -> None:
    sql = "DELETE FROM t WHERE id = 1"
    for level in range(MAX_SQL_DEPTH + 1):
        sql = f"DO $l{level}$ BEGIN {sql}; END $l{level}$"
    got = _assess({"sql": sql}, tool="sql")
    assert "SQL run from strings more than 4 levels deep" in _unchecked(got)


def test_sql_run_from_strings_within_its_bound_is_followed() -> None:
    sql = "DELETE FROM accounts"
    for level in range(MAX_SQL_DEPTH - 1):
        sql = f"DO $l{level}$ BEGIN {sql}; END $l{level}$"
    assert "sql.delete_without_where" in _assess({"sql": sql}, tool="sql").signals


def test_a_rule_cannot_let_unchecked_arguments_through() -> None:
    # Even a policy that allows everything and adds no points still sends them to review.
    got = _assess({"command": "x" * (MAX_STRING + 1)})
    assert (got.outcome, got.level) == ("review", "high")
    assert got.approval is not None


# Shapes that made earlier analyzer regexes backtrack (seconds at 8,000 characters) and the
# worst cases found for the others, each at just under the per-value bound.
ADVERSARIAL = [
    ("plan", "1" * (MAX_STRING - 20) + " to destroy"),
    ("plan", "#" * (MAX_STRING - 20) + " destroy"),
    ("plan", '"delete"' + ('"actions":[' * 6000)[: MAX_STRING - 20]),
    ("command", "chmod " + "o" * (MAX_STRING - 20) + " f"),
    ("command", "$((" * ((MAX_STRING - 1) // 3)),
    ("command", "(" * (MAX_STRING - 1)),
    ("command", "'" * (MAX_STRING - 1)),
    ("command", "a=" * ((MAX_STRING - 1) // 2)),
    ("sql", "$((" * ((MAX_STRING - 1) // 3)),
    ("sql", "UPDATE t SET " * ((MAX_STRING - 1) // 13)),
    ("query", "mutation {" * ((MAX_STRING - 1) // 10)),
    ("body", '"""' + "a" * (MAX_STRING - 10)),
]


@pytest.mark.parametrize(("key", "text"), ADVERSARIAL, ids=[t[:12] for _, t in ADVERSARIAL])
def test_adversarial_text_at_the_bound_is_analysed_in_linear_time(key: str, text: str) -> None:
    args = {key: text} if key != "body" else {"method": "POST", "url": "/", "body": text}
    start = time.perf_counter()
    result = analyze("shell", args)
    took = time.perf_counter() - start
    assert isinstance(result, tuple)
    assert took < 2.0, f"{took:.2f} s"  # quadratic backtracking here takes minutes
