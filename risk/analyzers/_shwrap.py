"""Shell wrappers: programs that run the command after them (`sudo`, `env X=Y`, `nice`,
`timeout`, `xargs`, ...) or a script given as text (`su -c`, `eval`, `ssh host CMD`,
`watch CMD`). Each returns the command it runs, or analyses the script itself and returns
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from interlock.risk.analyzers._findings import environment_of, snippet, words
from interlock.risk.analyzers._shctx import PLACE, Ctx
from interlock.risk.analyzers._shparse import parse

__all__ = ["ASSIGN", "REMOTE_SUBST", "WRAPPERS", "remote_in", "split_words"]

Wrapper = Callable[[list[str], Ctx], list[str]]

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
REMOTE_SUBST = re.compile(r"(?:\$\(|`|<\()\s*(?:sudo\s+)?(?:curl|wget|fetch)\b")


def _skip(value_opts: frozenset[str], stop_at_positional: int = 0) -> Wrapper:
    def wrapper(args: list[str], ctx: Ctx) -> list[str]:
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "-":
            if args[i] == "--":
                i += 1
                break
            opt = args[i]
            i += 1
            if opt in value_opts or (opt[:2] in value_opts and len(opt) == 2):
                i += 1
        return args[i + stop_at_positional :]

    return wrapper


def _env_wrapper(args: list[str], ctx: Ctx) -> list[str]:
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-u", "--unset", "-C", "--chdir"):
            i += 2
        elif a in ("-S", "--split-string") and i + 1 < len(args):
            return [*split_words(args[i + 1]), *args[i + 2 :]]
        elif a.startswith("-"):
            i += 1
        elif ASSIGN.match(a):
            name, _, value = a.partition("=")
            ctx.vars = {**ctx.vars, name: value}
            i += 1
        else:
            break
    return args[i:]


def _export(args: list[str], ctx: Ctx) -> list[str]:
    for a in args:
        if ASSIGN.match(a):
            name, _, value = a.partition("=")
            ctx.vars[name] = value
    return []


def _cd(args: list[str], ctx: Ctx) -> list[str]:
    place = environment_of(args[-1] if args else None, explicit=False)
    if place:
        ctx.vars[PLACE] = place
    return []


def remote_in(args: Sequence[str]) -> bool:
    return any(REMOTE_SUBST.search(a) for a in args)


def _downloaded(name: str, args: list[str], ctx: Ctx) -> bool:
    """Report `eval "$(curl ...)"` and the like; True when it was one."""
    if not remote_in(args):
        return False
    ctx.add("shell.remote_exec", "network", f"`{snippet([name, *args])}` runs a downloaded script.")
    return True


def _su(args: list[str], ctx: Ctx) -> list[str]:
    for i, a in enumerate(args):
        if a in ("-c", "--command") and i + 1 < len(args):
            ctx.script(args[i + 1])
        elif a.startswith("--command="):
            ctx.script(a[10:])
    return []


def _eval(args: list[str], ctx: Ctx) -> list[str]:
    if not _downloaded("eval", args, ctx):
        ctx.script(" ".join(args))
    return []


def _source(args: list[str], ctx: Ctx) -> list[str]:
    _downloaded("source", args, ctx)
    return []


_SSH_VALUE = frozenset("-" + c for c in "bcDEeFIiJLlmOopQRSWwB")


def _ssh(args: list[str], ctx: Ctx) -> list[str]:
    """`ssh [options] host command...`: the command runs in a shell on the host."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _SSH_VALUE else 1
    child = ctx.nest() if i + 1 < len(args) else None
    if child is None:
        return []
    host_env = environment_of(args[i].rpartition("@")[2], explicit=False)
    if host_env:
        child.vars[PLACE] = host_env
    ctx.script(" ".join(args[i + 1 :]), child)
    return []


def _watch(args: list[str], ctx: Ctx) -> list[str]:
    rest = _skip(frozenset({"-n", "--interval", "-d", "-q", "--equexit"}))(args, ctx)
    if rest:
        ctx.script(" ".join(rest))
    return []


_XARGS_VALUE = words(
    "-a -d -E -I -L -n -P -s --arg-file --delimiter --eof --replace --max-lines "
    "--max-args --max-procs --max-chars --process-slot-var"
)


def _xargs(args: list[str], ctx: Ctx) -> list[str]:
    ctx.bulk = "xargs"
    return _skip(_XARGS_VALUE)(args, ctx)


# `uv run CMD`, `poetry run CMD`, `uvx CMD`...: the tool runs CMD in a project environment.
_PROJECT_VALUE = words(
    "--with --with-requirements --python -p --package --extra --group --env-file --directory "
    "--project --from -n --name --prefix -e --environment"
)


def _project_run(args: list[str], ctx: Ctx) -> list[str]:
    rest = _skip(_PROJECT_VALUE)(args, ctx)
    return _skip(_PROJECT_VALUE)(rest[1:], ctx) if rest[:1] == ["run"] else []


def split_words(text: str) -> list[str]:
    cmds, _ = parse(text)
    return [w for c in cmds for w in c.words]


WRAPPERS: dict[str, Wrapper] = {
    "sudo": _skip(
        words(
            "-u -g -h -p -C -D -r -t -U -T --user --group --host --prompt --chdir --role "
            "--type --other-user --close-from"
        )
    ),
    "doas": _skip(frozenset({"-u", "-C"})),
    "busybox": _skip(frozenset()),
    "env": _env_wrapper,
    "export": _export,
    "cd": _cd,
    "pushd": _cd,
    "nohup": _skip(frozenset()),
    "time": _skip(frozenset({"-f", "-o", "--format", "--output"})),
    "command": _skip(frozenset()),
    "builtin": _skip(frozenset()),
    "exec": _skip(frozenset({"-a"})),
    "nice": _skip(frozenset({"-n", "--adjustment"})),
    "ionice": _skip(frozenset({"-c", "-n", "--class", "--classdata"})),
    "timeout": _skip(frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "stdbuf": _skip(frozenset({"-i", "-o", "-e"})),
    "setsid": _skip(frozenset()),
    "unbuffer": _skip(frozenset()),
    "runuser": _skip(frozenset({"-u", "-g", "--user", "--group"})),
    "chroot": _skip(frozenset(), 1),
    "flock": _skip(frozenset({"-w", "--timeout"}), 1),
    "xargs": _xargs,
    "su": _su,
    "eval": _eval,
    "source": _source,
    ".": _source,
    "ssh": _ssh,
    "watch": _watch,
    **dict.fromkeys(words("uv poetry pipenv pdm hatch pipx conda"), _project_run),
    "uvx": _skip(_PROJECT_VALUE),
}
