"""The compiled policy: the engine's derived state lives in its own object, not in `Policy`."""

from __future__ import annotations

import ast
import copy
from importlib import resources

from interlock.risk import Action, Policy, Rule, assess, default_policy


def _imports(module: str) -> set[str]:
    text = resources.files("interlock.risk").joinpath(f"{module}.py").read_text()
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_engine_and_policy_modules_do_not_import_each_other() -> None:
    engine = _imports("_engine")
    assert "interlock.risk._policy" not in engine
    assert not any(name.startswith("interlock.risk._policy.") for name in engine)
    assert "interlock.risk._engine" in _imports("_policy")


def test_assessing_never_writes_to_the_frozen_policy() -> None:
    policy = Policy(
        name="p",
        rules=(Rule(id="r", reason="changes {tool}", when={"tool": "x*"}, points=60),),
    )
    before = copy.copy(policy.__dict__)
    for tool in ("x1", "x2", "y"):
        policy.assess(Action(tool=tool, effects=frozenset({"write"})))
    assert policy.__dict__ == before


def test_cleared_cache_gives_the_same_assessment() -> None:
    policy = default_policy()
    action = Action(tool="shell", args={"command": "rm -rf /srv/data"}, environment="staging")
    warm = policy.assess(action)
    policy.engine.clear_cache()
    assert policy.assess(action) == warm == assess(action)
