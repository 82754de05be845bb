"""A TOML table walker for the notify file: typed reads that fail with `file:line` and a fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NoReturn

from interlock.runtime.notify._toml_lines import TomlLines
from interlock.runtime.notify.errors import NotifyConfigError

__all__ = ["Reader", "parse_duration"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MAX_TIMEOUT = 120.0
# Keys that would put a secret in the file: each names the key to use instead.
_SECRET_KEYS = {
    "url": "url_env",
    "secret": "secret_env",
    "password": "password_env",
    "webhook_url": "url_env",
}


def parse_duration(text: str) -> timedelta:
    """`"15m"`, `"90s"`, `"1h30m"`, `"2d"`, `"500ms"` -> timedelta; ValueError otherwise."""
    s = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        msg = f"not a duration: {text!r}"
        raise ValueError(msg)
    return timedelta(seconds=total)


class Reader:
    """Walks the parsed document, knowing where each key is in the text."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = TomlLines(text)

    def fail(self, path: tuple[str, ...], message: str) -> NoReturn:
        raise NotifyConfigError(message, source=self.source, line=self.lines.line(path))

    def table(self, value: Any, path: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"{'.'.join(path)} must be a table ([{'.'.join(path)}]).")
        return value

    def only(
        self, table: Mapping[str, Any], path: tuple[str, ...], allowed: tuple[str, ...]
    ) -> None:
        for key in table:
            if key in allowed:
                continue
            name = ".".join((*path, key)) if path else key
            instead = _SECRET_KEYS.get(key)
            if instead and instead in allowed:
                self.fail(
                    (*path, key),
                    f"{name}: secrets never go in the notify file; put the value in an "
                    f'environment variable and name it with {instead} = "VARIABLE".',
                )
            self.fail(
                (*path, key),
                f"unknown key {name!r}; allowed here: {', '.join(allowed)}.",
            )

    def string(self, table: Mapping[str, Any], path: tuple[str, ...], key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(
                (*path, key), f"{'.'.join((*path, key))} must be a non-empty string, got {value!r}."
            )
        return value.strip()

    def required(self, table: Mapping[str, Any], path: tuple[str, ...], key: str, hint: str) -> str:
        value = self.string(table, path, key)
        if value is None:
            self.fail(path, f"{'.'.join(path)} needs {key} ({hint}).")
        return value

    def env_name(self, table: Mapping[str, Any], path: tuple[str, ...], key: str) -> str | None:
        value = self.string(table, path, key)
        if value is not None and not _ENV_NAME.fullmatch(value):
            self.fail(
                (*path, key),
                f"{'.'.join((*path, key))} must name an environment variable (letters, digits, "
                f"_), got {value!r}; the value itself goes in the environment.",
            )
        return value

    def strings(self, table: Mapping[str, Any], path: tuple[str, ...], key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(
                (*path, key),
                f"{'.'.join((*path, key))} must be a list of non-empty strings, got {value!r}.",
            )
        return tuple(dict.fromkeys(v.strip() for v in value))

    def seconds(
        self,
        table: Mapping[str, Any],
        path: tuple[str, ...],
        key: str,
        *,
        at_most: float | None = None,
        example: str = "5s",
    ) -> float | None:
        """`key` as seconds (a duration string, or a number of seconds); None when absent."""
        value = table.get(key)
        if value is None:
            return None
        seconds: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = parse_duration(value).total_seconds()
            except ValueError:
                seconds = None
        if seconds is None or seconds <= 0 or (at_most is not None and seconds > at_most):
            bound = f" and at most {at_most:g}s" if at_most is not None else ""
            number = example.rstrip("smhd")
            self.fail(
                (*path, key),
                f"{'.'.join((*path, key))} must be a duration above 0{bound} "
                f'(e.g. "{example}", or {number} for seconds), got {value!r}.',
            )
        return seconds

    def timeout(self, table: Mapping[str, Any], path: tuple[str, ...], default: float) -> float:
        got = self.seconds(table, path, "timeout", at_most=_MAX_TIMEOUT)
        return default if got is None else got
