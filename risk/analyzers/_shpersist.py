"""Persistence from a shell command: writing files that run later (shell rc files, git hooks,
cron, systemd units, `authorized_keys`), `crontab`, `git config core.hooksPath`, package
installs nobody listed, and edits of dependency manifests.

What is written is analysed as shell when it is known (`echo 'curl x | sh' >> ~/.bashrc`,
`cat > .git/hooks/post-checkout <<EOF`, `... | crontab -`), so a hook that downloads and runs
a script is reported as both.
"""

from __future__ import annotations

from collections.abc import Callable

from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._secrets import persistence_target
from interlock.risk.analyzers._shctx import Ctx, Stdin

__all__ = ["INSTALLERS", "PERSISTERS", "report_write"]


def report_write(path: str, shown: str, content: str | None, ctx: Ctx) -> bool:
    """A finding when `path` is a persistence target; its known content is analysed too."""
    target = persistence_target(path)
    if target is None:
        return False
    signal, what = target
    ctx.add(signal, "config", f"`{shown}` writes {path}, {what}.")
    if content and signal == "persistence.write":
        child = ctx.nest()
        if child is not None:
            ctx.script(_uncron(content) if "cron" in what else content, child)
    return True


def _uncron(text: str) -> str:
    """Cron lines without their five schedule fields (or `@reboot`), as shell."""
    out = []
    for line in text.splitlines():
        fields = line.split(None, 5 if not line.lstrip().startswith("@") else 1)
        if line.lstrip().startswith("#") or not fields:
            continue
        out.append(fields[-1])
    return "\n".join(out)


def _tee(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    for a in args:
        if not a.startswith("-"):
            report_write(a, snippet([prog, *args]), stdin.text, ctx)


def _copy(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    pos = [a for a in args if not a.startswith("-")]
    if len(pos) >= 2:
        report_write(pos[-1], snippet([prog, *args]), None, ctx)


def _sed(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if any(a.startswith(("-i", "--in-place")) for a in args):
        pos = [a for a in args if not a.startswith("-")]
        for a in pos[1:]:
            report_write(a, snippet([prog, *args]), None, ctx)


def _chmod_exec(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if any("x" in a for a in args[:1]) or (args and args[0].isdigit() and args[0][-3:-2] in "7531"):
        for a in args[1:]:
            target = persistence_target(a)
            if target is not None and target[0] == "persistence.write":
                ctx.add(
                    "persistence.write",
                    "config",
                    f"`{snippet([prog, *args])}` makes {a} runnable: {target[1]}.",
                )


def _crontab(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if any(a in ("-l", "-r", "--list") for a in args) and "-e" not in args:
        return
    shown = snippet([prog, *args])
    ctx.add(
        "persistence.write",
        "config",
        f"`{shown}` changes the cron table: what it adds runs on a schedule, unattended.",
    )
    if stdin.text:
        child = ctx.nest()
        if child is not None:
            ctx.script(_uncron(stdin.text), child)


def _git_hooks(args: list[str], ctx: Ctx, shown: str) -> None:
    low = [a.lower() for a in args]
    if "config" in low and "core.hookspath" in low:
        ctx.add(
            "persistence.write",
            "config",
            f"`{shown}` points git's hooks at another folder: scripts there run on every "
            "commit, checkout and push.",
        )


# Subcommand words that install the packages named after them, per package manager.
_INSTALL_VERBS: dict[str, frozenset[str]] = {
    "pip": words("install"),
    "pip3": words("install"),
    "npm": words("install i add isntall in ins inst insta instal"),
    "yarn": words("add"),
    "pnpm": words("add install i"),
    "bun": words("add install i"),
    "cargo": words("install add"),
    "gem": words("install"),
    "go": words("install get"),
    "apt": words("install"),
    "apt-get": words("install"),
    "yum": words("install"),
    "dnf": words("install"),
    "apk": words("add"),
    "brew": words("install"),
    "pipx": words("install inject"),
    "uv": words("add install"),
    "poetry": words("add"),
    "pdm": words("add"),
    "conda": words("install"),
    "composer": words("require"),
}
_PKG_VALUE = words(
    "-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -t "
    "--target --prefix --root -f --find-links --python --registry --cache --prefix -C "
    "--config-settings --workspace -w --filter --version"
)


def install(prog: str, args: list[str], ctx: Ctx) -> bool:
    """A package install that names packages of its own; True when reported."""
    verbs = _INSTALL_VERBS.get(prog)
    if verbs is None:
        return False
    pos: list[str] = []
    skip = False
    verb_at = -1
    for a in args:
        if skip:
            skip = False
        elif a in _PKG_VALUE:
            skip = True
        elif not a.startswith("-"):
            pos.append(a)
    if prog == "uv" and pos[:1] == ["pip"]:
        pos = pos[1:]
    if prog == "uv" and pos[:2] == ["tool", "install"]:
        pos = pos[1:]
    verb_at = 0 if pos and pos[0].lower() in verbs else -1
    # `npm install`, `pip install -r requirements.txt`, `pip install -e .` install what the
    # project already lists; a named package is new code nobody reviewed.
    names = [p for p in pos[verb_at + 1 :] if p not in (".", "..") and not p.startswith("./")]
    if verb_at < 0 or not names:
        return False
    ctx.add(
        "package.install",
        "write",
        f"`{snippet([prog, *args])}` installs {', '.join(names[:4])}: a package nobody listed "
        "in the project, whose install scripts run now and whose code runs later.",
    )
    return True


def _installer(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    install(prog, args, ctx)


Handler = Callable[[str, list[str], Stdin, Ctx], None]
INSTALLERS = frozenset(_INSTALL_VERBS)
PERSISTERS: dict[str, Handler] = {
    "tee": _tee,
    **dict.fromkeys(words("cp mv install ln rsync"), _copy),
    "sed": _sed,
    "chmod": _chmod_exec,
    "crontab": _crontab,
    **dict.fromkeys(INSTALLERS - {"uv", "poetry", "pdm", "pipx", "conda"}, _installer),
}
GIT_HOOKS = _git_hooks
