"""What helm, docker, podman and nerdctl do (see `_readonly`)."""

from __future__ import annotations

from interlock.risk.analyzers._argv import parse_argv
from interlock.risk.analyzers._clitools import K_VALUE
from interlock.risk.analyzers._findings import words
from interlock.risk.analyzers._rotypes import Classifier, Nested
from interlock.risk.analyzers._verdict import Verdict, destroy, read, write

__all__ = ["CONTAINER_PROGRAMS"]


def _helm(prog: str, args: list[str], n: Nested) -> Verdict:
    p = parse_argv(args, K_VALUE)
    shown = [prog, *args]
    pos = [x.lower() for x in p.positionals]
    if not pos or pos[0] in (
        "list",
        "ls",
        "status",
        "get",
        "history",
        "hist",
        "show",
        "inspect",
        "search",
        "template",
        "lint",
        "version",
        "env",
        "diff",
        "verify",
    ):
        return read(shown, "only reads releases and charts")
    if pos[0] in ("repo", "plugin", "dependency", "dep") and pos[1:2] == ["list"]:
        return read(shown, "only lists")
    if p.has("--dry-run"):
        return read(shown, "is a dry run: nothing changes")
    if pos[0] in ("uninstall", "delete", "del", "un"):
        return destroy(shown, "uninstalls the release and what it created", signal=False)
    return write(shown, f"(helm {pos[0]}) changes releases or the local chart repositories")


_DOCKER_READ = words(
    "ps images inspect logs version info stats top port history diff events search"
)
_DOCKER_GROUP_READ = words(
    "ls list inspect logs ps df info history show top version config images port"
)
_DOCKER_DATA = {
    "volume": "the volumes and the data in them",
    "system": "every stopped container, unused image and network (and volumes with --volumes)",
}


def _docker(prog: str, args: list[str], n: Nested) -> Verdict:
    p = parse_argv(
        args,
        words(
            "-H --host -c --context --config -l --log-level -f --file -p "
            "--project-name --format -u --user -w --workdir -e --env --name"
        ),
    )
    pos = p.positionals
    shown = [prog, *args]
    if not pos:
        return read(shown, "prints help or the version")
    group, verb = pos[0].lower(), (pos[1].lower() if len(pos) > 1 else "")
    if group in _DOCKER_READ or (group == "stats" and p.has("--no-stream")):
        return read(shown, f"({prog} {group}) only reads")
    if (
        group
        in (
            "container",
            "image",
            "volume",
            "network",
            "system",
            "compose",
            "context",
            "buildx",
            "manifest",
            "node",
            "service",
            "stack",
        )
        and verb in _DOCKER_GROUP_READ
    ):
        return read(shown, f"({prog} {group} {verb}) only reads")
    if group == "exec":
        v = n.argv(pos[2:])
        return Verdict(v.kind, f"`{prog} exec` runs in the container: {v.reason}", v.findings)
    if verb in ("rm", "prune") and group in _DOCKER_DATA:
        return destroy(shown, f"deletes {_DOCKER_DATA[group]}", "destroy")
    if group == "compose" and verb == "down":
        if p.has("-v", "--volumes"):
            return destroy(shown, "removes the project's containers and its volumes", "destroy")
        return write(shown, "stops and removes the project's containers")
    if group in ("rm", "rmi") or (
        verb in ("rm", "prune") and group in ("container", "image", "network")
    ):
        return destroy(shown, "deletes containers, images or networks")
    return write(shown, f"({prog} {group}) changes containers, images or registries")


CONTAINER_PROGRAMS: dict[str, Classifier] = {
    "helm": _helm,
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
}
