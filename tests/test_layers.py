"""The import rules between Interlock's packages, checked from the source with `ast`.

The folders are mapped onto `interlock.*` by setuptools' package-dir, so tools that read
folders cannot see these names; this module maps them back (from pyproject.toml) and checks
every import, including those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Which top-level packages each one may import (itself is always allowed).
ALLOWED: Mapping[str, frozenset[str]] = {
    "risk": frozenset(),
    "nodes": frozenset({"risk"}),
    "graphs": frozenset({"nodes", "risk"}),
    "runtime": frozenset({"nodes", "risk"}),
    "ui": frozenset({"graphs", "nodes", "risk", "runtime"}),
}


@dataclass(frozen=True, kw_only=True)
class Violation:
    path: Path
    line: int
    module: str
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.imported}: {self.why}"


def package_dirs(root: Path) -> dict[str, Path]:
    """`interlock.x.y` -> folder, from pyproject.toml's package-dir mapping."""
    data = tomllib.loads((root / "pyproject.toml").read_text())
    mapping: dict[str, str] = data["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in mapping.items()}


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    """Every module of the mapped packages as (dotted name, file)."""
    dirs = package_dirs(root)
    for name, folder in sorted(dirs.items()):
        for path in sorted(folder.glob("*.py")):
            stem = path.stem
            yield (name if stem == "__init__" else f"{name}.{stem}"), path


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([base] if base else []))
            for alias in node.names:
                # `from interlock.runtime import _x` imports the module `_x`
                yield node.lineno, f"{base}.{alias.name}" if alias.name.startswith("_") else base


# Third-party packages a package must not import: the policy engine stays pure.
FORBIDDEN: Mapping[str, tuple[str, ...]] = {"risk": ("langgraph", "langchain", "langchain_core")}


def _top(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "interlock" else None


def check(root: Path) -> list[Violation]:
    """Every import that breaks the matrix or reaches into another package's private module."""
    found: list[Violation] = []
    for module, path in modules(root):
        own = _top(module)
        assert own is not None
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, imported in _imports(tree, module, path.name == "__init__.py"):
            target = _top(imported)
            if imported.split(".")[0] in FORBIDDEN.get(own, ()):
                why = f"{own} is pure: it may not import {imported.split('.')[0]}"
                found.append(
                    Violation(path=path, line=line, module=module, imported=imported, why=why)
                )
                continue
            if target is None or target == own:
                continue
            if target not in ALLOWED.get(own, frozenset()):
                why = f"{own} may import only {sorted(ALLOWED.get(own, ())) or 'nothing of ours'}"
                found.append(
                    Violation(path=path, line=line, module=module, imported=imported, why=why)
                )
                continue
            private = [p for p in imported.split(".")[2:] if p.startswith("_")]
            if private:
                why = f"{private[0]} is private to interlock.{target}; import its public name"
                found.append(
                    Violation(path=path, line=line, module=module, imported=imported, why=why)
                )
    return found


def test_the_packages_import_one_way_and_only_public_names() -> None:
    found = check(ROOT)
    assert not found, "\n".join(map(str, found))


def test_every_package_folder_is_checked() -> None:
    names = {name for name, _ in modules(ROOT)}
    # the five packages and the runtime's rooms are all read
    for expected in (
        "interlock.risk",
        "interlock.nodes",
        "interlock.graphs",
        "interlock.ui",
        "interlock.runtime.store",
        "interlock.runtime.execution",
        "interlock.runtime.decisions",
    ):
        assert expected in names
    assert len(names) > 100


def _fixture(tmp_path: Path, files: Mapping[str, str]) -> Path:
    """A small tree laid out as ours: folders mapped onto interlock.* by pyproject.toml."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.setuptools.package-dir]\n"
        + "".join(f'"interlock.{p}" = "{p}"\n' for p in ALLOWED)
        + '"interlock.runtime.store" = "runtime/store"\n'
    )
    for p in (*ALLOWED, "runtime/store"):
        (tmp_path / p).mkdir(parents=True, exist_ok=True)
        (tmp_path / p / "__init__.py").write_text("")
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"runtime/store/setup.py": "def f():\n    from interlock.graphs import ops_agent\n"},
            "interlock.runtime.store.setup imports interlock.graphs: runtime may import only",
        ),
        (
            {"risk/_x.py": "from interlock.nodes import Gate\n"},
            "interlock.risk._x imports interlock.nodes: risk may import only nothing of ours",
        ),
        (
            {"risk/_y.py": "import langgraph.types\n"},
            "interlock.risk._y imports langgraph.types: risk is pure",
        ),
        (
            {"ui/cli.py": "from interlock.runtime.store._db import redact\n"},
            "_db is private to interlock.runtime",
        ),
        (
            {"ui/cli.py": "from interlock.runtime import _runtime\n"},
            "_runtime is private to interlock.runtime",
        ),
        (
            {
                "nodes/_g.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from interlock.runtime import Runtime\n"
            },
            "interlock.nodes._g imports interlock.runtime: nodes may import only ['risk']",
        ),
    ],
)
def test_a_violation_in_a_fixture_tree_is_reported(
    tmp_path: Path, files: Mapping[str, str], expected: str
) -> None:
    found = check(_fixture(tmp_path, files))
    assert len(found) == 1, found
    assert expected in str(found[0])


def test_the_fixture_tree_without_violations_passes(tmp_path: Path) -> None:
    tree = _fixture(
        tmp_path,
        {
            "ui/cli.py": "from interlock.runtime import Runtime\nfrom interlock.graphs import x\n",
            "runtime/store/_db.py": "from interlock.nodes import Gate\nimport interlock.risk\n",
            "runtime/run.py": "from interlock.runtime.store._db import Conn\n",  # own package
        },
    )
    assert check(tree) == []
