"""Every notebook runs top to bottom on a fresh database, and is committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds the executed tutorials"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: strip outputs of cells {dirty} before committing"
    assert nb.cells[0].cell_type == "markdown"
    assert "What this teaches" in nb.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = nbformat.read(path, as_version=4)
    # A notebook that needs Postgres says so in its metadata; the rest use embedded SQLite.
    wants_pg = nb.metadata.get("interlock", {}).get("postgres", False)
    url = request.getfixturevalue("pg_url") if wants_pg else f"sqlite:///{tmp_path}/nb.db"
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", url)
    monkeypatch.setenv("INTERLOCK_REVIEWERS", str(tmp_path / "reviewers.toml"))
    monkeypatch.setenv("INTERLOCK_OPS_INFRA", str(tmp_path / "ops-infra.json"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute(cwd=os.fspath(tmp_path))
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
