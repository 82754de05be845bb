"""File tools (`write_file`, `edit_file`, `read_file`, `upload_file`...) given a path.

The tool's name says what it does to the path: a writing tool (write, edit, create, append,
save, patch, replace...) aimed at a persistence target is `persistence.write` or
`package.manifest`, and what it writes into a script that runs later (a hook, an rc file, a
cron table) is analysed as shell, so a hook that downloads and runs a script says so; a
reading tool aimed at a credential file is `secret.read`; a sending tool (upload, send, share,
paste, gist, email) given one is `exfil.secret`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from interlock.risk.analyzers._findings import Finding, snippet, words
from interlock.risk.analyzers._http import words_of
from interlock.risk.analyzers._secrets import persistence_target, remote_host, secret_file
from interlock.risk.analyzers._texts import shell_findings

__all__ = ["file_findings"]

_WRITE = words(
    "write edit create append save patch replace insert update put overwrite modify apply "
    "str_replace multiedit"
)
_READ = words("read view cat open get show load print display")
_SEND = words("upload send share post paste gist email mail publish attach")
_CONTENT = (
    "content", "contents", "text", "file_text", "new_str", "new_string", "new_text", "code",
    "data", "body", "patch", "diff", "insert_text",
)  # fmt: skip


@lru_cache(maxsize=512)
def _verb(tool: str) -> str:
    found = set(words_of(tool[:200]))
    if found & _SEND:
        return "send"
    if found & _WRITE:
        return "write"
    if found & _READ:
        return "read"
    return ""


def file_findings(tool: str, key: str, path: str, args: Mapping[Any, Any]) -> list[Finding]:
    """Findings for `path` given under `key` to a file tool (empty for most calls)."""
    verb = _verb(tool)
    if not verb or len(path) > 1000:
        return []
    shown = f"{tool} {snippet(path, 80)}"
    if verb == "write":
        target = persistence_target(path)
        if target is None:
            return []
        signal, what = target
        out = [Finding(signal=signal, effect="config", text=f"`{shown}` writes {path}, {what}.")]
        content = next((args[k] for k in _CONTENT if isinstance(args.get(k), str)), None)
        if content and signal == "persistence.write":
            out.extend(shell_findings(content[:65_536], ""))
        return out
    held = secret_file(path)
    if held is None:
        return []
    if verb == "read":
        text = f"`{shown}` reads {path} ({held})."
        return [Finding(signal="secret.read", effect="read", text=text)]
    dest = next((v for k, v in args.items() if k != key and isinstance(v, str) and "://" in v), "")
    where = remote_host(dest) or "somewhere off this host"
    text = f"`{shown}` reads {path} ({held}) and sends it to {where}."
    return [Finding(signal="exfil.secret", effect="network", text=text)]
