"""What each install brings in: the core loads no Streamlit and no Postgres driver."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# (langgraph_sdk is not here: LangGraph itself imports it.)
HEAVY = ("streamlit", "psycopg", "psycopg_pool", "pandas", "pyarrow", "authlib")


def _loaded(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "code",
    [
        "import interlock.risk",
        "import interlock.nodes",
        "import interlock.graphs",
        "from interlock.graphs import create_gated_agent, scripted_ops_agent",
        "import interlock.graphs.ops_agent",
        "import interlock.runtime",
        "from interlock.ui import cli",
    ],
)
def test_the_core_loads_no_console_postgres_or_server_packages(code: str) -> None:
    assert _loaded(code) == []


def test_a_gated_agent_on_sqlite_runs_without_the_extras(tmp_path: Path) -> None:
    code = f"""
from interlock.runtime import Runtime
with Runtime.open("sqlite:///{tmp_path}/x.db") as rt:
    rt.run("ops_agent", {{"messages": [("user", "hi")]}}, options={{"infra": "{tmp_path}/i"}})
"""
    assert _loaded(code) == []


def test_the_extras_split_the_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for heavy in ("streamlit", "psycopg", "langgraph-checkpoint-postgres", "langgraph-sdk"):
        assert heavy not in core
    assert "tzdata" in core
    assert any(d.startswith("psycopg") for d in extras["postgres"])
    assert any(d.startswith("streamlit") for d in extras["console"])
    assert any(d.startswith("langgraph-sdk") for d in extras["server"])
    assert extras["all"] == ["interlock[postgres,console,server]"]
    assert "interlock[all]" in extras["dev"]


def test_interlock_version() -> None:
    exe = Path(sys.executable).with_name("interlock")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(project_version())


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version
