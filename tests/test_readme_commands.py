"""Every shell command in the README runs here, or names the test that runs it.

**Extraction.** Every line of the README's ```bash, ```sh, ```shell and ```console blocks is
a command (in a console block, only the lines after a `$ ` prompt), with `\\` continuations
joined and trailing `# comments` removed. A command added to the README is picked up without
touching any test, and then `test_every_readme_command_is_classified` fails until it is put
in RUN_HERE or COVERED_BY (`tests/readme_commands_table.py`): the README cannot drift from
what is tested.

**Run here.** The safe commands run in a clean copy of the repository, never the repository
itself: the files git tracks, plus new files it does not ignore (`git ls-files --cached
--others --exclude-standard`), as they are in the working tree, copied to a temporary
directory. In CI that is exactly the commit; in a working tree it is what would be committed
(a tracked module may already import a new one), and never `.venv`, `.interlock` or caches.
`INTERLOCK_*` variables are removed from the environment, so the README's defaults apply and
the database is `.interlock/interlock.db` under the copy.

`make demo` really runs there once (module fixture): a fresh `.venv` and a real
`make install` (pip, with the machine's wheel cache and package index). Measured on 2
cores: about 50 s when the machine is idle, 70-90 s when other jobs share the CPU; that is
within the 2 minutes we allow, so no shortcut is taken. The other commands then use that
venv's `interlock` (its `bin` is on PATH, as for a reader who activated it). Blocks run in
README order, one shell per command, preceded by the block's own `export` and `source`
lines, as they would hold in the reader's terminal. Output is read at 200 columns (a wide
terminal), so tables are not cut.

Two substitutions, both things a reader does by hand:

- a review id such as `rv-6c664ee24035` means "an id `interlock pending` printed": it is
  replaced by the id of the most urgent pending review (the same README id stands for the
  same review within a block);
- a `postgresql://` URL names the reader's own database: it is replaced by a brand-new one
  (the `pg_url` fixture), dropped after the test.

**Covered by.** Commands that serve forever, need a browser, or are the test suite itself
name the test that runs them; each entry also names a string that test's file must
contain, as evidence that it really runs the command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.readme_commands_table import (
    COMMANDS,
    COVERED_BY,
    PG_URL,
    REVIEW_ID,
    ROOT,
    RUN_HERE,
    Command,
    CoveredBy,
    RunHere,
    extract,
    matches,
)


def test_the_readme_has_shell_commands_in_several_blocks() -> None:
    texts = [c.text for c in COMMANDS]
    assert texts[:2] == ["make demo", "make test"]
    assert "interlock pending" in texts
    assert len({c.block for c in COMMANDS}) >= 5


def test_every_readme_command_is_classified() -> None:
    problems = []
    for cmd in COMMANDS:
        found = matches(cmd)
        if len(found) != 1:
            what = "matches no entry" if not found else f"matches {len(found)} entries"
            problems.append(f"README line {cmd.line}: {cmd.text!r} {what}")
    assert not problems, (
        "classify each README command in tests/readme_commands_table.py (RUN_HERE if it is "
        "safe to run in a temporary copy, else COVERED_BY naming the test that runs it):\n"
        + "\n".join(problems)
    )


def test_every_classification_is_used_by_the_readme() -> None:
    stale = [
        c.pattern
        for c in (*RUN_HERE, *COVERED_BY)
        if not any(re.fullmatch(c.pattern, cmd.text) for cmd in COMMANDS)
    ]
    assert not stale, f"no README command matches these entries any more: {stale}"


@pytest.mark.parametrize("entry", COVERED_BY, ids=[c.pattern for c in COVERED_BY])
def test_the_covering_test_exists_and_runs_the_command(entry: CoveredBy) -> None:
    path, _, name = entry.test.partition("::")
    source = (ROOT / path).read_text(encoding="utf-8")
    if name:
        assert re.search(rf"^def {re.escape(name)}\(", source, re.M), f"{entry.test} is gone"
    where, text = entry.evidence
    assert text in (ROOT / where).read_text(encoding="utf-8"), f"{where} no longer runs it"


def test_extraction_picks_up_every_kind_of_block() -> None:
    sample = "\n".join(
        [
            "```bash",
            "make demo   # a comment",
            "# a whole-line comment",
            "",
            'interlock decide rv-1 --reject "no # not a comment" \\',
            "    --as sre",
            "```",
            "```python",
            "print('not a shell command')",
            "```",
            "```console",
            "$ interlock pending",
            "rv-1  critical   (output, not a command)",
            "```",
            "```sh",
            "echo 'a # b'#c",
            "```",
        ]
    )
    assert extract(sample) == [
        Command(block=0, line=2, text="make demo"),
        Command(
            block=0, line=5, text='interlock decide rv-1 --reject "no # not a comment" --as sre'
        ),
        Command(block=1, line=12, text="interlock pending"),
        Command(block=2, line=16, text="echo 'a # b'#c"),
    ]


# -- running them ------------------------------------------------------------------------


@dataclass
class Copy:
    root: Path
    env: dict[str, str]
    demo_output: str
    ids: dict[tuple[int, str], str] = field(default_factory=dict)


def _copy_tracked_files(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if listed.returncode != 0:
        pytest.fail(f"git ls-files failed in {ROOT}: {listed.stderr.decode()}", pytrace=False)
    for rel in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree: a user's checkout would not have it
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)


def _environment(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("INTERLOCK_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    """A clean copy of the repository where `make demo` has run (fresh .venv)."""
    root = tmp_path_factory.mktemp("readme-copy")
    _copy_tracked_files(root)
    env = _environment(root)
    proc = subprocess.run(
        ["make", "demo"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"make demo failed in a fresh copy:\n{output[-4000:]}"
    try:
        yield Copy(root=root, env=env, demo_output=output)
    finally:
        # The venv alone is over 1 GB; pytest would keep three runs of it.
        subprocess.run(["rm", "-rf", str(root)], check=False, timeout=600)


def _pending_id(copy: Copy) -> str:
    proc = subprocess.run(
        ["interlock", "pending", "--json"],
        cwd=copy.root,
        env=copy.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pending = json.loads(proc.stdout)
    assert pending, "the README refers to a pending review, but none is pending"
    return str(pending[0]["id"])


def _substitute(cmd: Command, copy: Copy, request: pytest.FixtureRequest) -> str:
    def review(m: re.Match[str]) -> str:
        key = (cmd.block, m.group(0))
        if key not in copy.ids:
            copy.ids[key] = _pending_id(copy)
        return copy.ids[key]

    text = REVIEW_ID.sub(review, cmd.text)
    if PG_URL.search(text):
        text = PG_URL.sub(str(request.getfixturevalue("pg_url")), text)
    return text


def _check(entry: RunHere, cmd: Command, code: int, output: str, root: Path) -> None:
    where = f"README line {cmd.line}: {cmd.text}"
    assert code == entry.exit_code, f"{where}\nexit {code}, expected {entry.exit_code}:\n{output}"
    for text in entry.expect:
        assert text in output, f"{where}\nexpected {text!r} in the output:\n{output}"
    for rel in entry.files:
        path = root / rel
        assert path.exists(), f"{where}\n{rel} was not written"
        assert path.stat().st_size > 0, f"{where}\n{rel} is empty"


# Blocks with at least one command to run here (the others are run by the tests they name).
BLOCKS = sorted({c.block for c in COMMANDS if any(isinstance(m, RunHere) for m in matches(c))})


def _block_id(block: int) -> str:
    first = next(c for c in COMMANDS if c.block == block)
    return f"line{first.line}"


@pytest.mark.parametrize("block", BLOCKS, ids=[_block_id(b) for b in BLOCKS])
def test_readme_block_runs(block: int, copy: Copy, request: pytest.FixtureRequest) -> None:
    prelude: list[str] = []
    for cmd in (c for c in COMMANDS if c.block == block):
        (entry,) = matches(cmd)
        if not isinstance(entry, RunHere):
            continue  # run by the test COVERED_BY names
        if cmd.text == "make demo":  # ran once for the whole module, in the fixture
            _check(entry, cmd, 0, copy.demo_output, copy.root)
            continue
        text = _substitute(cmd, copy, request)
        # They hold for the rest of the block (`eval "$(...)"` sets variables as export does).
        if text.startswith(("export ", "source ", "eval ")):
            prelude.append(text)
            continue
        proc = subprocess.run(
            ["bash", "-c", "\n".join(["set -e", *prelude, text])],
            cwd=copy.root,
            env=copy.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        _check(entry, cmd, proc.returncode, proc.stdout + proc.stderr, copy.root)
