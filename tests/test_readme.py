"""The README is the user's guide: its order, its examples and its reference tables are true.

- It opens with the two commands, then the sections in the order issue 6 asks for.
- Its Python examples run as written (offline) and its policy YAML loads and does what the
  text says.
- The configuration table names every `INTERLOCK_*` variable the repository reads, and the
  CLI section names every `interlock` command, so neither can fall behind the code.

Its shell commands are run by tests/test_readme_commands.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from interlock.risk import Action, Resource, load_policy
from interlock.ui.cli import app

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, re.S)

SECTIONS = [
    "What Interlock is",
    "Gate your own agent",
    "The policy language",
    "The reviewer console",
    "The CLI",
    "Routing and notifications",
    "Configuration",
    "Running on Postgres",
    "Running at scale",
    "EU AI Act: Articles 12, 14 and 26",
    "Development",
]


def _section(title: str) -> str:
    start = TEXT.index(f"\n## {title}\n")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end != -1 else len(TEXT)]


def test_readme_opens_with_the_two_commands() -> None:
    top = TEXT.splitlines()[:6]
    assert any(line.startswith("make demo") for line in top)
    assert any(line.startswith("make test") for line in top)


def test_sections_come_in_the_order_of_the_issue() -> None:
    assert re.findall(r"^## (.+)$", TEXT, re.M) == SECTIONS


def test_the_console_section_shows_the_screenshot() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _section("The reviewer console"))
    assert "docs/review-page.png" in images
    for image in images:  # each one taken by a browser test, none missing
        assert (ROOT / image).stat().st_size > 10_000


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_example_runs(code: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def _block_with(marker: str) -> str:
    (block,) = [b for b in BLOCKS if marker in b]
    return block


def _printed(code: str, tmp_path: Path) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()


def test_the_gating_example_stops_at_a_critical_review(tmp_path: Path) -> None:
    assert _printed(_block_with("def drop_table("), tmp_path) == ["critical"]


def test_the_create_agent_example_runs_the_read_and_holds_the_refund(tmp_path: Path) -> None:
    # The read ran unattended; the refund stopped for review and ran once approved.
    printed = _printed(_block_with("InterlockMiddleware(tools)"), tmp_path)
    assert printed == ["refund_order high", "refunded 900.0 on o-2"]


def test_the_state_graph_example_runs_the_allowed_read(tmp_path: Path) -> None:
    printed = _printed(_block_with("GatedToolNode(gate)"), tmp_path)
    assert printed == ["api: 3 errors in the last hour"]


def test_the_tracing_example_shows_the_verdict_and_the_spans(tmp_path: Path) -> None:
    printed = _printed(_block_with("use_tracer_provider(provider)"), tmp_path)
    assert printed[0] == "allow low ['interlock:allow', 'interlock:level:low']"
    assert "interlock.gate" in printed[1]
    assert "interlock.execute" in printed[1]


def test_the_three_ways_in_come_in_the_order_users_meet_them() -> None:
    gate_section = _section("Gate your own agent")
    heads = re.findall(r"^### (.+)$", gate_section, re.M)
    assert heads[:3] == [
        "Gate your `create_agent` agent",
        "Your own `StateGraph`: the gated tool step",
        "`create_gated_agent`",
    ]


def test_the_policy_example_loads_and_needs_two_senior_approvers(tmp_path: Path) -> None:
    (yaml_text,) = YAML_BLOCKS
    path = tmp_path / "my-team.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    policy = load_policy(path)
    verdict = policy.assess(
        Action(
            tool="delete_volume",
            environment="staging",
            effects=frozenset({"delete"}),
            reversible=False,
            resource=Resource(
                type="volume", id="vol-1", attributes={"has_independent_backup": False}
            ),
        )
    )
    assert (verdict.outcome, verdict.level) == ("review", "critical")
    assert verdict.approval is not None
    assert verdict.approval.count == 2
    assert "sre-lead" in verdict.approval.roles
    assert any("its backups live on it" in r.text for r in verdict.reasons)


def _variables_in_repository() -> set[str]:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    names: set[str] = set()
    for rel in tracked:
        path = ROOT / rel
        if rel == "README.md" or not path.is_file() or path.suffix in {".png", ".jsonl"}:
            continue
        names.update(re.findall(r"\bINTERLOCK_[A-Z][A-Z_]*[A-Z]\b", path.read_text("utf-8")))
    return names


def test_configuration_names_every_variable_the_code_reads() -> None:
    table = _section("Configuration")
    found = _variables_in_repository()
    assert "INTERLOCK_DATABASE_URL" in found
    missing = sorted(v for v in found if f"`{v}`" not in table)
    assert not missing, f"add these to the README's Configuration tables: {missing}"


def _command_names() -> list[str]:
    group = typer.main.get_command(app)
    names: list[str] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        names += [f"interlock {name} {sub}" for sub in subs] if subs else [f"interlock {name}"]
    return names


def test_the_cli_section_names_every_command() -> None:
    cli = _section("The CLI")
    names = _command_names()
    assert "interlock worker" in names
    missing = [n for n in names if not re.search(rf"`{re.escape(n)}( |`)", cli)]
    assert not missing, f"add these to the README's CLI table: {missing}"
