"""Text every backend can store: what Postgres and SQLite refuse is replaced, never an error.

Postgres text cannot hold U+0000 (NUL), and neither backend can encode a lone surrogate
(U+D800-U+DFFF, which Python strings may carry but UTF-8 cannot). Tool outputs, the
arguments an agent proposes and names a client sends may contain either; the storage
boundary (`Conn` binds every string parameter through `storable`, the audit log prepares
each row with it before hashing) replaces each such code point with U+FFFD, the same way on
both backends. JSON stored in text columns keeps NUL exactly, escaped as `\\u0000`.

A reviewer's edit containing them is refused before anything is recorded instead (see
`interlock.nodes.check_args`): an approval must bind what the reviewer typed.
"""

from __future__ import annotations

import re

__all__ = ["REPLACEMENT", "storable"]

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (the same object when clean)."""
    if "\x00" not in text:
        if text.isascii():
            return text
        try:
            text.encode("utf-8")  # fails only on a lone surrogate; cheaper than a search
        except UnicodeEncodeError:
            pass
        else:
            return text
    return _UNSTORABLE.sub(REPLACEMENT, text)
