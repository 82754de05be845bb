"""Per-program handlers of the shell analyzer for programs that do not run other commands
(those are in `_shnested`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from interlock.risk.analyzers._argv import parse_argv
from interlock.risk.analyzers._clitools import analyze_git, analyze_helm, analyze_terraform
from interlock.risk.analyzers._cloud import (
    analyze_aws,
    analyze_az,
    analyze_bq,
    analyze_gcloud,
    analyze_gsutil,
)
from interlock.risk.analyzers._findings import Finding, snippet, words
from interlock.risk.analyzers._http import analyze_http_cli
from interlock.risk.analyzers._oversight import analyze_interlock
from interlock.risk.analyzers._shctx import DEVICE, Ctx, Stdin, destroy_target
from interlock.risk.analyzers._sqlcli import SQL_CLIENTS, analyze_sql_cli

__all__ = ["HANDLERS"]

Handler = Callable[[str, list[str], Stdin, Ctx], None]
_OCTAL_WORLD_WRITABLE = re.compile(r"[0-7]?[0-7][0-7][2367]")
# One clause of a symbolic mode (`o+w`, `a=rwx`), matched per comma-separated clause: the
# mode is agent text, and `[ugo]*[oa][ugoa]*` over one string backtracked quadratically.
_SYMBOLIC_CLAUSE = re.compile(r"([ugoa]*+)[+=]([rwxXst]*+)")


def _rm(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = parse_argv(args, frozenset())
    targets = [*p.positionals, *p.after_dashdash]
    recursive = p.has("-r", "-R", "--recursive")
    shown = snippet([prog, *args])
    if recursive and (targets or ctx.bulk):
        root = destroy_target(targets)
        where = ", ".join(targets[:5]) or "every path it is given"
        extra = ": that is the system, a home directory or everything here" if root else ""
        ctx.add(
            "shell.recursive_delete",
            "destroy" if root else "delete",
            f"`{shown}` deletes {where} and everything under it{extra}.",
        )
    elif ctx.bulk:
        ctx.add(
            "shell.recursive_delete",
            "delete",
            f"`{shown}` run by {ctx.bulk} deletes every file it is given.",
        )


def _shred(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = parse_argv(args, frozenset({"-n", "-s", "--iterations", "--size", "--random-source"}))
    targets = [*p.positionals, *p.after_dashdash]
    if targets or ctx.bulk:
        where = ", ".join(targets[:5]) or "every file it is given"
        ctx.add(
            "shell.secure_delete",
            "destroy",
            f"`{snippet([prog, *args])}` overwrites {where} so it cannot be recovered.",
        )


def _dd(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    for a in args:
        if a.startswith("of=") and DEVICE.match(a[3:]):
            ctx.add(
                "shell.disk_overwrite",
                "destroy",
                f"`{snippet([prog, *args])}` writes raw bytes onto {a[3:]}: "
                "the filesystem and data on it are destroyed.",
            )


def _copy_to_device(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    targets = [a for a in args if not a.startswith("-")]
    if prog == "cp":
        targets = targets[-1:]
    for t in targets:
        if DEVICE.match(t):
            ctx.add(
                "shell.disk_overwrite",
                "destroy",
                f"`{snippet([prog, *args])}` writes onto the device {t}: its data is destroyed.",
            )


def _format(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = parse_argv(args, words("-t -L -b -n -O -E -o"))
    if prog == "wipefs" and not p.has("-a", "--all"):
        return
    if prog == "sgdisk" and not p.has("-Z", "--zap-all", "-o", "--clear"):
        return
    if prog == "parted" and "mklabel" not in [a.lower() for a in args]:
        return
    if p.positionals:
        ctx.add(
            "shell.format_filesystem",
            "destroy",
            f"`{snippet([prog, *args])}` erases the filesystem on {p.positionals[0]}: "
            "everything on it is lost.",
        )


def _symbolic_world_writable(mode: str) -> bool:
    for clause in mode.split(","):
        m = _SYMBOLIC_CLAUSE.match(clause)
        if m and ("o" in m.group(1) or "a" in m.group(1)) and "w" in m.group(2):
            return True
    return False


def _perms(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    # chmod modes may start with '-' (`chmod -w f`); only -R/--recursive means recursive.
    recursive = any(
        a == "--recursive" or (a[:1] == "-" and a[1:2] != "-" and "R" in a) for a in args
    )
    words = [a for a in args if not a.startswith("-") or (prog == "chmod" and a[1:2] in "rwxXst")]
    shown = snippet([prog, *args])
    mode = words[0] if words else ""
    targets = words[1:]
    if recursive and targets:
        what = {"chmod": "permissions", "chown": "owner", "chgrp": "group"}[prog]
        ctx.add(
            "shell.recursive_permissions",
            "access",
            f"`{shown}` changes the {what} of {', '.join(targets[:5])} and everything under it.",
        )
    if (
        prog == "chmod"
        and targets
        and (_OCTAL_WORLD_WRITABLE.fullmatch(mode) or _symbolic_world_writable(mode))
    ):
        ctx.add(
            "shell.world_writable",
            "access",
            f"`{shown}` lets every user on the machine change {', '.join(targets[:5])}.",
        )


def _truncate(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = parse_argv(args, frozenset({"-s", "--size", "-r", "--reference", "-o"}))
    if (p.last("-s", "--size") or "").strip() == "0" and p.positionals:
        ctx.add(
            "shell.truncate",
            "delete",
            f"`{snippet([prog, *args])}` empties {', '.join(p.positionals[:5])}.",
        )


def _git(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    ctx.out.extend(analyze_git(args, ctx.env()))


def _helm(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    ctx.out.extend(analyze_helm(args, ctx.env("interlock.kubecontext", "KUBECONTEXT")))


def _terraform(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    pos = [a for a in args if not a.startswith("-")]
    if pos[:2] == ["workspace", "select"] or pos[:2] == ["workspace", "new"]:
        if len(pos) > 2:
            ctx.vars["TF_WORKSPACE"] = pos[2]
        return
    ctx.out.extend(analyze_terraform(args, ctx.env("TF_WORKSPACE"), prog))


def _aws(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    ctx.out.extend(analyze_aws(args, ctx.env("AWS_PROFILE", "AWS_DEFAULT_PROFILE")))


def _gcloud(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    ctx.out.extend(analyze_gcloud(args, ctx.env("CLOUDSDK_ACTIVE_CONFIG_NAME")))


def _simple(analyzer: Callable[[list[str], str | None], list[Finding]]) -> Handler:
    def handler(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
        ctx.out.extend(analyzer(args, ctx.env()))

    return handler


def _sql(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    name = "mysql" if prog == "mariadb" else prog
    ctx.out.extend(analyze_sql_cli(name, args, stdin.text, ctx.env()))


def _http(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    ctx.out.extend(analyze_http_cli(prog, args, ctx.env()))


HANDLERS: dict[str, Handler] = {
    "rm": _rm,
    "shred": _shred,
    "wipe": _shred,
    "srm": _shred,
    "dd": _dd,
    "tee": _copy_to_device,
    "cp": _copy_to_device,
    "chmod": _perms,
    "chown": _perms,
    "chgrp": _perms,
    "truncate": _truncate,
    "git": _git,
    "helm": _helm,
    "terraform": _terraform,
    "tofu": _terraform,
    "terragrunt": _terraform,
    "aws": _aws,
    "gcloud": _gcloud,
    "gsutil": _simple(analyze_gsutil),
    "bq": _simple(analyze_bq),
    "az": _simple(analyze_az),
    "interlock": _simple(analyze_interlock),
    **dict.fromkeys(SQL_CLIENTS, _sql),
    **dict.fromkeys(("curl", "wget", "http", "https", "xh"), _http),
    **dict.fromkeys(
        words("mke2fs mkswap mkdosfs mkntfs newfs blkdiscard wipefs sgdisk parted"),
        _format,
    ),
}
