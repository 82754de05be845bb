"""Process settings, read from the environment once and passed around as a value."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_REVIEWERS", "Settings", "protect_files"]

DEFAULT_DATABASE_URL = "sqlite:///./.interlock/interlock.db"
DEFAULT_REVIEWERS = "./.interlock/reviewers.toml"


def _get(environ: Mapping[str, str], name: str) -> str | None:
    # An empty variable means "not set": `INTERLOCK_POLICY= interlock ...` restores the default.
    value = environ.get(name, "").strip()
    return value or None


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where Interlock keeps its state.

    - `database_url`: `INTERLOCK_DATABASE_URL`; checkpoints and Interlock's own tables share it.
      `sqlite:///path` (relative to the working directory; `sqlite:////abs/path` for an
      absolute one) or `postgresql://user@host:port/db`.
    - `policy`: `INTERLOCK_POLICY`; None means the policy bundled with Interlock.
    - `reviewers`: `INTERLOCK_REVIEWERS`; the TOML file of reviewers and password hashes.
    - `langgraph_url`: `INTERLOCK_LANGGRAPH_URL`; when set, threads run on that LangGraph
      Server (`interlock.runtime.server.governed`) instead of in this process.
    - `signing_key`: `INTERLOCK_SIGNING_KEY`; the Ed25519 private key (PEM) approvals are
      signed with. Reviewer side only (console, CLI decisions); never give it to agents.
    - `public_keys`: `INTERLOCK_PUBLIC_KEYS`; a public key file or a directory of `*.pub`
      files that guarded execution verifies approvals with. The agent side (workers,
      graphs on LangGraph Server) is configured with this alone. With neither key set, an
      embedded SQLite database keeps a local pair in `keys/` beside the database file.
    """

    database_url: str = DEFAULT_DATABASE_URL
    policy: Path | None = None
    reviewers: Path = Path(DEFAULT_REVIEWERS)
    langgraph_url: str | None = None
    signing_key: Path | None = None
    public_keys: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default `os.environ`); unset or empty variables: defaults."""
        env = os.environ if environ is None else environ
        policy = _get(env, "INTERLOCK_POLICY")
        signing, public = _get(env, "INTERLOCK_SIGNING_KEY"), _get(env, "INTERLOCK_PUBLIC_KEYS")
        return cls(
            database_url=_get(env, "INTERLOCK_DATABASE_URL") or DEFAULT_DATABASE_URL,
            policy=Path(policy) if policy else None,
            reviewers=Path(_get(env, "INTERLOCK_REVIEWERS") or DEFAULT_REVIEWERS),
            langgraph_url=_get(env, "INTERLOCK_LANGGRAPH_URL"),
            signing_key=Path(signing) if signing else None,
            public_keys=Path(public) if public else None,
        )


def protect_files(
    settings: Settings,
    *,
    database: Path | None = None,
    policy: str | Path | None = None,
    reviewers: Path | None = None,
) -> None:
    """Make the files this process was configured with part of what the policy treats as
    Interlock's own state (`interlock.risk.protect_paths`): an agent's shell or file tool
    that names them (`sed -i ... /etc/ops/policy.yaml`, `cat /srv/keys/signing.pem`) is
    refused wherever they live, not only under `.interlock/`. `database`: the SQLite file
    (with its `-wal`, `-shm` and `-journal` files); `policy`: the file a policy came from
    (`Policy.source`, when it is a file; the bundled policies are always protected);
    `reviewers`: the reviewers file in use (default: the settings')."""
    from interlock.risk import protect_paths

    files: dict[str, list[Path]] = {
        # Where INTERLOCK_POLICY is unset the gate falls back on these: an agent that
        # rewrites the installed copy would choose the next process's policy.
        "Interlock's bundled policy": _bundled_policies(),
        # A policy's source may be a bare name (the bundled `default.yaml`): files only.
        "Interlock's policy file": [
            Path(p) for p in (settings.policy, policy) if p and Path(p).is_file()
        ],
        "Interlock's reviewers file": [reviewers or settings.reviewers],
        "Interlock's approval signing key": [settings.signing_key] if settings.signing_key else [],
        "Interlock's approval public keys": [settings.public_keys] if settings.public_keys else [],
        "Interlock's database": (
            [database, *(database.with_name(database.name + x) for x in _SQLITE_SIDES)]
            if database is not None
            else []
        ),
    }
    for what, paths in files.items():
        if paths:
            protect_paths(what, paths)


_SQLITE_SIDES = ("-wal", "-shm", "-journal")


def _bundled_policies() -> list[Path]:
    """The bundled policy files, as installed and (an editable install links them) where
    they really are."""
    from interlock.risk import BUNDLED_POLICIES, bundled_policy_path

    found: list[Path] = []
    for name in BUNDLED_POLICIES:
        path = bundled_policy_path(name)
        found.extend({path, Path(os.path.realpath(path))})
    return found
