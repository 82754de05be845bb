"""Handlers of programs that run other commands: shells (`bash -c`, `| sh`), interpreters
(`curl ... | python`), `find -exec`, `docker exec|run` and `kubectl exec --`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from interlock.risk._model import Effect
from interlock.risk.analyzers._argv import parse_argv
from interlock.risk.analyzers._clitools import K_VALUE, analyze_kubectl, kubectl_environment
from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._oversight import analyze_interlock_code
from interlock.risk.analyzers._shctx import PLACE, Ctx, Stdin, destroy_target
from interlock.risk.analyzers._shwrap import remote_in

__all__ = ["INTERPRETERS", "NESTED_HANDLERS", "SHELLS"]

SHELLS = words("sh bash zsh dash ksh ash fish mksh")
INTERPRETERS = words("python python3 perl ruby node php pwsh")


_SHELL_VALUE_OPTS = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def _shell(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """`bash -c` / `-lc` / `-xec` SCRIPT, or a script read from stdin (`| sh`, `sh -s`)."""
    if remote_in(args) or (stdin.remote and not _script_file(args)):
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
    if script is not None:
        ctx.script(script)


def _script_file(args: Sequence[str]) -> bool:
    """True when the shell runs a script file rather than what arrives on stdin."""
    return "-s" not in args and any(a[:1] not in ("-", "+") for a in args)


def _interpreter(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if remote_in(args) or (stdin.remote and (not args or args[0] == "-")):
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`{snippet([prog, *args])}` runs code downloaded from the network.",
        )
    # `python -m interlock ...` is the `interlock` command itself.
    for i, a in enumerate(args[:-1]):
        if a == "-m" and args[i + 1].split(".")[0] == "interlock":
            ctx.command(["interlock", *args[i + 2 :]])
            return
        if a == "-c":
            ctx.out.extend(analyze_interlock_code(args[i + 1], ctx.env()))
            return


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
        if a in ("-exec", "-execdir", "-ok", "-okdir"):
            inner: list[str] = []
            for b in args[i + 1 :]:
                if b in (";", "+"):
                    break
                inner.append(b)
            child = ctx.nest() if inner else None
            if child is not None:
                child.bulk = f"find {where}"
                ctx.command(inner, child)


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
    if i >= n or args[i] not in ("exec", "run"):
        return
    i += 1
    while i < n and args[i].startswith("-"):
        i += 2 if args[i] in _DOCKER_VALUE else 1
    if i + 1 < n:
        ctx.command(args[i + 1 :])


def _kubectl(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = parse_argv(args, K_VALUE)
    pos = [w.lower() for w in p.positionals]
    default = ctx.env("interlock.kubecontext", "KUBECONTEXT")
    if pos[:1] == ["exec"] and p.after_dashdash:
        child = ctx.nest()
        env = kubectl_environment(p, default)
        if child is not None and env:
            child.vars[PLACE] = env
        if child is not None:
            ctx.command(list(p.after_dashdash), child)
    elif pos[:2] == ["config", "use-context"] and len(pos) > 2:
        ctx.vars["interlock.kubecontext"] = p.positionals[2]
    else:
        ctx.out.extend(analyze_kubectl(args, default, prog, p))


NESTED_HANDLERS: dict[str, Callable[[str, list[str], Stdin, Ctx], None]] = {
    **dict.fromkeys(SHELLS, _shell),
    **dict.fromkeys(INTERPRETERS, _interpreter),
    "find": _find,
    "kubectl": _kubectl,
    "oc": _kubectl,
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
}
