"""State shared by the shell analyzer and its per-program handlers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from interlock.risk._model import Effect
from interlock.risk.analyzers._findings import Finding, environment_of
from interlock.risk.analyzers._limits import MAX_COMMANDS, MAX_SHELL_DEPTH, incomplete

__all__ = ["DEVICE", "PLACE", "Ctx", "Stdin", "destroy_target"]

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
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
    secret: str = ""  # the secret the input carries ("~/.aws/credentials (AWS access keys)")
    source: str = ""  # the command on the left of `|`, as the reviewer sees it
    decoded: bool = False  # text is what `base64 -d` (or `xxd -r`) made of known input
    opaque: bool = False  # decoded from input that is not known or not decodable


ScriptFn = Callable[[str, "Ctx"], None]
CommandFn = Callable[[list[str], Stdin, "Ctx"], object]


@dataclass
class Ctx:
    """Where findings go, the shell variables in effect, and the limits of the analysis.

    `script_fn` and `command_fn` are the shell analyzer's own entry points (set by
    `_shell.new_ctx`), so handlers in other modules can analyse the text and commands a
    program runs without importing the analyzer that imports them.
    """

    out: list[Finding]
    vars: dict[str, str]
    depth: int = 0
    bulk: str = ""  # why a command runs on many files: "xargs" or "find"
    budget: list[int] = field(default_factory=lambda: [MAX_COMMANDS])
    script_fn: ScriptFn | None = None
    command_fn: CommandFn | None = None
    feeds: bool = False  # this command's output goes on through `|`
    carry: str = ""  # the secret this command hands the next one through `|`

    def child(self) -> Ctx:
        return Ctx(
            self.out,
            dict(self.vars),
            self.depth + 1,
            self.bulk,
            self.budget,
            self.script_fn,
            self.command_fn,
        )

    def nest(self) -> Ctx | None:
        """A child for shell text run by this command; None (and a finding) past the bound."""
        if self.depth >= MAX_SHELL_DEPTH:
            why = f"shell text nested more than {MAX_SHELL_DEPTH} levels deep"
            self.out.append(incomplete(why))
            return None
        return self.child()

    def script(self, text: str, child: Ctx | None = None) -> None:
        """Analyse `text` as shell that this command runs."""
        inner = child or self.nest()
        if inner is not None and self.script_fn is not None:
            self.script_fn(text, inner)

    def command(self, argv: list[str], child: Ctx | None = None) -> None:
        """Analyse `argv` as a command that this command runs."""
        inner = child or self.nest()
        if inner is not None and self.command_fn is not None:
            self.command_fn(argv, Stdin(), inner)

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
