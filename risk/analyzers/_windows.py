"""Windows programs and cmdlets that destroy data, disks, backups or the machine's safeguards.

One handler per program, shared by cmd.exe, PowerShell and a POSIX shell that runs them
(cmd switches `/s /q`, PowerShell parameters `-Recurse -Force`, abbreviated as PowerShell
allows, and `-Recurse:$false` all understood): `del`/`erase`/`rd`/`rmdir`/`Remove-Item`
recursive or aimed at a drive or system folder, `format`, `diskpart` scripts that clean or
delete, `Format-Volume`, `Clear-Disk`, `Initialize-Disk`, `Remove-Partition`, shadow copies
and backups deleted (`vssadmin`, `wmic shadowcopy`, `wbadmin`), `bcdedit` changing boot and
recovery, registry deletes (`reg delete`, `Remove-Item`/`Remove-ItemProperty` on `HKLM:` and
`HKCU:`), `shutdown`/`Stop-Computer`/`Restart-Computer`, `Set-ExecutionPolicy`, `cipher /w`,
`sdelete`, `icacls`/`takeown` over a tree. `-WhatIf` runs nothing and is never reported.
Reads (`Get-*`, `dir`, `type`, `reg query`, `vssadmin list`, `bcdedit /enum`) have no handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._shctx import Ctx, Stdin

__all__ = ["WINDOWS_PROGRAMS", "WINDOWS_SIGNALS", "WinArgs", "win_args"]

WINDOWS_SIGNALS: dict[str, str] = {
    "windows.shadow_copy_delete": (
        "vssadmin delete shadows, wmic shadowcopy delete, wbadmin delete: Windows restore "
        "points and backups removed (the step ransomware takes before encrypting)"
    ),
    "windows.boot_config": "bcdedit changes boot or recovery settings: the machine may not recover",
    "windows.registry_delete": "reg delete, or Remove-Item/Remove-ItemProperty on a registry hive",
    "windows.shutdown": "shutdown /s /r, Stop-Computer or Restart-Computer: the machine goes down",
    "windows.execution_policy": "Set-ExecutionPolicy: PowerShell's script-signing rule changes",
}

Handler = Callable[[str, list[str], Stdin, Ctx], None]

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_SWITCHES = re.compile(r"(?:/[A-Za-z?][A-Za-z]?(?::[^/\s]*)?)+")
_SWITCH = re.compile(r"/([A-Za-z?][A-Za-z]?)(?::([^/\s]*))?")
_DRIVE_ROOT = re.compile(r"(?:[a-z]:)?\\?")
_LOOP_VAR = re.compile(r"%%?~?[a-z]*[A-Za-z]")  # cmd's `for %f` / `%%f` / `%~f`
_HOME = re.compile(r"[a-z]:\\users\\[^\\]+")
_REGISTRY = re.compile(r"(?i)(?:registry::)?(?:hk(?:lm|cu|cr|u|cc)|hkey_[a-z_]+)(?::|\\|$)")
_SYSTEM_DIRS = words("windows users programdata") | {
    "program files",
    "program files (x86)",
    "windows\\system32",
    "documents and settings",
}
_HOMES = words(
    "~ $home $env:userprofile %userprofile% $env:homepath %homepath% $env:systemroot "
    "%systemroot% %windir% $env:windir $env:systemdrive %systemdrive% . .."
)
_LOOP_ITEMS = words("$_ $psitem $_.fullname $psitem.fullname $_.pspath")
# PowerShell parameters that take a value; path-like ones name what the command acts on.
_PATH_PARAMS = words("path literalpath lp pspath")
_VALUE_PARAMS = _PATH_PARAMS | words(
    "filter include exclude credential stream name computername cn driveletter filesystem "
    "newfilesystemlabel partitionstyle number disknumber uniqueid friendlyname "
    "executionpolicy scope inputobject partitionnumber delay timeout protocol "
    "allocationunitsize objectid volume partition"
)


@dataclass
class WinArgs:
    """Switches (`/s` as `s`), PowerShell parameters (`-Recurse` as `recurse`) and targets."""

    switches: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)

    def param(self, name: str, shortest: int = 1) -> str | None:
        """The value of a parameter given by any prefix PowerShell accepts ("" for a switch;
        `-Recurse:$false` turns it off)."""
        for given, value in self.params.items():
            if len(given) >= shortest and name.startswith(given):
                return None if value.lower() in ("$false", "false", "0") else value
        return None

    def on(self, name: str, shortest: int = 1) -> bool:
        return self.param(name, shortest) is not None

    def dry_run(self) -> bool:
        return self.on("whatif", 2)


def win_args(args: list[str]) -> WinArgs:
    out = WinArgs()
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if _SWITCHES.fullmatch(a):
            for m in _SWITCH.finditer(a):
                out.switches[m.group(1).lower()] = m.group(2) or ""
        elif len(a) > 1 and a[0] == "-" and a[1] not in "-0123456789":
            name, colon, value = a[1:].partition(":")
            name = name.lower()
            known = next((p for p in _VALUE_PARAMS if p.startswith(name) and len(name) > 1), "")
            if not colon and (known or name in _PATH_PARAMS) and i < len(args):
                value = args[i]
                i += 1
            out.params[name] = value
            if (known or name) in _PATH_PARAMS and value:
                out.targets.append(value)
        else:
            out.targets.append(a)
    return out


def _norm(target: str) -> str:
    t = target.strip().strip("'\"").replace("/", "\\").lower()
    for tail in ("\\*.*", "\\*", "*.*", "\\"):
        if t.endswith(tail) and len(t) > len(tail):
            t = t[: -len(tail)]
    return t


def win_destroy_target(targets: list[str]) -> bool:
    """A drive root, a system folder, a home folder, or everything here."""
    for target in targets:
        t = _norm(target)
        rest = t[3:] if len(t) > 2 and t[1:3] == ":\\" else t.lstrip("\\")
        if (
            t in ("*", "*.*")
            or _DRIVE_ROOT.fullmatch(t)
            or t in _HOMES
            or rest in _SYSTEM_DIRS
            or _HOME.fullmatch(t)
        ):
            return True
    return False


def _delete(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """del, erase, rd, rmdir, Remove-Item and its aliases; Remove-ItemProperty."""
    a = win_args(args)
    if a.dry_run():
        return
    shown = snippet([prog, *args])
    hives = [t for t in a.targets if _REGISTRY.match(t)]
    if hives or prog in ("remove-itemproperty", "rp"):
        where = ", ".join(hives[:3]) or "a registry key"
        what = "the registry values" if prog in ("remove-itemproperty", "rp") else "the keys"
        ctx.add(
            "windows.registry_delete",
            "delete",
            f"`{shown}` deletes {what} under {where}: settings or services that read them "
            "break, and there is no recycle bin for the registry.",
        )
        return
    recursive = "s" in a.switches or a.on("recurse")
    loop = any(t.lower() in _LOOP_ITEMS or _LOOP_VAR.fullmatch(t) for t in a.targets)
    root = win_destroy_target(a.targets)
    where = ", ".join(a.targets[:5]) or "the current folder"
    extra = ": that is a drive, a system or home folder, or everything here" if root else ""
    if recursive:
        quiet = " without asking" if "q" in a.switches or a.on("force", 2) else ""
        ctx.add(
            "shell.recursive_delete",
            "destroy" if root else "delete",
            f"`{shown}` deletes {where} and everything under it{quiet}{extra}.",
        )
    elif root and any("*" in t for t in a.targets):
        ctx.add(
            "shell.recursive_delete",
            "destroy",
            f"`{shown}` deletes every file in {where}{extra}.",
        )
    elif loop or ctx.bulk:
        by = ctx.bulk or "the loop"
        ctx.add(
            "shell.recursive_delete",
            "delete",
            f"`{shown}` run by {by} deletes every file it is given.",
        )


def _disk(what: str) -> Handler:
    def handler(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
        a = win_args(args)
        if a.dry_run():
            return
        number = a.param("number", 2) or a.param("disknumber", 2)
        named = [a.param(p, 2) for p in ("driveletter", "friendlyname", "uniqueid")]
        named.append(f"disk {number}" if number else None)
        where = ", ".join([*a.targets[:3], *(n for n in named if n)]) or (
            "the disk" if "disk" in prog else "the volume the pipeline gives it"
        )
        ctx.add(
            "shell.format_filesystem",
            "destroy",
            f"`{snippet([prog, *args])}` {what} {where}, and everything on it is lost.",
        )

    return handler


_DISKPART_DESTROY = re.compile(r"(?im)^\s*(clean|delete\s+\w+|format)\b")


def _diskpart(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    a = win_args(args)
    script = a.switches.get("s")
    if "s" in a.switches:
        name = script or (a.targets[0] if a.targets else "a file")
        ctx.add(
            "shell.format_filesystem",
            "destroy",
            f"`{snippet([prog, *args])}` runs the diskpart script {name}, which is not shown "
            "here; diskpart scripts clean, delete and format disks.",
        )
        return
    m = _DISKPART_DESTROY.search(stdin.text or "")
    if m:
        ctx.add(
            "shell.format_filesystem",
            "destroy",
            f"diskpart is told to `{' '.join(m.group(1).split())}`: the partitions and data on "
            "the selected disk are erased.",
        )


def _backups(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    low = [x.lower() for x in args]
    text = " ".join(low)
    shadow = (
        (prog == "vssadmin" and ("delete" in low or "resize" in low))
        or (prog == "wmic" and "shadowcopy" in text and "delete" in text)
        or (prog == "wbadmin" and "delete" in low)
    )
    if shadow:
        ctx.add(
            "windows.shadow_copy_delete",
            "destroy",
            f"`{snippet([prog, *args])}` deletes Windows shadow copies or backups, the restore "
            "points that undo a disaster; ransomware does this first.",
        )


_BCD_READ = words("/enum /v /?")


def _bcdedit(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    low = [x.lower() for x in args]
    if not low or low[0] in _BCD_READ or low[0].startswith("/enum"):
        return
    ctx.add(
        "windows.boot_config",
        "config",
        f"`{snippet([prog, *args])}` changes the boot configuration; a wrong value stops the "
        "machine from starting or from entering recovery.",
    )


def _reg(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if args and args[0].lower() == "delete":
        key = args[1] if len(args) > 1 else "a key"
        every = " with every value (/va)" if any(x.lower() == "/va" for x in args) else ""
        ctx.add(
            "windows.registry_delete",
            "delete",
            f"`{snippet([prog, *args])}` deletes the registry key {key}{every}: what reads it "
            "breaks, and there is no recycle bin for the registry.",
        )


def _shutdown(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    a = win_args(args)
    if a.dry_run():
        return
    if prog == "shutdown" and not {"s", "r", "p", "g", "sg", "h"} & a.switches.keys():
        return  # `shutdown /a` aborts; POSIX `shutdown` is another program's business
    where = a.param("computername", 2) or a.switches.get("m") or "this machine"
    verb = "restarts" if prog == "restart-computer" or "r" in a.switches else "shuts down"
    ctx.add(
        "windows.shutdown",
        "write",
        f"`{snippet([prog, *args])}` {verb} {where}: whatever runs there stops.",
    )


def _execution_policy(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    a = win_args(args)
    if a.dry_run():
        return
    scope = (a.param("scope", 2) or "LocalMachine").lower()
    if scope == "process":
        return  # this PowerShell session only
    value = a.param("executionpolicy", 2) or (a.targets[0] if a.targets else "?")
    weak = value.lower() in ("bypass", "unrestricted")
    why = "scripts of any origin run without a prompt" if weak else "which scripts may run changes"
    ctx.add(
        "windows.execution_policy",
        "config",
        f"`{snippet([prog, *args])}` sets the PowerShell execution policy to {value} for "
        f"{scope}: {why}, for every later session.",
    )


def _secure_delete(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    a = win_args(args)
    if prog == "cipher" and "w" not in a.switches:
        return  # cipher without /w encrypts or lists
    where = a.switches.get("w") or ", ".join(a.targets[:3]) or "the files it is given"
    ctx.add(
        "shell.secure_delete",
        "destroy",
        f"`{snippet([prog, *args])}` overwrites {where} so deleted data cannot be recovered.",
    )


_WORLD = re.compile(r"(?i)(?:everyone|\*s-1-1-0|users|authenticated users):\(?[^:]*\b[fm]\b")


def _acl(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    low = " ".join(args)
    a = win_args(args)
    shown = snippet([prog, *args])
    if prog == "icacls" and _WORLD.search(low):
        ctx.add(
            "shell.world_writable",
            "access",
            f"`{shown}` gives everyone on the machine full or modify rights.",
        )
    elif "t" in a.switches or "r" in a.switches:
        ctx.add(
            "shell.recursive_permissions",
            "access",
            f"`{shown}` changes ownership or permissions of a whole tree.",
        )


WINDOWS_PROGRAMS: dict[str, Handler] = {
    **dict.fromkeys(words("del erase rd rmdir remove-item ri remove-itemproperty rp"), _delete),
    "format": _disk("formats"),
    "format-volume": _disk("formats"),
    "clear-disk": _disk("wipes"),
    "initialize-disk": _disk("initialises the partition table of"),
    "remove-partition": _disk("removes the partition"),
    "diskpart": _diskpart,
    **dict.fromkeys(words("vssadmin wmic wbadmin"), _backups),
    "bcdedit": _bcdedit,
    "reg": _reg,
    **dict.fromkeys(words("shutdown stop-computer restart-computer"), _shutdown),
    "set-executionpolicy": _execution_policy,
    **dict.fromkeys(words("cipher sdelete sdelete64"), _secure_delete),
    **dict.fromkeys(words("icacls takeown"), _acl),
}
