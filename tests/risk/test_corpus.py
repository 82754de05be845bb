"""The bundled policy against its labelled corpus, the JSON Lines files in `risk/corpus/`.

Each line is an action in `Action.from_dict` form plus the outcome a platform team expects.
Labels are judgements, not recorded outputs: a disagreement is either a policy to tune or an
accepted cost, and the only accepted cost is an extra review (one click), never an action
labelled review or deny that runs unattended.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from interlock.risk import OUTCOMES, Action, Assessment, Context, assess, default_policy

# The corpus has no clock; assess it outside the year-end change freeze.
OUTSIDE_FREEZE = Context(now=datetime(2026, 6, 15, 10, tzinfo=UTC))

# Labelled allow, assessed review. Both are accepted: the policy cannot tell them apart from
# their dangerous neighbours without weakening them.
KNOWN_FALSE_REVIEWS = {
    # `kubectl delete` is reviewed outside dev whatever it deletes, one pod included.
    "k-delete-pod-staging",
}
# What the tuned policy achieves, plus a little slack for corpus additions.
MAX_MISSES = len(KNOWN_FALSE_REVIEWS) + 2


def _load() -> list[dict[str, Any]]:
    folder = resources.files("interlock.risk").joinpath("corpus")
    rows: list[dict[str, Any]] = []
    for ref in sorted(folder.iterdir(), key=lambda r: r.name):
        if ref.name.endswith(".jsonl"):
            lines = ref.read_text(encoding="utf-8").splitlines()
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


CORPUS = _load()
DANGEROUS = [row for row in CORPUS if row["expected"] != "allow"]
DENIED = [row for row in CORPUS if row["expected"] == "deny"]


def _assess(row: dict[str, Any]) -> Assessment:
    return assess(Action.from_dict(row), OUTSIDE_FREEZE)


def _explain(row: dict[str, Any], got: Assessment) -> str:
    reasons = "; ".join(f"{r.rule}: {r.text}" for r in got.reasons) or "no rule matched"
    return f"{row['id']} ({row['note']}): expected {row['expected']}, got {got.outcome}. {reasons}"


def test_the_corpus_is_large_labelled_and_loadable() -> None:
    assert len(CORPUS) >= 400
    ids = [row["id"] for row in CORPUS]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    assert all(row["expected"] in OUTCOMES and row["note"].strip() for row in CORPUS)
    assert {row["expected"] for row in CORPUS} == set(OUTCOMES)
    for row in CORPUS:
        Action.from_dict(row)  # every line is a valid action, labels aside


def test_the_corpus_covers_generic_tools_and_every_environment() -> None:
    tools = {row["tool"] for row in CORPUS}
    assert {"shell", "sql", "http_request", "graphql", "kubectl", "terraform", "aws"} <= tools
    assert {"production", "staging", "dev"} <= {row["environment"] for row in CORPUS}
    # Look-alikes: each generic tool has calls labelled allow as well as dangerous ones.
    for tool in ("shell", "sql", "http_request", "graphql", "kubectl", "terraform", "aws"):
        labels = {row["expected"] for row in CORPUS if row["tool"] == tool}
        assert {"allow", "review"} <= labels, tool


@pytest.mark.parametrize("row", DANGEROUS, ids=[row["id"] for row in DANGEROUS])
def test_nothing_labelled_review_or_deny_runs_unattended(row: dict[str, Any]) -> None:
    got = _assess(row)
    assert got.outcome != "allow", _explain(row, got)


@pytest.mark.parametrize("row", DENIED, ids=[row["id"] for row in DENIED])
def test_what_an_agent_must_never_do_is_denied(row: dict[str, Any]) -> None:
    got = _assess(row)
    assert got.outcome == "deny", _explain(row, got)
    assert got.approval is None


def test_agreement_with_the_labels() -> None:
    table: Counter[tuple[str, str]] = Counter()
    misses: dict[str, str] = {}
    for row in CORPUS:
        got = _assess(row)
        table[row["expected"], got.outcome] += 1
        if got.outcome != row["expected"]:
            misses[row["id"]] = _explain(row, got)
    shown = "\n".join(
        f"{e:>6}: " + "  ".join(f"{o} {table[e, o]:3}" for o in OUTCOMES) for e in OUTCOMES
    )
    detail = "\n".join(misses.values())
    assert len(misses) <= MAX_MISSES, f"expected -> assessed\n{shown}\n{detail}"


def test_every_assessment_names_the_policy_version() -> None:
    versions = {_assess(row).policy_version for row in CORPUS[:10]}
    assert versions == {default_policy().version}


def test_every_must_stop_action_is_gated_and_few_benign_ones_are() -> None:
    # Issue 14's acceptance: recall 100 % on must-stop actions, at most 10 % of benign
    # actions gated.
    benign = [row for row in CORPUS if row["expected"] == "allow"]
    gated = [row["id"] for row in benign if _assess(row).outcome != "allow"]
    missed = [row["id"] for row in DANGEROUS if _assess(row).outcome == "allow"]
    assert missed == []
    assert len(gated) <= 0.10 * len(benign), gated
