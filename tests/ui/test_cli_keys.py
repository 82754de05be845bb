"""`interlock key create | rotate | show` and where keys come from.

The private key is written with mode 600 and never printed; `show` prints public
information only; rotation keeps the old public key trusted, so approvals it signed still
verify; a missing, unreadable or malformed key file is one line and exit 2.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from interlock.nodes import Approval
from interlock.risk.errors import ConfigError
from interlock.runtime import Settings
from interlock.runtime.review.signing import KeyRing, load_signer, public_ring, signer_for

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def _cli(
    tmp: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    return subprocess.run(
        [INTERLOCK, "key", *args],
        capture_output=True,
        text=True,
        cwd=tmp,
        env={**base, **(env or {})},
        timeout=60,
    )


def _approval() -> Approval:
    now = datetime.now(UTC)
    return Approval(
        digest="a" * 64,
        tool="delete_volume",
        thread_id="t-1",
        interrupt_id="i-1",
        tool_call_id="c-1",
        reviewers=("Sam",),
        roles=("sre-lead",),
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        review_id="rv-1",
        policy_version="p-1",
    )


def test_create_writes_a_private_key_600_and_prints_only_the_public_key(tmp_path: Path) -> None:
    done = _cli(tmp_path, "create", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    private = tmp_path / info["private_key"]
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "PRIVATE" not in done.stdout
    assert info["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert (tmp_path / info["public_key_file"]).name == f"{info['key_id']}.pub"
    shown = _cli(tmp_path, "show")
    assert shown.returncode == 0, shown.stderr
    assert info["key_id"] in shown.stdout
    assert "PRIVATE" not in shown.stdout
    again = _cli(tmp_path, "create")
    assert again.returncode == 2
    assert "already exists; use `interlock key rotate`" in again.stderr
    assert "Traceback" not in again.stderr


def test_rotation_keeps_approvals_signed_with_the_old_key_valid(tmp_path: Path) -> None:
    key, public = tmp_path / "k" / "signing.key", tmp_path / "k" / "public"
    assert _cli(tmp_path, "create", "--key", str(key), "--public-dir", str(public)).returncode == 0
    old = load_signer(key)
    signed = old.sign(_approval())
    done = _cli(tmp_path, "rotate", "--key", str(key), "--public-dir", str(public), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (info["old_key_id"], info["key_id"] != old.key_id) == (old.key_id, True)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ring = KeyRing([public])
    assert set(ring.key_ids) == {old.key_id, info["key_id"]}
    assert ring.why_invalid(signed) is None  # issued before the rotation: still good
    assert ring.why_invalid(load_signer(key).sign(_approval())) is None
    (public / f"{old.key_id}.pub").unlink()  # after the approval TTL, the operator removes it
    assert "not trusted" in (KeyRing([public]).why_invalid(signed) or "")


def test_bad_key_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "garbage.key").write_text("not a key\n")
    (tmp_path / "locked.key").write_text("x")
    (tmp_path / "locked.key").chmod(0)
    cases = [
        (("show", "--key", "missing.key"), "does not exist"),
        (("show", "--key", "garbage.key"), "is not an unencrypted PEM private key"),
        (("rotate", "--key", "missing.key"), "does not exist"),
    ]
    if os.geteuid() != 0:  # root reads any file
        cases.append((("show", "--key", "locked.key"), "cannot read"))
    for args, text in cases:
        done = _cli(tmp_path, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert text in done.stderr
        assert "Traceback" not in done.stderr
    env = {"INTERLOCK_SIGNING_KEY": str(tmp_path / "garbage.key")}
    done = _cli(tmp_path, "show", env=env)
    assert done.returncode == 2
    assert "garbage.key is not an unencrypted PEM private key" in done.stderr


def test_the_embedded_mode_makes_a_local_pair_and_postgres_does_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db/interlock.db"
    none = Settings()
    signer = signer_for(none, url)  # first use on the reviewer side: created
    key = tmp_path / "db" / "keys" / "signing.key"
    assert signer.path == key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert public_ring(none, url).key_ids == (signer.key_id,)
    assert signer_for(none, url).key_id == signer.key_id  # the same pair next time
    pg = "postgresql://postgres@127.0.0.1:5432/postgres"
    assert public_ring(none, pg).key_ids == ()
    with pytest.raises(ConfigError, match="set INTERLOCK_SIGNING_KEY"):
        signer_for(none, pg)
    agent = Settings(public_keys=tmp_path / "db" / "keys" / "public")
    assert public_ring(agent, pg).key_ids == (signer.key_id,)
    # A reviewer-side process with only its private key (its worker, say) trusts that key.
    assert public_ring(Settings(signing_key=key), pg).key_ids == (signer.key_id,)


def test_an_approval_signed_in_this_process_checks_by_its_exact_bytes(tmp_path: Path) -> None:
    # A decision resumed in process skips the curve arithmetic for what it just signed, but
    # only for exactly those bytes: any changed field, or a signature the ring did not see
    # made, takes (and fails) the full verification.
    from dataclasses import replace

    key, public = tmp_path / "signing.key", tmp_path / "public"
    assert _cli(tmp_path, "create", "--key", str(key), "--public-dir", str(public)).returncode == 0
    ring = KeyRing([public])
    signer = ring.vouched(load_signer(key))
    signed = signer.sign(_approval())
    assert ring.why_invalid(signed) is None
    for changed in (
        replace(signed, digest="b" * 64),
        replace(signed, reviewers=("mallory",)),
        replace(signed, expires_at=signed.expires_at + timedelta(days=1)),
        replace(signed, signature=signed.signature[:-4] + "AAA="),
    ):
        assert "does not match" in (ring.why_invalid(changed) or "")
    # Another ring never saw it signed: it verifies the signature itself, and it holds.
    assert KeyRing([public]).why_invalid(signed) is None
    # A ring that does not trust the key refuses even what it saw signed.
    other = tmp_path / "other"
    other.mkdir()
    assert "not trusted" in (KeyRing([other]).why_invalid(signed) or "")
