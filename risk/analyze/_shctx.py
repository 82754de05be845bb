"""State shared by the shell analyzer and its per-program handlers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from interlock.risk._model import Effect
from interlock.risk.analyze._findings import Finding, environment_of

__all__ = ["DEVICE", "MAX_DEPTH", "Ctx", "Stdin", "destroy_target"]

MAX_DEPTH = 8
_MAX_COMMANDS = 500
# Block devices; /dev/null, /dev/stdout, terminals and the like are harmless targets.
DEVICE = re.compile(
    r"/dev/(?!null\b|zero\b|std(?:in|out|err)\b|tty|fd/|u?random\b|full\b|pts/|shm/|ptmx\b|"
    r"console\b|log\b|tcp/|udp/)\w"
)
_ROOTS = frozenset(
    {
        "/",
        "/*",
        "~",
        "~/",
        "~/*",
        "$HOME",
        "${HOME}",
        "/home",
        "/etc",
        "/usr",
        "/var",
        "/boot",
        "/root",
        "/bin",
        "/lib",
        "/opt",
        "/srv",
        "*",
        ".",
        "",
    }
)
# Variables that name the environment a command runs in.
_ENV_VARS = ("ENVIRONMENT", "ENV", "STAGE", "APP_ENV", "DEPLOY_ENV", "RAILS_ENV", "NODE_ENV")
PLACE = "interlock.place"  # environment implied by `cd envs/prod` or `ssh prod-db-1`


@dataclass
class Stdin:
    """What a command reads: text (here-doc, here-string, `echo ... |`) or a download."""

    text: str | None = None
    remote: bool = False


@dataclass
class Ctx:
    """Where findings go, the shell variables in effect, and the limits of the analysis."""

    out: list[Finding]
    vars: dict[str, str]
    depth: int = 0
    bulk: str = ""  # why a command runs on many files: "xargs" or "find"
    budget: list[int] = field(default_factory=lambda: [_MAX_COMMANDS])

    def child(self) -> Ctx:
        return Ctx(self.out, dict(self.vars), self.depth + 1, self.bulk, self.budget)

    def env(self, *names: str) -> str | None:
        """The environment of this command: named variables, ENV-like variables, then place."""
        for name in (*names, *_ENV_VARS):
            value = self.vars.get(name)
            if value:
                return environment_of(value, explicit=True)
        return self.vars.get(PLACE)

    def add(self, signal: str, effect: Effect, text: str, env: str | None = None) -> None:
        self.out.append(
            Finding(signal=signal, effect=effect, text=text, environment=env or self.env())
        )


def destroy_target(targets: Sequence[str]) -> bool:
    """True when a path is a root, a home or a system directory (or everything here)."""
    return any(t in _ROOTS or t.rstrip("/") in _ROOTS for t in targets)
