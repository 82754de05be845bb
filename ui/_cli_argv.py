"""An option that took the next option as its value: `decide R --reject --as alice`.

Click gives `--reject` the text `--as` as its message, so the command either fails with a
misleading error (`Missing option '--as'`) or, worse, runs with that text (`--reject
--no-resume` rejects with the message "--no-resume" and resumes). This is found before the
command runs, from the command line alone, and said in one line.

The command tree is read by its attributes (`commands`, `params`, `opts`): Typer carries its
own copy of Click, whose classes are private to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

__all__ = ["swallowed_option"]


def _subcommands(cmd: Any) -> dict[str, Any]:
    found = getattr(cmd, "commands", None)
    return found if isinstance(found, dict) else {}


def _command(root: Any, argv: Sequence[str]) -> tuple[Any, list[str], str]:
    """The (sub)command `argv` names, the tokens that follow its name, and its full name
    (`interlock reviewers add`)."""
    cmd, rest = root, list(argv)
    path = [str(getattr(root, "name", None) or "interlock")]
    while _subcommands(cmd):
        names = [i for i, tok in enumerate(rest) if not tok.startswith("-")]
        if not names:
            break
        sub = _subcommands(cmd).get(rest[names[0]])
        if sub is None:
            break
        path.append(rest[names[0]])
        cmd, rest = sub, rest[names[0] + 1 :]
    return cmd, rest, " ".join(path)


def swallowed_option(root: Any, argv: Sequence[str]) -> str | None:
    """The one-line error for an option of the command whose value is another of its
    options (`--reject --as`), or None when there is none. `--reject=--as` is left alone:
    that value was given on purpose."""
    cmd, rest, path = _command(root, argv)
    valued: dict[str, Any] = {}
    names: set[str] = set()
    for param in getattr(cmd, "params", []):
        if getattr(param, "param_type_name", "") != "option":
            continue
        names.update(list(param.opts) + list(param.secondary_opts))
        if not param.is_flag and not param.count:
            valued.update(dict.fromkeys(param.opts, param))
    for tok, nxt in itertools.pairwise(rest):
        if tok == "--":
            return None  # what follows is positional
        opt = valued.get(tok)
        if opt is None or nxt not in names:
            continue
        meta = str(opt.metavar).upper() if opt.metavar else ""
        kind, what = (f"a value ({meta})", f"the {meta}") if meta else ("a value", "its value")
        return (
            f"{tok} takes {kind} and got the option {nxt} instead: put {what} right after "
            f"{tok} ({tok}={nxt} passes that text as the value). "
            f"Run '{path} --help' for what it takes."
        )
    return None
