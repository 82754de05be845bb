"""The real-browser harness of `test_console_browser.py` (a live console, Debian's Chromium),
loaded by path so other browser test files reuse the same fixtures and helpers (pytest runs
with `--import-mode=importlib`, where test modules are not importable by name)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["harness"]


def harness() -> ModuleType:
    """The `test_console_browser` module, imported once."""
    name = "interlock_tests_console_browser"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).with_name("test_console_browser.py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
