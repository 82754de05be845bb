"""Oversight tampering: an agent acting on the controls that oversee it.

An agent with a shell holds what its own process holds. Whatever the runtime enforces, the
policy should still refuse the obvious moves against it, and say why:

- `oversight.command`: running the `interlock` CLI's decide, resolve, reviewers, stop,
  resume-scope, db, key(s), prune or `policy publish` commands, `demo --decide`, or Python
  code that drives Interlock's runtime or reviewer side
  (`python -c "from interlock.runtime import ..."`).
- `oversight.settings`: naming Interlock's database, reviewers file, policy file or keys: the
  `.interlock/` directory (its `*.db`, `keys/*.pem`), `reviewers.toml`, and the settings
  `INTERLOCK_DATABASE_URL`, `INTERLOCK_REVIEWERS`, `INTERLOCK_POLICY`,
  `INTERLOCK_SIGNING_KEY`, `INTERLOCK_PUBLIC_KEYS` (reading, writing or setting them).
- `oversight.tables`: SQL on Interlock's tables (`interlock_*`) or LangGraph's checkpoint
  tables (`checkpoints`, `checkpoint_writes`, `checkpoint_blobs`, `checkpoint_migrations`).
- `oversight.cli`: any other `interlock` command that changes something (worker, console,
  demo, ...): an operator's tool, reviewed. The read-only ones (pending, show, stops, audit
  verify/export, policy check/explain/test/replay/pinned, --version, --help) find nothing.

A file configured outside `.interlock/` (a policy at `/etc/ops/policy.yaml`, a key in
`/srv/keys/`) cannot be known to a static policy: the process that runs the gate registers
the paths it was configured with (`protect_paths`; the runtime does it when it opens), and a
word naming one of them, absolute, relative to the working directory, with `~` or as a glob
(`cat /etc/ops/pol*`), is `oversight.settings` too.
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Iterable, Sequence

from interlock.risk.analyzers._findings import Finding, snippet, words

__all__ = [
    "OVERSIGHT_SIGNALS",
    "analyze_interlock",
    "analyze_interlock_code",
    "may_name_protected",
    "oversight_table",
    "protect_paths",
    "protected_paths",
    "setting_named",
    "settings_finding",
]

OVERSIGHT_SIGNALS: dict[str, str] = {
    "oversight.command": (
        "the interlock CLI's decide, resolve, reviewers, stop, resume-scope, db, key, prune or "
        "policy publish commands, demo --decide, or code driving Interlock's runtime"
    ),
    "oversight.settings": (
        "Interlock's database, reviewers file, policy file or keys (.interlock/, "
        "reviewers.toml, INTERLOCK_DATABASE_URL, INTERLOCK_REVIEWERS, INTERLOCK_POLICY, "
        "INTERLOCK_SIGNING_KEY, INTERLOCK_PUBLIC_KEYS)"
    ),
    "oversight.tables": "SQL on Interlock's tables (interlock_*) or LangGraph's checkpoints",
    "oversight.cli": "another interlock command that changes something (worker, console, demo)",
}

# Commands that decide or change who and what oversees the agent.
_TAMPER = words("decide resolve reviewers stop resume-scope db key keys prune")
# Commands that only read; a sub-command list means only those sub-commands.
_READ_ONLY: dict[str, frozenset[str] | None] = {
    "pending": None,
    "show": None,
    "stops": None,
    "audit": words("verify export"),
    "policy": words("check explain test replay pinned"),
}
_SETTINGS = {
    "interlock_database_url": "Interlock's database URL (INTERLOCK_DATABASE_URL)",
    "interlock_reviewers": "Interlock's reviewers file (INTERLOCK_REVIEWERS)",
    "interlock_policy": "Interlock's policy file (INTERLOCK_POLICY)",
    "interlock_signing_key": "Interlock's approval signing key (INTERLOCK_SIGNING_KEY)",
    "interlock_public_key": "Interlock's approval public key (INTERLOCK_PUBLIC_KEYS)",
}
_CHECKPOINT_TABLES = words("CHECKPOINTS CHECKPOINT_WRITES CHECKPOINT_BLOBS CHECKPOINT_MIGRATIONS")
_RUNTIME_CODE = ("interlock.runtime", "interlock.ui", "interlock.nodes", "from interlock import")


_GLOB = frozenset("*?[")
_protected: dict[str, str] = {}
"""Absolute, normalised path -> what it is (`protect_paths`)."""
_names: frozenset[str] = frozenset()
"""Their file names: a word that contains none (and no glob) names none of them."""
_protect_lock = threading.Lock()


def protect_paths(what: str, paths: Iterable[str | os.PathLike[str]]) -> None:
    """Treat `paths` as Interlock's own state in every later assessment in this process:
    a word that names one is `oversight.settings` (`what` says what it is in the finding,
    e.g. "Interlock's policy file"). For the files a deployment configured (its policy,
    reviewers file, database, keys) where the built-in names do not reach."""
    global _names
    with _protect_lock:
        for path in paths:
            full = os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))
            if full != os.sep:  # the root names everything
                _protected[full] = what
        _names = frozenset(os.path.basename(p) for p in _protected)


def protected_paths() -> dict[str, str]:
    """The paths `protect_paths` registered, and what each is."""
    return dict(_protected)


def may_name_protected(text: str) -> bool:
    """False when `text` certainly names no registered path (a quick test, before parsing)."""
    return bool(_protected) and (not _GLOB.isdisjoint(text) or any(name in text for name in _names))


def _glob_hit(pattern: str) -> str | None:
    # `cat *` or `ls *.*` in a protected file's directory is ordinary work; a pattern with a
    # name in it (`sig*`, `*.key`, `pol?cy.yaml`) is aimed.
    if not os.path.basename(pattern).strip("*?.[]"):
        return None
    return next((w for p, w in _protected.items() if fnmatch.fnmatchcase(p, pattern)), None)


def _named_path(text: str) -> str | None:
    """What a registered path `text` names (the word itself, or the value after `=`)."""
    if not may_name_protected(text):
        return None
    globbed = not _GLOB.isdisjoint(text)
    for part in (text, text.rpartition("=")[2], text.removeprefix("file://")):
        if not part or part.startswith("-"):
            continue
        full = os.path.normpath(os.path.abspath(os.path.expanduser(part)))
        what = _protected.get(full)
        if what is not None:
            return what
        if globbed and (hit := _glob_hit(full)) is not None:
            return hit
    # A path written inside a longer word (a sed script, a URL, `--config=...`).
    return next((w for p, w in _protected.items() if p in text), None)


def setting_named(text: str) -> str | None:
    """What of Interlock's own state `text` names (a path, a variable), or None."""
    if _protected:
        what = _named_path(text)
        if what is not None:
            return what
    low = text.lower()
    if "interlock" not in low and "reviewers.toml" not in low:
        return None
    if ".interlock/" in low or low.rstrip("/").endswith(".interlock"):
        return "Interlock's own directory (.interlock/: its database, reviewers and keys)"
    if "reviewers.toml" in low:
        return "Interlock's reviewers file (reviewers.toml)"
    return next((what for name, what in _SETTINGS.items() if name in low), None)


def settings_finding(shown: str, what: str, env: str | None) -> Finding:
    text = (
        f"`{shown}` reads or changes {what}: an agent must not touch the records, people or "
        "keys that oversee it."
    )
    return Finding(signal="oversight.settings", effect="access", text=text, environment=env)


def oversight_table(name: str) -> str | None:
    """Whose table `name` (upper case, unqualified) is, when it is an oversight table."""
    if name.startswith("INTERLOCK_"):
        return "Interlock's own table"
    if name in _CHECKPOINT_TABLES:
        return "LangGraph's checkpoint table"
    return None


def analyze_interlock(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    """The `interlock` CLI (argv after the program name)."""
    pos = [a.lower() for a in argv if not a.startswith("-")]
    shown = snippet(["interlock", *argv])
    if not pos:  # --help, --version, or nothing
        return []
    sub = pos[0]
    tamper = sub in _TAMPER or (sub == "demo" and any(a.startswith("--decide") for a in argv))
    if tamper or (sub == "policy" and pos[1:2] == ["publish"]):
        text = (
            f"`{shown}` runs Interlock's own `{sub}` command: an agent must not approve, "
            "resolve, add reviewers, stop or resume, pin its policy, or change Interlock's "
            "database or keys."
        )
        return [Finding(signal="oversight.command", effect="access", text=text, environment=env)]
    if sub in _READ_ONLY:
        allowed = _READ_ONLY[sub]
        if allowed is None or (len(pos) > 1 and pos[1] in allowed):
            return []
    text = f"`{shown}` runs Interlock's `{sub}` command, an operator's tool: a human should look."
    return [Finding(signal="oversight.cli", effect="config", text=text, environment=env)]


def analyze_interlock_code(code: str, env: str | None = None) -> list[Finding]:
    """`python -c CODE` that drives Interlock's runtime, nodes or reviewer side directly."""
    if "interlock" not in code or not any(m in code for m in _RUNTIME_CODE):
        return []
    text = (
        f"`python -c {snippet(code, 80)}` drives Interlock's runtime directly: an agent must "
        "not record decisions, approvals or stops itself."
    )
    return [Finding(signal="oversight.command", effect="access", text=text, environment=env)]
