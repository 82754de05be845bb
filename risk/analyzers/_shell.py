"""Shell analyzer: runs each simple command of a script past the per-program handlers.

Wrappers (`sudo`, `env X=Y`, `nice`, `timeout`, `xargs`, `busybox`...) are peeled off to find
the real program. Here-documents, here-strings and `echo ... |` feed the next program's
stdin; `curl ... |` marks it as downloaded. `export X=Y`, `cd envs/prod`,
`kubectl config use-context` and `terraform workspace select` carry over to later commands.

Quoted text given to a program as data is data: `echo "rm -rf /"` is harmless, and so is
`grep 'DROP TABLE' dump.sql`. Text that a shell will run is analysed as shell:
`bash -c`, `sh -lc`, `su -c`, `eval`, `ssh host CMD`, `watch CMD`, `kubectl exec -- CMD`,
`docker exec|run IMAGE CMD`, `xargs CMD`, `find -exec CMD`, `$(CMD)`, `<(CMD)`, and text
piped into `sh`, `python -m interlock ...`, and `powershell -Command|-EncodedCommand`, `pwsh`
and `cmd /c` (read by `_winhosts`, which also handles Windows programs). Every word and
redirection target is also checked for Interlock's own settings and files (`_oversight`).
Secrets, exfiltration, persistence, decoded payloads (`echo ... | base64 -d | sh`), command
words from variables (`x=rm; $x -rf /data`) and interpreter one-liners (`python -c`,
`node -e`, `perl -e`...) are followed by `_shflow`. Not recognised (by design): fork bombs.
How far it reads is bounded (`_limits`).
"""

from __future__ import annotations

import re

from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._limits import MAX_COMMANDS, incomplete
from interlock.risk.analyzers._oversight import (
    may_name_protected,
    setting_named,
    settings_finding,
)
from interlock.risk.analyzers._shctx import DEVICE, Ctx, Stdin
from interlock.risk.analyzers._shellcmds import HANDLERS
from interlock.risk.analyzers._shflow import (
    FLOW_PROGRAMS,
    after,
    before,
    command_word,
    may_flow,
    redirect,
    through_pipe,
)
from interlock.risk.analyzers._shnested import NESTED_HANDLERS
from interlock.risk.analyzers._shparse import parse
from interlock.risk.analyzers._shwrap import ASSIGN, REMOTE_SUBST, WRAPPERS
from interlock.risk.analyzers._windows import WINDOWS_SIGNALS
from interlock.risk.analyzers._winhosts import WINDOWS_HANDLERS

__all__ = [
    "KNOWN_PROGRAMS",
    "SHELL_SIGNALS",
    "analyze_script",
    "may_find",
    "new_ctx",
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
    **WINDOWS_SIGNALS,  # cmd and PowerShell are shells too
}


_KEYWORDS = words("if then else elif fi do done while until ! { } time esac in [[ ]]")
_DOWNLOADERS = words("curl wget fetch http https xh")


def new_ctx() -> Ctx:
    """A fresh analysis context whose handlers can run this analyzer on nested text."""
    return Ctx(out=[], vars={}, script_fn=analyze_script, command_fn=run_command)


def analyze_script(text: str, ctx: Ctx) -> None:
    """Analyse a shell script (one line or many) into ctx.out."""
    cmds, subs = parse(text)
    for sub in subs:
        if not _spend(ctx):
            return
        ctx.script(sub)
    prev: tuple[str, list[str], str | None] | None = None
    carried, shown = "", ""  # the secret the last command hands on through `|`, and it
    for n, cmd in enumerate(cmds):
        if not _spend(ctx):
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
            stdin = through_pipe(prev, stdin, carried, shown)
        for op, target in cmd.redirs:
            _settings(target, [*cmd.words, op, target], ctx)
            if ">" in op and DEVICE.match(target):
                ctx.add(
                    "shell.disk_overwrite",
                    "destroy",
                    f"Writing to `{target}` overwrites the disk: its data is gone.",
                )
            redirect(op, target, cmd.words, stdin, ctx)
        ctx.feeds, ctx.carry = n + 1 < len(cmds) and cmds[n + 1].piped, ""
        prev = run_command(cmd.words, stdin, ctx)
        carried, shown, ctx.carry, ctx.feeds = ctx.carry, snippet(cmd.words), "", False


def _spend(ctx: Ctx) -> bool:
    """One command or substitution of the action's budget; False once it is spent."""
    ctx.budget[0] -= 1
    if ctx.budget[0] == -1:  # reported once per action
        why = f"more than {MAX_COMMANDS} shell commands and substitutions"
        ctx.out.append(incomplete(why))
    return ctx.budget[0] >= 0


def run_command(
    argv: list[str], stdin: Stdin, ctx: Ctx
) -> tuple[str, list[str], str | None] | None:
    """Run the analyzers for one simple command; return (program, args, stdin text)."""
    for word in argv:
        if _settings(word, argv, ctx):
            break
    outer_vars, outer_bulk = ctx.vars, ctx.bulk
    try:
        return _run(argv, stdin, ctx)
    finally:
        # `X=1 cmd`, `env X=1 cmd` and `xargs cmd` only affect that command; `export`
        # and `cd` write into the outer variables and so persist.
        ctx.vars, ctx.bulk = outer_vars, outer_bulk


def _settings(word: str, argv: list[str], ctx: Ctx) -> bool:
    """Report a word naming Interlock's own state (once per action: the outermost command)."""
    what = setting_named(word)
    if what is None:
        return False
    if not any(f.signal == "oversight.settings" for f in ctx.out):
        ctx.out.append(settings_finding(snippet(argv), what, ctx.env()))
    return True


def _run(argv: list[str], stdin: Stdin, ctx: Ctx) -> tuple[str, list[str], str | None] | None:
    scoped: dict[str, str] = {}
    i = 0
    while i < len(argv) and (argv[i] in _KEYWORDS or ASSIGN.match(argv[i])):
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
        if before(argv, stdin, ctx):  # env dumps, `ssh` fed a secret, `uv pip install`
            return None
        if REMOTE_SUBST.match(argv[0]):
            ctx.add(
                "shell.remote_exec",
                "network",
                f"`{snippet(argv)}` runs the output of a download as a command.",
            )
            return None
        wrapper = WRAPPERS.get(program(argv[0]))
        if wrapper is None:
            break
        rest = wrapper(argv[1:], ctx)
        if not rest:
            return None
        argv = rest
    if "$" in argv[0] or "`" in argv[0]:
        resolved = command_word(argv, ctx)  # `x=rm; $x -rf /data`
        if resolved is None:
            return None
        argv = resolved
    prog, args = program(argv[0]), argv[1:]
    handler = _HANDLERS.get(prog)
    if handler is None and prog.startswith("mkfs"):
        handler = HANDLERS["mke2fs"]
    if handler is not None:
        handler(prog, args, stdin, ctx)
    after(prog, args, stdin, ctx)
    return prog, args, stdin.text


def program(word: str) -> str:
    name = word.rsplit("/", 1)[-1].lstrip("\\").lower()
    return name[:-4] if name.endswith(".exe") else name


# Windows programs last: `pwsh` is PowerShell here, its -Command and -EncodedCommand read.
_HANDLERS = {**HANDLERS, **NESTED_HANDLERS, **WINDOWS_HANDLERS}
KNOWN_PROGRAMS = frozenset(_HANDLERS) | frozenset(WRAPPERS) | FLOW_PROGRAMS

# A command line that names none of the handled programs (after quotes and backslashes are
# removed, in any case) cannot produce a finding; most ordinary commands stop here.
_TRIGGERS = frozenset({*_HANDLERS, *_DOWNLOADERS, *FLOW_PROGRAMS, "mkfs"})
# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_WORD_RUNS = re.compile(r"[\w-]+")
_QUOTES = str.maketrans("", "", "'\"\\")


def may_find(text: str) -> bool:
    """False when the shell text certainly holds nothing the handlers look at."""
    if "/dev/" in text:
        return True
    if "\\" in text or "'" in text or '"' in text:
        text = text.replace("\\\n", "").translate(_QUOTES)
    low = text.lower()
    if "interlock" in low or "reviewers.toml" in low:  # Interlock's own state: see _oversight
        return True
    if may_name_protected(text):  # a deployment's own policy, database or key files
        return True
    return not _TRIGGERS.isdisjoint(_WORD_RUNS.findall(low)) or may_flow(low)
