"""Hostile policy files and corpora: one clear line each, quickly, never a traceback or a hang."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from interlock.risk import ActionError, PolicyError, default_policy, load_corpus, load_policy


def _laughs(levels: int) -> str:
    text = "name: x\nrules: []\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels):
        text += f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n"
    return text


BOMBS = {
    "alias loop": ("a: &a [*a]\n", 1, "alias *a is inside the node &a it repeats"),
    "alias loop in a rule": (
        "name: x\nrules:\n  - &r {id: a, reason: b, when: {any: [*r]}}\n",
        3,
        "never ends. Replace it with the value",
    ),
    "billion laughs": (_laughs(10), 8, "expands to more than 100,000 values through its aliases"),
    "5,000 nested lists": (
        "name: x\nrules: " + "[" * 5000 + "]" * 5000 + "\n",
        2,
        "nests more than 64 levels deep",
    ),
    "5,000 nested mappings": (
        "name: x\nrules: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        2,
        "nests more than 64 levels deep",
    ),
    "5,000 nested block sequences": (
        "name: x\nrules:\n" + "- " * 5000 + "x\n",
        3,
        "indented more than 512 columns deep",
    ),
    "5,000 levels of indentation": (
        "name: x\nrules:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 5000)),
        515,
        "indented more than 512 columns deep",
    ),
    "100 levels, within the indentation guard": (
        "name: x\nrules:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 100)),
        66,
        "nests more than 64 levels deep",
    ),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_yaml_bomb_is_one_policy_error_line(tmp_path: Path, name: str) -> None:
    text, line, what = BOMBS[name]
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert time.perf_counter() - start < 2.0
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: "), message  # where
    assert what in message  # what
    assert any(fix in message for fix in ("flatten", "Replace", "Write the values out"))


def test_ordinary_anchors_and_aliases_still_load(tmp_path: Path) -> None:
    default_policy()  # the bundled policy shares its read-only checks through aliases
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\n"
        "rules:\n"
        "  - id: a\n    reason: r\n    when: &w {tool: [x, y], environment: production}\n"
        "  - id: b\n    reason: r\n    when: *w\n"
    )
    assert [r.when for r in load_policy(path).rules] == [
        {"tool": ["x", "y"], "environment": "production"}
    ] * 2


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ('{"id": "x", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        (
            '{"id": "x", "expected": "allow", "tool": "t", "args": {"n": ' + "9" * 5000 + "}}",
            "digits",
        ),
    ],
)
def test_a_hostile_corpus_line_is_one_action_error_line(
    tmp_path: Path, line: str, what: str
) -> None:
    path = tmp_path / "corpus.jsonl"
    good = {"id": "ok", "expected": "allow", "note": "n", "tool": "t", "args": {}}
    path.write_text(json.dumps(good) + "\n" + line + "\n")
    with pytest.raises(ActionError) as err:
        load_corpus(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:2: cannot be read (")
    assert what in message
    assert "write the action with plain, flat values" in message
