"""Shell analyzer: runs each simple command of a script past the per-program handlers.

Wrappers (`sudo`, `env X=Y`, `nice`, `timeout`, `xargs`, `busybox`...) are peeled off to find
the real program. Here-documents, here-strings and `echo ... |` feed the next program's
stdin; `curl ... |` marks it as downloaded. `export X=Y`, `cd envs/prod`,
`kubectl config use-context` and `terraform workspace select` carry over to later commands.

Quoted text given to a program as data is data: `echo "rm -rf /"` is harmless, and so is
`grep 'DROP TABLE' dump.sql`. Text that a shell will run is analysed as shell:
`bash -c`, `sh -lc`, `su -c`, `eval`, `ssh host CMD`, `watch CMD`, `kubectl exec -- CMD`,
`docker exec|run IMAGE CMD`, `xargs CMD`, `find -exec CMD`, `$(CMD)`, `<(CMD)`, and text
piped into `sh`. Not recognised (by design): code in other languages (`python -c`),
obfuscation (`echo ... | base64 -d | sh`), fork bombs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from interlock.risk._model import Effect
from interlock.risk.analyze._argv import parse_argv
from interlock.risk.analyze._clitools import K_VALUE, analyze_kubectl, kubectl_environment
from interlock.risk.analyze._findings import environment_of, snippet, words
from interlock.risk.analyze._shctx import DEVICE, MAX_DEPTH, PLACE, Ctx, Stdin, destroy_target
from interlock.risk.analyze._shellcmds import HANDLERS
from interlock.risk.analyze._shparse import parse

__all__ = [
    "KNOWN_PROGRAMS",
    "SHELL_SIGNALS",
    "analyze_script",
    "may_find",
    "program",
    "run_command",
]

SHELL_SIGNALS: dict[str, str] = {
    "shell.recursive_delete": "rm -r, find -delete, find -exec rm or xargs rm: many files deleted",
    "shell.secure_delete": "shred, wipe or srm: files overwritten so they cannot be recovered",
    "shell.disk_overwrite": "dd of=/dev/..., or output written onto a block device",
    "shell.format_filesystem": "mkfs, mke2fs, mkswap, wipefs -a, blkdiscard: a filesystem erased",
    "shell.recursive_permissions": "chmod, chown or chgrp -R: permissions of a whole tree change",
    "shell.world_writable": "chmod 777, 666, o+w or a+w: anyone on the machine can change files",
    "shell.truncate": "truncate -s 0: files emptied",
    "shell.remote_exec": "code fetched from the network is run (curl | sh, bash <(curl ...))",
}

_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_REMOTE_SUBST = re.compile(r"(?:\$\(|`|<\()\s*(?:sudo\s+)?(?:curl|wget|fetch)\b")
_KEYWORDS = words("if then else elif fi do done while until ! { } time esac in [[ ]]")
_SHELLS = words("sh bash zsh dash ksh ash fish mksh")
_INTERPRETERS = words("python python3 perl ruby node php pwsh")
_DOWNLOADERS = words("curl wget fetch http https xh")


def analyze_script(text: str, ctx: Ctx) -> None:
    """Analyse a shell script (one line or many) into ctx.out."""
    cmds, subs = parse(text)
    for sub in subs:
        if ctx.depth < MAX_DEPTH:
            analyze_script(sub, ctx.child())
    prev: tuple[str, list[str], str | None] | None = None
    for cmd in cmds:
        ctx.budget[0] -= 1
        if ctx.budget[0] < 0:
            return
        stdin = Stdin(text=cmd.stdin)
        if cmd.piped and prev is not None and cmd.stdin is None:
            prog, args, prev_in = prev
            if prog in _DOWNLOADERS:
                stdin = Stdin(remote=True)
            elif prog in ("echo", "printf"):
                stdin = Stdin(text=" ".join(a for a in args if not a.startswith("-")))
            elif prog == "cat" and not args:
                stdin = Stdin(text=prev_in)
        for op, target in cmd.redirs:
            if ">" in op and DEVICE.match(target):
                ctx.add(
                    "shell.disk_overwrite",
                    "destroy",
                    f"Writing to `{target}` overwrites the disk: its data is gone.",
                )
        prev = run_command(cmd.words, stdin, ctx)


def run_command(
    argv: list[str], stdin: Stdin, ctx: Ctx
) -> tuple[str, list[str], str | None] | None:
    """Run the analyzers for one simple command; return (program, args, stdin text)."""
    outer_vars, outer_bulk = ctx.vars, ctx.bulk
    try:
        return _run(argv, stdin, ctx)
    finally:
        # `X=1 cmd`, `env X=1 cmd` and `xargs cmd` only affect that command; `export`
        # and `cd` write into the outer variables and so persist.
        ctx.vars, ctx.bulk = outer_vars, outer_bulk


def _run(argv: list[str], stdin: Stdin, ctx: Ctx) -> tuple[str, list[str], str | None] | None:
    scoped: dict[str, str] = {}
    i = 0
    while i < len(argv) and (argv[i] in _KEYWORDS or _ASSIGN.match(argv[i])):
        if argv[i] not in _KEYWORDS:
            name, _, value = argv[i].partition("=")
            scoped[name] = value
        i += 1
    argv = argv[i:]
    if not argv:
        ctx.vars.update(scoped)  # a bare assignment sets a shell variable for what follows
        return None
    if scoped:
        ctx.vars = {**ctx.vars, **scoped}
    for _ in range(12):  # wrappers: sudo env nice timeout xargs ...
        if _REMOTE_SUBST.match(argv[0]):
            ctx.add(
                "shell.remote_exec",
                "network",
                f"`{snippet(argv)}` runs the output of a download as a command.",
            )
            return None
        wrapper = _WRAPPERS.get(program(argv[0]))
        if wrapper is None:
            break
        rest = wrapper(argv[1:], ctx)
        if not rest:
            return None
        argv = rest
    prog, args = program(argv[0]), argv[1:]
    handler = _HANDLERS.get(prog)
    if handler is None and prog.startswith("mkfs"):
        handler = HANDLERS["mke2fs"]
    if handler is not None:
        handler(prog, args, stdin, ctx)
    return prog, args, stdin.text


def program(word: str) -> str:
    name = word.rsplit("/", 1)[-1].lstrip("\\").lower()
    return name[:-4] if name.endswith(".exe") else name


# --- wrappers: return the command they run ------------------------------------------------


def _skip(value_opts: frozenset[str], stop_at_positional: int = 0) -> Callable[..., list[str]]:
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
        elif _ASSIGN.match(a):
            name, _, value = a.partition("=")
            ctx.vars = {**ctx.vars, name: value}
            i += 1
        else:
            break
    return args[i:]


def _export(args: list[str], ctx: Ctx) -> list[str]:
    for a in args:
        if _ASSIGN.match(a):
            name, _, value = a.partition("=")
            ctx.vars[name] = value
    return []


def _cd(args: list[str], ctx: Ctx) -> list[str]:
    place = environment_of(args[-1] if args else None, explicit=False)
    if place:
        ctx.vars[PLACE] = place
    return []


def _remote_in(args: Sequence[str]) -> bool:
    return any(_REMOTE_SUBST.search(a) for a in args)


_SHELL_VALUE_OPTS = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _shell(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """`bash -c` / `-lc` / `-xec` SCRIPT, or a script read from stdin (`| sh`, `sh -s`)."""
    if _remote_in(args) or (stdin.remote and not _script_file(args)):
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`... | {snippet([prog, *args])}` runs a script downloaded from the network "
            "without anyone reading it.",
        )
        return
    has_c = from_stdin = False
    script: str | None = None
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in _SHELL_VALUE_OPTS:
            skip = True
        elif len(a) > 1 and a[0] in "-+":
            if a[0] == "-" and a[1] != "-":
                has_c = has_c or "c" in a[1:]
                from_stdin = from_stdin or "s" in a[1:]
        else:
            script = a if has_c else None
            break
    else:
        from_stdin = not has_c
    if from_stdin and script is None:
        script = stdin.text
    if script is not None and ctx.depth < MAX_DEPTH:
        analyze_script(script, ctx.child())


def _script_file(args: Sequence[str]) -> bool:
    """True when the shell runs a script file rather than what arrives on stdin."""
    return "-s" not in args and any(a[:1] not in ("-", "+") for a in args)


def _su(args: list[str], ctx: Ctx) -> list[str]:
    for i, a in enumerate(args):
        if a in ("-c", "--command") and i + 1 < len(args):
            analyze_script(args[i + 1], ctx.child())
        elif a.startswith("--command="):
            analyze_script(a[10:], ctx.child())
    return []


def _eval(args: list[str], ctx: Ctx) -> list[str]:
    if _remote_in(args):
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`{snippet(['eval', *args])}` runs a downloaded script.",
        )
    elif ctx.depth < MAX_DEPTH:
        analyze_script(" ".join(args), ctx.child())
    return []


def _source(args: list[str], ctx: Ctx) -> list[str]:
    if _remote_in(args):
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`{snippet(['source', *args])}` runs a downloaded script.",
        )
    return []


_SSH_VALUE = frozenset("-" + c for c in "bcDEeFIiJLlmOopQRSWwB")


def _ssh(args: list[str], ctx: Ctx) -> list[str]:
    """`ssh [options] host command...`: the command runs in a shell on the host."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _SSH_VALUE else 1
    if i + 1 >= len(args) or ctx.depth >= MAX_DEPTH:
        return []
    child = ctx.child()
    host_env = environment_of(args[i].rpartition("@")[2], explicit=False)
    if host_env:
        child.vars[PLACE] = host_env
    analyze_script(" ".join(args[i + 1 :]), child)
    return []


def _watch(args: list[str], ctx: Ctx) -> list[str]:
    rest = _skip(frozenset({"-n", "--interval", "-d", "-q", "--equexit"}))(args, ctx)
    if rest and ctx.depth < MAX_DEPTH:
        analyze_script(" ".join(rest), ctx.child())
    return []


_XARGS_VALUE = words(
    "-a -d -E -I -L -n -P -s --arg-file --delimiter --eof --replace --max-lines "
    "--max-args --max-procs --max-chars --process-slot-var"
)


def _xargs(args: list[str], ctx: Ctx) -> list[str]:
    ctx.bulk = "xargs"
    return _skip(_XARGS_VALUE)(args, ctx)


def split_words(text: str) -> list[str]:
    cmds, _ = parse(text)
    return [w for c in cmds for w in c.words]


_WRAPPERS: dict[str, Callable[[list[str], Ctx], list[str]]] = {
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
}


def _interpreter(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if _remote_in(args) or (stdin.remote and (not args or args[0] == "-")):
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`{snippet([prog, *args])}` runs code downloaded from the network.",
        )


def _find(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    roots = []
    for a in args:
        if a.startswith(("-", "(", "!")):
            break
        roots.append(a)
    shown = snippet([prog, *args])
    where = ", ".join(roots) or "."
    if "-delete" in args:
        effect: Effect = (
            "destroy"
            if destroy_target(roots or ["."]) and len(args) <= len(roots) + 1
            else "delete"
        )
        ctx.add(
            "shell.recursive_delete",
            effect,
            f"`{shown}` deletes every file it matches under {where}.",
        )
    for i, a in enumerate(args):
        if a in ("-exec", "-execdir", "-ok", "-okdir") and ctx.depth < MAX_DEPTH:
            inner: list[str] = []
            for b in args[i + 1 :]:
                if b in (";", "+"):
                    break
                inner.append(b)
            if inner:
                child = ctx.child()
                child.bulk = f"find {where}"
                run_command(inner, Stdin(), child)


_DOCKER_GLOBAL = words("-H --host -c --context --config -l --log-level -f --file -p --project-name")
_DOCKER_VALUE = words(
    "-e --env -v --volume -w --workdir -u --user --name -p --publish --network --net "
    "--entrypoint --mount --env-file -l --label --platform -m --memory --cpus -h --hostname "
    "--add-host --device --cap-add --cap-drop --restart --log-driver --log-opt --pull "
    "--security-opt --tmpfs --ulimit --gpus --ipc --pid --dns --link --expose --cidfile "
    "--shm-size --stop-signal --runtime --group-add --volumes-from --detach-keys --index"
)


def _docker(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """`docker exec|run [options] TARGET CMD...` (and compose, podman): CMD is analysed."""
    i, n = 0, len(args)
    while i < n and (args[i].startswith("-") or args[i] == "compose"):
        i += 2 if args[i] in _DOCKER_GLOBAL else 1
    if i >= n or args[i] not in ("exec", "run") or ctx.depth >= MAX_DEPTH:
        return
    i += 1
    while i < n and args[i].startswith("-"):
        i += 2 if args[i] in _DOCKER_VALUE else 1
    if i + 1 < n:
        run_command(args[i + 1 :], Stdin(), ctx.child())


def _kubectl(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = parse_argv(args, K_VALUE)
    pos = [w.lower() for w in p.positionals]
    default = ctx.env("interlock.kubecontext", "KUBECONTEXT")
    if pos[:1] == ["exec"] and p.after_dashdash and ctx.depth < MAX_DEPTH:
        child = ctx.child()
        env = kubectl_environment(p, default)
        if env:
            child.vars[PLACE] = env
        run_command(list(p.after_dashdash), Stdin(), child)
    elif pos[:2] == ["config", "use-context"] and len(pos) > 2:
        ctx.vars["interlock.kubecontext"] = p.positionals[2]
    else:
        ctx.out.extend(analyze_kubectl(args, default, prog, p))


_HANDLERS: dict[str, Callable[[str, list[str], Stdin, Ctx], None]] = {
    **HANDLERS,
    **dict.fromkeys(_SHELLS, _shell),
    **dict.fromkeys(_INTERPRETERS, _interpreter),
    "find": _find,
    "kubectl": _kubectl,
    "oc": _kubectl,
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
}
KNOWN_PROGRAMS = frozenset(_HANDLERS) | frozenset(_WRAPPERS)

# A command line that names none of the handled programs (after quotes and backslashes are
# removed, in any case) cannot produce a finding; most ordinary commands stop here.
_TRIGGERS = frozenset({*_HANDLERS, *_DOWNLOADERS, "mkfs"})
_WORD_RUNS = re.compile(r"[\w-]+")
_QUOTES = str.maketrans("", "", "'\"\\")


def may_find(text: str) -> bool:
    """False when the shell text certainly holds nothing the handlers look at."""
    if "/dev/" in text:
        return True
    if "\\" in text or "'" in text or '"' in text:
        text = text.replace("\\\n", "").translate(_QUOTES)
    return not _TRIGGERS.isdisjoint(_WORD_RUNS.findall(text.lower()))
