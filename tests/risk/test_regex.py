"""Policy patterns run on RE2: a catastrophic pattern stays fast, an unrunnable one is one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from interlock.risk import Action, Policy, PolicyError, Rule, load_policy


def _policy_file(tmp_path: Path, predicate: str, key: str = "args") -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "name: p\n"
        "rules:\n"
        "  - id: hit\n"
        "    reason: matched\n"
        "    when:\n"
        f"      {key}:\n"
        f"        value: {predicate}\n"
        "    outcome: review\n"
    )
    return path


def _timed_outcome(policy: Policy, value: str) -> tuple[str, float]:
    action = Action(tool="t", args={"value": value}, effects=frozenset({"read"}))
    start = time.perf_counter()
    outcome = policy.assess(action).outcome
    return outcome, time.perf_counter() - start


@pytest.mark.parametrize("length", [33, 100_000])
def test_a_catastrophic_pattern_loads_and_matches_in_milliseconds(
    tmp_path: Path, length: int
) -> None:
    policy = load_policy(_policy_file(tmp_path, "{regex: '^(a+)+$'}"))
    hit, hit_time = _timed_outcome(policy, "a" * length)
    miss, miss_time = _timed_outcome(policy, "a" * length + "b")  # the backtracking case
    assert (hit, miss) == ("review", "allow")
    assert hit_time < 0.05
    assert miss_time < 0.05


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        (r"(a)\1", "backreferences are not supported"),
        (r"(?=prod)p", "lookaround is not supported"),
        (r"(?!dev)d", "lookaround is not supported"),
        (r"(?<=x)y", "lookaround is not supported"),
        (r"end\Z", r"write the end of the text as \z"),
        ("a{5000}", "repetition"),
    ],
)
def test_a_pattern_re2_cannot_run_is_one_line_that_says_how_to_fix(
    tmp_path: Path, pattern: str, hint: str
) -> None:
    path = _policy_file(tmp_path, "{regex: '" + pattern + "'}")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:7: rules[0].when.args.value.regex: ")
    assert repr(pattern) in message  # what was received
    assert "RE2" in message
    assert "no backreferences, no lookahead or lookbehind" in message  # what is allowed
    assert "split it into a `regex:` and a `not:` condition" in message  # how to fix
    assert hint in message


def test_python_built_policies_refuse_the_same_patterns() -> None:
    with pytest.raises(PolicyError, match=r"rules\[0\]\.when\.args\.x\.regex: .*RE2"):
        Policy(
            name="p", rules=(Rule(id="r", reason="x", when={"args": {"x": {"regex": "(?=a)"}}}),)
        )


def test_verbose_patterns_keep_working(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "name: p\n"
        "rules:\n"
        "  - id: hit\n"
        "    reason: matched\n"
        "    when:\n"
        "      args:\n"
        "        value:\n"
        "          regex: |-\n"
        "            (?x) ^ drop [ ] table   # a literal space, in a class\n"
        "            \\s+ [#]users \\s* $    # and a literal hash\n"
        "    outcome: review\n"
    )
    policy = load_policy(path)
    assert _timed_outcome(policy, "DROP table  #users")[0] == "review"
    assert _timed_outcome(policy, "droptable #users")[0] == "allow"


@pytest.mark.parametrize(
    ("glob", "value", "matches"),
    [
        ("prod-*", "prod-db", True),
        ("prod-*", "PROD-DB", True),  # argument globs ignore case, as before
        ("prod-*", "xprod-db", False),
        ("*-db-*", "eu-db-01", True),
        ("*-db-*", "eu-db", False),
        ("vol-?", "vol-7", True),
        ("vol-?", "vol-77", False),
        ("vol-[0-9]", "vol-7", True),
        ("vol-[!0-9]", "vol-7", False),
        ("a*a*a*a*a*b", "a" * 50_000, False),
        ("exact", "exact", True),
        ("[oops", "[oops", True),  # an open bracket is a literal, as in fnmatch
    ],
)
def test_argument_globs(tmp_path: Path, glob: str, value: str, matches: bool) -> None:
    policy = load_policy(_policy_file(tmp_path, "{glob: '" + glob + "'}"))
    outcome, took = _timed_outcome(policy, value)
    assert outcome == ("review" if matches else "allow")
    assert took < 0.05


def test_tool_globs_are_case_sensitive_and_linear() -> None:
    rule = Rule(id="r", reason="x", when={"tool": ["volume*", "db-?", "*a*a*a*b"]}, points=60)
    policy = Policy(name="p", rules=(rule,))

    def outcome(tool: str) -> str:
        return policy.assess(Action(tool=tool, effects=frozenset({"write"}))).outcome

    assert outcome("volumeDelete") == "review"
    assert outcome("VolumeDelete") == "allow"
    assert outcome("db-1") == "review"
    assert outcome("a" * 20_000) == "allow"


def test_a_bad_glob_class_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"rules\[0\]\.when\.tool: glob 'x\[z-a\]' .*class"):
        Policy(name="p", rules=(Rule(id="r", reason="x", when={"tool": "x[z-a]"}),))


@pytest.mark.parametrize("value", ["a\x00b", "\udcff", "\x1b[31mred", "tab\there\r\n"])
def test_odd_characters_reach_the_pattern_and_never_raise(tmp_path: Path, value: str) -> None:
    policy = load_policy(_policy_file(tmp_path, "{regex: 'a.b|red|here'}"))
    outcome, _ = _timed_outcome(policy, value)
    assert outcome in ("allow", "review")
    assert _timed_outcome(policy, "a\x00b")[0] == "review"  # NUL is an ordinary character
