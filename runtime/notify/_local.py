"""Channels that need no server: a JSON Lines file and the terminal (`make demo`)."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

from interlock.runtime.notify._config import FileChannelConfig, TerminalChannelConfig
from interlock.runtime.notify._message import Notification, one_line
from interlock.runtime.notify.errors import ChannelError

__all__ = ["FileChannel", "TerminalChannel", "terminal_line"]

_PERMANENT = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EROFS}


class FileChannel:
    """Appends each notification as one JSON line to a file (created with its folder)."""

    kind = "file"

    def __init__(self, config: FileChannelConfig) -> None:
        self.config = config
        self.name = config.name

    def send(self, note: Notification) -> None:
        path = Path(self.config.path)
        data = (json.dumps(note, sort_keys=True, ensure_ascii=False) + "\n").encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(
                    fd, data
                )  # one write of one line: appends from two processes do not interleave
            finally:
                os.close(fd)
        except OSError as exc:
            retry = exc.errno not in _PERMANENT
            msg = f"cannot append to {path}: {exc.strerror or exc}" + (
                "; will retry." if retry else "."
            )
            raise ChannelError(msg, retry, channel=self.name) from None


def terminal_line(note: Notification) -> str:
    """`note` as one readable line."""
    parts = [f"[interlock notify] {one_line(note['summary'], 400)}"]
    if note["team"]:
        parts.append(f"team {one_line(note['team'], 60)}")
    if note["reasons"]:
        parts.append(f"why: {one_line(note['reasons'][0], 200)}")
    if note["link"]:
        parts.append(note["link"])
    elif note["review_id"]:
        parts.append(f"review {note['review_id']}")
    return " · ".join(parts)


class TerminalChannel:
    """Prints each notification as one line on stderr (or stdout)."""

    kind = "terminal"

    def __init__(self, config: TerminalChannelConfig) -> None:
        self.config = config
        self.name = config.name

    def send(self, note: Notification) -> None:
        stream = sys.stdout if self.config.stream == "stdout" else sys.stderr
        try:
            print(terminal_line(note), file=stream, flush=True)
        except (OSError, ValueError) as exc:  # a closed or broken stream
            msg = f"cannot write to {self.config.stream}: {exc}"
            raise ChannelError(msg, False, channel=self.name) from None
