"""Classify a shell script or an argv as read, write or destroy, command by command.

A script reads only when each of its commands, pipeline stages and command substitutions
reads, and nothing is redirected into a file (`> /dev/null` and `2>&1` are fine). Wrappers
(`sudo`, `env X=Y`, `timeout`, `xargs`, `watch`) are peeled off; text another shell runs
(`bash -c`, `ssh host CMD`, `kubectl exec -- CMD`) is classified as the script it is. The
per-program knowledge is in `_rocli`, `_ropkg` and `_rodata`; a program none of them knows
may write.
"""

from __future__ import annotations

from interlock.risk.analyzers._rocli import CLI_PROGRAMS
from interlock.risk.analyzers._rodata import DATA_PROGRAMS
from interlock.risk.analyzers._ropkg import PKG_PROGRAMS
from interlock.risk.analyzers._rotypes import Classifier
from interlock.risk.analyzers._shparse import parse
from interlock.risk.analyzers._shwrap import ASSIGN
from interlock.risk.analyzers._verdict import Verdict, read, worst, write

__all__ = ["classify_argv", "classify_script"]

_MAX_DEPTH = 4
_MAX_COMMANDS = 64
_HARMLESS_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"})
_KEYWORDS = frozenset(
    [
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "while",
        "until",
        "!",
        "{",
        "}",
        "time",
        "esac",
        "in",
        "[[",
        "]]",
        "for",
        "case",
        "select",
    ]
)
# Programs that run the rest of the argv, and the options of theirs that take a value.
_PEEL: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (
        frozenset(
            [
                "-u",
                "-g",
                "-h",
                "-p",
                "-C",
                "-D",
                "-r",
                "-t",
                "-U",
                "-T",
                "--user",
                "--group",
                "--chdir",
            ]
        ),
        0,
    ),
    "doas": (frozenset({"-u", "-C"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "--class", "--classdata"}), 0),
    "nohup": (frozenset(), 0),
    "time": (frozenset({"-f", "-o", "--format", "--output"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "setsid": (frozenset(), 0),
    "unbuffer": (frozenset(), 0),
    "xargs": (
        frozenset(
            [
                "-a",
                "-d",
                "-E",
                "-I",
                "-L",
                "-n",
                "-P",
                "-s",
                "--replace",
                "--max-args",
                "--delimiter",
            ]
        ),
        0,
    ),
    "watch": (frozenset({"-n", "--interval"}), 0),
}
_SHELLS = frozenset(["sh", "bash", "zsh", "dash", "ksh", "ash", "fish"])
_SSH_VALUE = frozenset("-" + c for c in "bcDEeFIiJLlmOopQRSWwB")
# Builtins that only change the shell's own state, or print.
_SHELL_STATE = frozenset(
    [
        "cd",
        "pushd",
        "popd",
        "export",
        "set",
        "unset",
        "shopt",
        "alias",
        "true",
        "false",
        ":",
        "wait",
    ]
)


def classify_script(text: str, depth: int = 0) -> Verdict:
    """The verdict for a script: the worst of its commands'."""
    if depth > _MAX_DEPTH:
        return write(text, "nests shell inside shell too deeply to classify")
    cmds, subs = parse(text)
    if len(cmds) + len(subs) > _MAX_COMMANDS:
        return write(text, f"has more than {_MAX_COMMANDS} commands to classify")
    out = [classify_script(sub, depth + 1) for sub in subs]
    for cmd in cmds:
        for op, target in cmd.redirs:
            if ">" in op and target not in _HARMLESS_TARGETS and not target.isdigit():
                out.append(write(cmd.words or target, f"writes its output into {target}"))
        if cmd.stdin is not None and cmd.words:
            out.append(classify_argv(cmd.words, depth, stdin=cmd.stdin))
        elif cmd.words:
            out.append(classify_argv(cmd.words, depth, piped=cmd.piped))
    return worst(out)


def classify_argv(
    argv: list[str], depth: int = 0, *, stdin: str | None = None, piped: bool = False
) -> Verdict:
    """The verdict for one simple command (after wrappers and assignments)."""
    i = 0
    while i < len(argv) and (argv[i] in _KEYWORDS or ASSIGN.match(argv[i])):
        i += 1
    argv = argv[i:]
    for _ in range(8):
        if not argv:
            return Verdict("read", "sets shell variables")
        prog = program(argv[0])
        peel = _PEEL.get(prog)
        if peel is None:
            break
        argv = _skip(argv[1:], *peel)
    prog = program(argv[0])
    args = argv[1:]
    if prog == "env":
        rest = [a for a in args if not a.startswith("-")]
        j = next((k for k, a in enumerate(rest) if not ASSIGN.match(a)), len(rest))
        if j == len(rest):
            return read(argv, "prints the environment")
        return classify_argv(rest[j:], depth)
    if prog in _SHELL_STATE:
        return read(argv, "changes only the shell's own state")
    if prog in _SHELLS:
        return _shell(argv, depth, piped or stdin is not None)
    if prog in ("eval", "su"):
        text = " ".join(a for a in args if a not in ("-c", "--command", "-", "-l"))
        return classify_script(text, depth + 1) if prog == "eval" else write(argv, "switches user")
    if prog == "ssh":
        return _ssh(argv, depth)
    handler: Classifier | None = _PROGRAMS.get(prog)
    if handler is None:
        return write(argv, f"may write: Interlock does not know what `{prog}` does")
    return handler(prog, args, _Nested(depth, stdin))


def _skip(args: list[str], value_opts: frozenset[str], positional: int) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            i += 1
            break
        i += 2 if args[i] in value_opts else 1
    return args[i + positional :]


def _shell(argv: list[str], depth: int, fed: bool) -> Verdict:
    args = argv[1:]
    for k, a in enumerate(args):
        if a.startswith("-") and not a.startswith("--") and "c" in a and k + 1 < len(args):
            return classify_script(args[k + 1], depth + 1)
    if fed or not args:
        return write(argv, "runs a script it reads from its input, which is not shown")
    return write(argv, "runs a script file whose contents are not shown")


def _ssh(argv: list[str], depth: int) -> Verdict:
    args = argv[1:]
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _SSH_VALUE else 1
    if i + 1 >= len(args):
        return write(argv, "opens an interactive session on another host")
    return classify_script(" ".join(args[i + 1 :]), depth + 1)


def program(word: str) -> str:
    name = word.rsplit("/", 1)[-1].lstrip("\\").lower()
    return name[:-4] if name.endswith(".exe") else name


class _Nested:
    """What a program's classifier may need: classify a command or script it runs."""

    __slots__ = ("depth", "stdin")

    def __init__(self, depth: int, stdin: str | None) -> None:
        self.depth, self.stdin = depth, stdin

    def argv(self, argv: list[str]) -> Verdict:
        if not argv:
            return Verdict("write", "runs a command that is not shown")
        return classify_argv(argv, self.depth + 1)

    def script(self, text: str) -> Verdict:
        return classify_script(text, self.depth + 1)


_PROGRAMS: dict[str, Classifier] = {**CLI_PROGRAMS, **PKG_PROGRAMS, **DATA_PROGRAMS}
