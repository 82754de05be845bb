"""The browser harness of `test_console_browser` (its fixtures and helpers), for the other
browser test modules.

pytest runs with `--import-mode=importlib`: test modules are loaded by path, not by name, so
this loads that module once by path and hands out the same module object every time.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["harness"]

_NAME = "interlock_tests_console_browser"


def harness() -> ModuleType:
    """`tests/ui/test_console_browser.py` as a module (loaded once)."""
    if _NAME not in sys.modules:
        path = Path(__file__).with_name("test_console_browser.py")
        spec = importlib.util.spec_from_file_location(_NAME, path)
        assert spec is not None
        assert spec.loader is not None
        sys.modules[_NAME] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[_NAME])
    return sys.modules[_NAME]
