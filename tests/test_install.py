"""What each install brings in: the core loads no Streamlit and no Postgres driver."""

from __future__ import annotations

import json
import os
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
    out = rt.run("ops_agent", "Fix staging.", options={{"infra": "{tmp_path}/i"}})
    assert out.review_ids, out  # the scenario stops at its critical review
"""
    assert _loaded(code) == []


# Makes the extras' packages unimportable in a subprocess, as in a core-only install.
_WITHOUT_EXTRAS = """
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('psycopg', 'psycopg_pool', 'streamlit', 'authlib') or (
            name.startswith('langgraph.checkpoint.postgres')):
            raise ModuleNotFoundError(f'No module named {name!r}')
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def test_the_demo_and_the_cli_run_on_sqlite_without_any_extra(tmp_path: Path) -> None:
    code = (
        _WITHOUT_EXTRAS
        + "import sys\nfrom interlock.ui.cli import main\nsys.argv = ['interlock'] + sys.argv[1:]\n"
        + "main()\n"
    )
    env = {**os.environ, "INTERLOCK_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    demo = subprocess.run(
        [sys.executable, "-c", code, "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "delete_volume" in demo.stdout
    pending = subprocess.run(
        [sys.executable, "-c", code, "pending", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert pending.returncode == 0, pending.stderr
    assert [r["level"] for r in json.loads(pending.stdout)] == ["critical"]
    # A Postgres URL without the extra: one line that says what to install.
    pg = subprocess.run(
        [sys.executable, "-c", code, "pending", "--db", "postgresql://postgres@127.0.0.1/x"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert pg.returncode == 2
    assert pg.stderr.strip().count("\n") == 0, pg.stderr
    assert "pip install 'interlock[postgres]'" in pg.stderr


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
    assert any(d.startswith("langchain") for d in extras["agents"])
    assert extras["all"] == ["interlock[postgres,console,server,agents]"]
    assert any(d.startswith("agentdojo") for d in extras["bench"])  # `make bench` only
    assert "interlock[all]" in extras["dev"]


def test_interlock_version() -> None:
    exe = Path(sys.executable).with_name("interlock")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(project_version())


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version
