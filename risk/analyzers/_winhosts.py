"""PowerShell and cmd.exe as shells: their text analysed command by command, and the hosts
that run it (`powershell -Command`, `pwsh -EncodedCommand <base64 UTF-16LE>`, `cmd /c`,
`Invoke-Expression`, `Start-Process`, `forfiles /c`).

Each command goes through the shell analyzer's own `run_command`, so a PowerShell tool that
runs `kubectl delete ns prod`, `git push --force` or `rm -r` is read as the shell tool would
be, and the Windows programs of `_windows` are found from a POSIX shell too. An encoded
command is decoded and analysed; one that does not decode is reported as not checked.
Download cradles (`iwr ... | iex`, `IEX (New-Object Net.WebClient).DownloadString(...)`)
and .NET deletes (`[IO.Directory]::Delete(path, $true)`) are found in the raw text.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._http import words_of
from interlock.risk.analyzers._limits import MAX_COMMANDS, incomplete
from interlock.risk.analyzers._oversight import setting_named, settings_finding
from interlock.risk.analyzers._shctx import Ctx, Stdin
from interlock.risk.analyzers._windows import WINDOWS_PROGRAMS, Handler, win_args
from interlock.risk.analyzers._winparse import BLOCK, cmd_parse, ps_parse, win_program

__all__ = ["WINDOWS_HANDLERS", "analyze_cmd", "analyze_powershell", "windows_dialect"]

_WINDOWS_WORDS = words("windows win exe bat batch")
_DOWNLOADERS = words(
    "invoke-webrequest iwr invoke-restmethod irm curl wget start-bitstransfer curl.exe"
)
_LISTERS = words("get-childitem gci ls dir get-item gi")
_ECHO = words("echo write-output write")
_PS_KEYWORDS = words(
    "if elseif else foreach for while do until try catch finally switch trap return throw "
    "exit begin process end"
)
_CMD_KEYWORDS = words("else do")
# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_CRADLE_RUN = re.compile(r"(?i)\b(?:iex|invoke-expression)\b")
_CRADLE_GET = re.compile(
    r"(?i)downloadstring|downloaddata|invoke-webrequest|invoke-restmethod|\biwr\b|\birm\b"
    r"|net\.webclient|https?://"
)
_DOTNET_DELETE = re.compile(r"(?i)\[(?:system\.)?io\.directory\]::delete\s*\(([^)]*)\)")
_SHADOW_WMI = re.compile(r"(?i)win32_shadowcopy")
_SHADOW_DELETE = re.compile(r"(?i)remove-(?:wmiobject|ciminstance)|\brwmi\b|\.delete\(\)")


@lru_cache(maxsize=512)
def windows_dialect(tool: str) -> str:
    """ "powershell" or "cmd" when the tool's name says its text is one, else "".

    `cmd` alone is not enough (`run_cmd` is a POSIX shell tool as often as not): the name
    must be `cmd`/`cmd.exe` or also say `windows`/`exe`/`bat`.
    """
    found = words_of(tool[:200])
    if "powershell" in found or "pwsh" in found:
        return "powershell"
    if "cmd" in found and (tool.lower() in ("cmd", "cmd.exe") or _WINDOWS_WORDS & set(found)):
        return "cmd"
    return ""


def _spend(ctx: Ctx) -> bool:
    ctx.budget[0] -= 1
    if ctx.budget[0] == -1:
        ctx.out.append(incomplete(f"more than {MAX_COMMANDS} shell commands and substitutions"))
    return ctx.budget[0] >= 0


def _run(argv: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """A Windows program by its handler here; anything else (`git`, `kubectl`, `rm`...) by
    the shell analyzer, as a shell tool would run it."""
    if not argv:
        return
    prog = win_program(argv[0])
    handler = WINDOWS_HANDLERS.get(prog)
    if handler is None:
        if ctx.command_fn is not None:
            ctx.command_fn([prog, *argv[1:]], stdin, ctx)
        return
    what = next((w for a in argv if (w := setting_named(a))), None)
    if what is not None and not any(f.signal == "oversight.settings" for f in ctx.out):
        ctx.out.append(settings_finding(snippet(argv), what, ctx.env()))
    handler(prog, argv[1:], stdin, ctx)


def analyze_powershell(text: str, ctx: Ctx) -> None:
    """Analyse PowerShell text (a script, a pipeline or one command) into ctx.out."""
    _raw_checks(text, ctx)
    cmds, subs = ps_parse(text)
    for sub in subs:
        if not _spend(ctx):
            return
        child = ctx.nest()
        if child is not None:
            analyze_powershell(sub, child)
    prev: list[str] = []
    for cmd in cmds:
        if not _spend(ctx):
            return
        argv = cmd.words
        while argv and (argv[0].lower() in _PS_KEYWORDS or argv[0] == BLOCK):
            argv = argv[1:]
        if len(argv) > 2 and argv[0].startswith("$") and argv[1] in ("=", "+="):
            argv = argv[2:]  # `$r = Remove-Item ...`
        if not argv or argv[0].startswith(("$", "[")):
            prev = argv
            continue
        stdin = Stdin()
        outer = ctx.bulk
        if cmd.piped and prev:
            first = win_program(prev[0])
            if first in _DOWNLOADERS:
                stdin = Stdin(remote=True)
            elif first in _ECHO:
                stdin = Stdin(text="\n".join(prev[1:]))
            elif len(prev) == 1 and (" " in prev[0] or "\n" in prev[0]):
                stdin = Stdin(text=prev[0])  # a string literal piped on: `"clean" | diskpart`
            elif first in _LISTERS and (
                win_args(prev[1:]).on("recurse") or any("*" in w for w in prev[1:])
            ):
                ctx.bulk = snippet(prev, 60)
        try:
            _run(argv, stdin, ctx)
        finally:
            ctx.bulk = outer
        prev = argv


def _raw_checks(text: str, ctx: Ctx) -> None:
    if _CRADLE_RUN.search(text) and _CRADLE_GET.search(text):
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`{snippet(text)}` downloads a script and runs it with Invoke-Expression, unread.",
        )
    for m in _DOTNET_DELETE.finditer(text):
        if "true" in m.group(1).lower():
            ctx.add(
                "shell.recursive_delete",
                "delete",
                f"`{snippet(m.group(0))}` deletes the folder and everything under it.",
            )
    if _SHADOW_WMI.search(text) and _SHADOW_DELETE.search(text):
        ctx.add(
            "windows.shadow_copy_delete",
            "destroy",
            f"`{snippet(text)}` deletes Windows shadow copies, the restore points that undo a "
            "disaster; ransomware does this first.",
        )


def analyze_cmd(text: str, ctx: Ctx) -> None:
    """Analyse cmd.exe text (a batch line or file) into ctx.out."""
    loop = False  # `for ... in (set) do CMD`: the parentheses split CMD off its `for`
    for cmd in cmd_parse(text):
        if not _spend(ctx):
            return
        argv = cmd.words
        outer = ctx.bulk
        head = argv[0].lower() if argv else ""
        try:
            if head == "do" and loop:
                ctx.bulk = "a for loop"
            loop = (head == "for" and not any(w.lower() == "do" for w in argv)) or (
                loop and head != "do"
            )
            argv = _cmd_prefix(argv, ctx)
            if argv and not argv[0].startswith("::") and win_program(argv[0]) != "rem":
                _run(argv, Stdin(text=cmd.stdin) if cmd.piped else Stdin(), ctx)
        finally:
            ctx.bulk = outer


def _cmd_prefix(argv: list[str], ctx: Ctx) -> list[str]:
    """Strip `if ... `, `for ... do` and `else` off the command they run."""
    for _ in range(4):
        if not argv:
            return argv
        head = argv[0].lower().lstrip("@")
        if head in _CMD_KEYWORDS:
            argv = argv[1:]
        elif head == "for":
            at = next((i for i, w in enumerate(argv) if w.lower() == "do"), len(argv))
            ctx.bulk = "a for loop"
            argv = argv[at + 1 :]
        elif head == "if":
            i = 1
            while i < len(argv) and argv[i].lower() in ("/i", "not"):
                i += 1
            cond = argv[i].lower() if i < len(argv) else ""
            if cond in ("exist", "defined", "errorlevel", "cmdextversion"):
                i += 2
            elif i + 1 < len(argv) and argv[i + 1].lower() in ("==", "equ", "neq", "lss", "gtr"):
                i += 3
            else:
                i += 1
            argv = argv[i:]
        elif head.startswith("("):  # `for ... do (del %f)`: the group's parentheses
            argv = [w for w in [argv[0][1:], *argv[1:-1], argv[-1].removesuffix(")")] if w]
            if len(argv) == 1 and argv[0].endswith(")"):
                argv = [argv[0][:-1]]
        else:
            return argv
    return argv


def decode_encoded(value: str) -> str | None:
    """`-EncodedCommand`'s argument: base64 of UTF-16LE text; None when it is not."""
    s = value.strip().strip("'\"")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
        text = raw.decode("utf-16-le")
    except (binascii.Error, ValueError):
        return None
    printable = sum(c.isprintable() or c.isspace() for c in text)
    return text if not text or printable >= 0.9 * len(text) else None


_PS_VALUE = words(
    "executionpolicy ep ex windowstyle w inputformat inputformat if outputformat of version "
    "v psconsolefile configurationname config workingdirectory wd settingsfile "
    "custompipename encodedarguments ea"
)


def _powershell(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """powershell.exe / pwsh options, then the command, the encoded command or a file."""
    shown = snippet([prog, *args])
    if stdin.remote:
        ctx.add("shell.remote_exec", "network", f"`... | {shown}` runs a downloaded script.")
        return
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a[:1] not in ("-", "/") or a == "-":
            # powershell.exe runs its first positional words as a command; `-` reads stdin
            _script(stdin.text or "" if a == "-" else " ".join(args[i - 1 :]), ctx)
            return
        opt = a.lstrip("-/").lower()
        if opt in ("c", "command") or (len(opt) > 1 and "command".startswith(opt)):
            rest = args[i:]
            _script(stdin.text or "" if rest == ["-"] else " ".join(rest), ctx)
            return
        if opt in ("e", "ec") or (len(opt) > 2 and "encodedcommand".startswith(opt)):
            decoded = decode_encoded(args[i]) if i < len(args) else None
            if decoded is None:
                why = f"`{shown}` carries an encoded command that is not base64 of UTF-16LE text"
                ctx.out.append(incomplete(why))
            else:
                _script(decoded, ctx)
            return
        if opt in ("f", "file") or (len(opt) > 1 and "file".startswith(opt)):
            return  # a script file: its text is not in the arguments
        if opt in _PS_VALUE or (len(opt) > 2 and "executionpolicy".startswith(opt)):
            i += 1
    if stdin.text:
        _script(stdin.text, ctx)


def _script(text: str, ctx: Ctx) -> None:
    child = ctx.nest()
    if child is not None:
        analyze_powershell(text, child)


def _cmd(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """`cmd /c CMD`, `cmd /k CMD`, or a script on stdin."""
    for i, a in enumerate(args):
        low = a.lower()
        if low[:2] in ("/c", "/k", "/r"):
            text = " ".join([a[2:], *args[i + 1 :]]).strip()
            child = ctx.nest()
            if child is not None:
                analyze_cmd(text, child)
            return
    if stdin.text:
        child = ctx.nest()
        if child is not None:
            analyze_cmd(stdin.text, child)


def _invoke_expression(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if stdin.remote:
        ctx.add(
            "shell.remote_exec",
            "network",
            f"`... | {snippet([prog, *args])}` runs a downloaded script, unread.",
        )
    elif args:
        p = win_args(args)
        _script(p.param("command", 2) or " ".join(args), ctx)
    elif stdin.text:
        _script(stdin.text, ctx)


def _start_process(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = win_args(args)
    target = p.param("filepath", 2) or (p.targets[0] if p.targets else "")
    rest = p.param("argumentlist", 2) or p.param("args", 2)
    if rest is None and len(p.targets) > 1:
        rest = " ".join(p.targets[1:])
    if target:
        cmds, _ = ps_parse(rest or "")
        inner = [w for c in cmds for w in c.words]
        child = ctx.nest()
        if child is not None:
            _run([target, *inner], Stdin(), child)


def _forfiles(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    p = win_args(args)
    command = p.switches.get("c") or None
    if command is None:
        at = next((i for i, a in enumerate(args) if a.lower() == "/c"), -1)
        command = args[at + 1] if 0 <= at < len(args) - 1 else None
    child = ctx.nest() if command else None
    if child is not None and command:
        child.bulk = "forfiles"
        analyze_cmd(command.replace("@file", "%f").replace("@path", "%f"), child)


WINDOWS_HANDLERS: dict[str, Handler] = {
    **WINDOWS_PROGRAMS,
    **dict.fromkeys(words("powershell pwsh powershell_ise"), _powershell),
    "cmd": _cmd,
    **dict.fromkeys(words("invoke-expression iex"), _invoke_expression),
    **dict.fromkeys(words("start-process saps"), _start_process),
    "forfiles": _forfiles,
}
