"""The local reviewers file: who may decide, with which roles, and their password hashes.

A TOML file (`INTERLOCK_REVIEWERS`, default `./.interlock/reviewers.toml`)::

    [[reviewer]]
    name = "alice"
    roles = ["oncall"]
    display = "Alice Martin"            # optional
    password_hash = "scrypt$16384$8$1$<salt b64>$<hash b64>"

Passwords are hashed with scrypt (N=2^14, r=8, p=1) and a random 16-byte salt per reviewer,
and checked in constant time. The file is written atomically with mode 600.

This file is the reviewers of the embedded SQLite mode, which trusts the local user: whoever
can write the file decides who reviews. On Postgres the reviewers live in the database
(`interlock_reviewers`, which only the reviewer role may write; see `_reviewer_table`) and
no file named by the environment is read. Names are unique case-insensitively and looked up
that way (`identity_key`).

Demo reviewers (`ensure_demo_reviewers`) exist so that a newcomer can decide on the
embedded SQLite default without any set-up. Their password is `DEMO_PASSWORD` ("demo"),
their names end in `-demo` and they carry `demo = true`; they are never created for a
Postgres URL unless asked for with `force=True`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from interlock.risk.errors import AuthorizationError, ConfigError, NotFoundError
from interlock.runtime.review._identity import identity_key
from interlock.runtime.review._passwords import _parse_hash, hash_password, verify_password
from interlock.runtime.store._db import parse_database_url

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_REVIEWERS",
    "MIN_PASSWORD_LENGTH",
    "Reviewer",
    "Reviewers",
    "check_new_reviewer",
    "check_password",
    "check_reviewer_fields",
    "ensure_demo_reviewers",
    "hash_password",
    "verify_password",
]

DEMO_PASSWORD = "demo"
DEMO_REVIEWERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("oncall-demo", ("oncall",), "On-call engineer (demo account)"),
    ("sre-lead-demo", ("sre-lead",), "SRE lead (demo account)"),
    ("admin-demo", ("admin",), "Administrator (demo account)"),
)
MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_KEYS = {"name", "roles", "display", "password_hash", "demo"}
_HEADER = (
    "# Interlock reviewers: names, roles and scrypt password hashes.\n"
    "# Manage with `interlock reviewers add NAME --role ROLE`. Keep this file private.\n"
)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


@dataclass(frozen=True, kw_only=True)
class Reviewer:
    """A person who may decide, as authenticated: never taken from a request payload."""

    name: str
    roles: tuple[str, ...]
    display: str | None = None
    demo: bool = False
    password_hash: str = field(default="", repr=False)

    @property
    def label(self) -> str:
        return f"{self.display} ({self.name})" if self.display else self.name

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def to_dict(self) -> dict[str, Any]:
        """Public fields only: never the hash."""
        return {
            "name": self.name,
            "roles": list(self.roles),
            "display": self.display,
            "demo": self.demo,
        }


def _check_name(kind: str, value: object, where: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        msg = (
            f"{where}{kind} {value!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' "
            "or '-', starting with a letter or digit."
        )
        raise ConfigError(msg)
    return value


def _check_display(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200 or not value.isprintable():
        msg = f"{where}display must be printable text of at most 200 characters, got {value!r}."
        raise ConfigError(msg)
    return value or None


def _reviewer_from_toml(entry: object, where: str) -> Reviewer:
    if not isinstance(entry, dict):
        msg = f"{where}each [[reviewer]] must be a table."
        raise ConfigError(msg)
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        msg = f"{where}unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}."
        raise ConfigError(msg)
    name = _check_name("name", entry.get("name"), where)
    where = f"{where}reviewer {name!r}: "
    roles = entry.get("roles")
    if not isinstance(roles, list) or not roles:
        msg = f'{where}roles must be a non-empty list of role names, like roles = ["oncall"].'
        raise ConfigError(msg)
    hashed = entry.get("password_hash")
    try:
        _parse_hash(hashed if isinstance(hashed, str) else "")
    except ValueError as exc:
        msg = f"{where}{exc}; set it with `interlock reviewers add {name} --role ... --replace`."
        raise ConfigError(msg) from None
    demo = entry.get("demo", False)
    if not isinstance(demo, bool):
        msg = f"{where}demo must be true or false."
        raise ConfigError(msg)
    return Reviewer(
        name=name,
        roles=tuple(_check_name("role", r, where) for r in roles),
        display=_check_display(entry.get("display"), where),
        demo=demo,
        password_hash=str(hashed),
    )


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes, except that TOML also wants
    # DEL escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _to_toml(reviewers: Iterable[Reviewer]) -> str:
    chunks = [_HEADER]
    for r in reviewers:
        lines = ["", "[[reviewer]]", f"name = {_toml_str(r.name)}"]
        lines.append(f"roles = [{', '.join(_toml_str(x) for x in r.roles)}]")
        if r.display:
            lines.append(f"display = {_toml_str(r.display)}")
        if r.demo:
            lines.append("demo = true")
        lines.append(f"password_hash = {_toml_str(r.password_hash)}")
        chunks.append("\n".join(lines) + "\n")
    return "".join(chunks)


class Reviewers:
    """The reviewers of one file. `load` it, then `authenticate`, `get` or `add`."""

    def __init__(self, path: Path, reviewers: Mapping[str, Reviewer] | None = None) -> None:
        self.path = Path(path)
        self._by_name: dict[str, Reviewer] = dict(reviewers or {})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Reviewers:
        """Read `path`; a file that does not exist yet gives an empty set of reviewers."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read reviewers file {path}: {exc}"
            raise ConfigError(msg) from None
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"{path}: not valid TOML: {exc}"
            raise ConfigError(msg) from None
        extra = sorted(set(doc) - {"reviewer"})
        entries = doc.get("reviewer", [])
        if extra or not isinstance(entries, list):
            msg = f"{path}: expected only [[reviewer]] tables, found {', '.join(extra) or 'other'}."
            raise ConfigError(msg)
        by_name: dict[str, Reviewer] = {}
        for i, entry in enumerate(entries, start=1):
            reviewer = _reviewer_from_toml(entry, f"{path}: reviewer #{i}: ")
            if any(identity_key(n) == identity_key(reviewer.name) for n in by_name):
                msg = f"{path}: reviewer {reviewer.name!r} appears twice; keep one entry."
                raise ConfigError(msg)
            by_name[reviewer.name] = reviewer
        return cls(path, by_name)

    def __iter__(self) -> Iterator[Reviewer]:
        return iter(sorted(self._by_name.values(), key=lambda r: r.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def where(self) -> str:
        return f"reviewers file {self.path}"

    def reload(self) -> Reviewers:
        """The file as it is now (reviewers added or removed since `load` count)."""
        return Reviewers.load(self.path)

    def _lookup(self, name: str) -> Reviewer | None:
        key = identity_key(name)
        return next((r for r in self._by_name.values() if identity_key(r.name) == key), None)

    def get(self, name: str) -> Reviewer:
        """The reviewer called `name` (case-insensitively), or NotFoundError saying how to add
        one."""
        found = self._lookup(name)
        if found is not None:
            return found
        where = "" if self.path.exists() else " (the file does not exist yet)"
        msg = (
            f"unknown reviewer {name!r} in {self.path}{where}. Add one with "
            f"`interlock reviewers add {name} --role ROLE`, or pick another name."
        )
        raise NotFoundError(msg)

    def authenticate(self, name: str, password: str) -> Reviewer:
        """The reviewer when `password` is right; NotFoundError or AuthorizationError if not."""
        reviewer = self._lookup(name)
        if reviewer is None:
            verify_password(password, _dummy_hash())  # same cost as a real check
            self.get(name)
        assert reviewer is not None
        if not verify_password(password, reviewer.password_hash):
            msg = f"wrong password for reviewer {name!r} ({self.path})."
            raise AuthorizationError(msg)
        from interlock.runtime.review.principal import principal_for

        return principal_for(reviewer, "password")  # the only identity decisions accept

    def add(
        self,
        name: str,
        roles: Iterable[str],
        password: str,
        *,
        display: str | None = None,
        replace: bool = False,
    ) -> Reviewer:
        """Add (or with `replace`, update) a reviewer and write the file."""
        reviewer = check_new_reviewer(name, roles, password, display)
        self._put([reviewer], replace=replace)
        return reviewer

    def remove(self, name: str) -> Reviewer:
        """Remove a reviewer from the file; the one removed."""
        fresh = Reviewers.load(self.path)
        gone = fresh.get(name)
        del fresh._by_name[gone.name]
        _write_private(self.path, _to_toml(fresh))
        self._by_name = fresh._by_name
        return gone

    def passwd(self, name: str, password: str) -> Reviewer:
        """Give a reviewer a new password (roles and display unchanged)."""
        check_password(name, password)
        old = Reviewers.load(self.path).get(name)
        new = Reviewer(
            name=old.name,
            roles=old.roles,
            display=old.display,
            demo=False,
            password_hash=hash_password(password),
        )
        self._put([new], replace=True)
        return new

    def _put(
        self, new: Iterable[Reviewer], *, replace: bool, skip_existing: bool = False
    ) -> list[Reviewer]:
        # Re-read first so that an add from another process since our load is not lost.
        fresh = Reviewers.load(self.path)._by_name
        added: list[Reviewer] = []
        for r in new:
            same = [n for n in fresh if identity_key(n) == identity_key(r.name)]
            if same and skip_existing:
                continue
            if same and not replace:
                msg = (
                    f"reviewer {same[0]!r} already exists in {self.path} (names are compared "
                    "case-insensitively); pass --replace to change its roles and password."
                )
                raise ConfigError(msg)
            for n in same:
                del fresh[n]
            fresh[r.name] = r
            added.append(r)
        if added:
            _write_private(self.path, _to_toml(sorted(fresh.values(), key=lambda r: r.name)))
        self._by_name = fresh
        return added


def check_password(name: str, password: str) -> None:
    """A ConfigError when `password` is too short for reviewer `name`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = (
            f"the password for {name!r} has {len(password)} characters; use at least "
            f"{MIN_PASSWORD_LENGTH}."
        )
        raise ConfigError(msg)


def check_new_reviewer(
    name: str, roles: Iterable[str], password: str, display: str | None
) -> Reviewer:
    """A new reviewer with a hashed password, after checking every field (one line each)."""
    name, role_list, shown = check_reviewer_fields(name, roles, display)
    check_password(name, password)
    return Reviewer(
        name=name, roles=role_list, display=shown, password_hash=hash_password(password)
    )


def check_reviewer_fields(
    name: str, roles: Iterable[str], display: str | None
) -> tuple[str, tuple[str, ...], str | None]:
    """The name, roles (deduplicated) and display of a new reviewer, checked (one line
    each): done before a password is asked for, so a typo does not cost a prompt."""
    name = _check_name("reviewer name", name, "")
    role_list = tuple(dict.fromkeys(_check_name("role", r, "") for r in roles))
    if not role_list:
        msg = f"reviewer {name!r} needs at least one role (--role oncall, for example)."
        raise ConfigError(msg)
    return name, role_list, _check_display(display, "")


def _write_private(path: Path, text: str) -> None:
    """Write atomically (temp file + rename) with mode 600: the file holds password hashes."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        msg = f"cannot write reviewers file {path}: {exc.strerror or exc}"
        raise ConfigError(msg) from None


def ensure_demo_reviewers(
    path: str | os.PathLike[str], url: str, *, force: bool = False
) -> list[Reviewer]:
    """Create the demo reviewers that are missing from `path`; the ones created.

    Only for a SQLite `url` (the embedded default), unless `force`: a shared Postgres
    deployment must not get accounts with a published password by accident.
    """
    if parse_database_url(url).dialect != "sqlite" and not force:
        return []
    reviewers = Reviewers.load(path)
    missing = [
        Reviewer(
            name=name,
            roles=roles,
            display=display,  # never the password: labels are shown on screens
            demo=True,
            password_hash=hash_password(DEMO_PASSWORD),
        )
        for name, roles, display in DEMO_REVIEWERS
        if name not in reviewers
    ]
    return reviewers._put(missing, replace=False, skip_existing=True) if missing else []
