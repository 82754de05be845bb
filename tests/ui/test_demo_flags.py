"""`interlock demo`'s flags: stray or mismatched ones are refused in one line before anything
opens or runs, and the scripted agent's summary tells what really happened (a reviewer's
`respond` is not the tool's own result)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def _demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env.update(
        COLUMNS="200",
        INTERLOCK_REVIEWERS=str(cwd / "reviewers.toml"),
        INTERLOCK_OPS_INFRA=str(cwd / "infra.json"),
    )
    return subprocess.run(
        [INTERLOCK, "demo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--message", "hi"), "--message answers a review, so it goes with --decide"),
        (("--args", "{}", "--role", "x"), "--args and --role answer a review"),
        (("--decide", "maybe"), "--decide 'maybe' is not a decision; use one of: approve"),
        (("--decide", "approve", "--args", "{}"), "--args goes with --decide edit"),
        (("--decide", "reject", "--role", "admin"), "--role goes with --decide escalate"),
        (("--decide", "edit"), "--decide edit needs --args"),
    ],
    ids=["message-alone", "args-role-alone", "unknown", "approve-args", "reject-role", "edit"],
)
def test_flags_that_would_be_ignored_are_refused_before_anything_runs(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    out = _demo(tmp_path, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.startswith("error: ")
    assert out.stderr.count("\n") == 1, out.stderr
    assert says in out.stderr
    assert out.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no database, no thread


def test_a_respond_in_place_of_the_rotation_is_not_narrated_as_a_rotation(
    tmp_path: Path,
) -> None:
    steps = [
        (),
        ("--decide", "reject", "--message", "Never delete production volumes."),
        ("--decide", "approve"),  # the snapshot
    ]
    for args in steps:
        out = _demo(tmp_path, *args)
        assert out.returncode == 0, out.stderr
    assert "rotate_credential" in out.stdout  # the rotation waits for a human
    last = _demo(tmp_path, "--decide", "respond", "--message", "Rotated it by hand")
    assert last.returncode == 0, last.stderr
    assert "decision respond on review" in last.stdout
    assert "→ recorded; the thread resumes" in last.stdout
    assert "Credential rotated" not in last.stdout
    assert "I did not rotate the staging credential" in last.stdout
    assert "(the reviewer said: Rotated it by hand)" in last.stdout
    assert "api-staging: failing" in last.stdout


def test_a_refused_decision_prints_only_its_error(tmp_path: Path) -> None:
    assert _demo(tmp_path).returncode == 0
    out = _demo(tmp_path, "--decide", "escalate", "--role", "oncall")
    assert out.returncode == 2
    assert "escalation only goes up the ladder" in out.stderr
    assert "resumes" not in out.stdout
