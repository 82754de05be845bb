"""`interlock stop` warns about a name no review has used (a typo stops nothing that runs)
and stays quiet for a known one; the stop happens either way (scripts stop an environment
before its first review on purpose)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def _stop(console: Any, environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INTERLOCK_REVIEWER_PASSWORD": "correct horse battery", "NO_COLOR": "1"}
    argv = [INTERLOCK, "stop", "--environment", environment, "--as", "ada", "--reason", "INC-7"]
    argv += ["--db", console.env.url]
    if not console.env.url.startswith("postgresql"):  # there the reviewers are the database's
        argv += ["--reviewers", str(console.env.reviewers)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_stopping_an_unknown_name_warns_and_a_known_one_does_not(console: Any) -> None:
    console.pocketos()  # production is now a name the database knows
    typo = _stop(console, "prodution")
    assert typo.returncode == 0, typo.stderr
    assert "no review so far names the environment 'prodution' (known: production)" in (
        " ".join(typo.stderr.split())
    )
    known = _stop(console, "production")
    assert known.returncode == 0, known.stderr
    assert "warning" not in known.stderr
    with console.runtime() as rt:
        assert sorted(s.value for s in rt.stops.active()) == ["production", "prodution"]
