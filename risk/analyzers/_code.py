"""Interpreter one-liners: `python -c`, `node -e`, `perl -e`, `ruby -e`, `php -r`, and code
piped or here-doc'd into an interpreter.

Python is parsed (`_codepy`). The others are scanned for the calls that matter: running a
shell command (`child_process`, `system`, backticks, `%x{}`, `qx{}`, `shell_exec`), deleting
(`fs.rmSync`, `rm_rf`, `rmtree`, `unlink`), writing files, sending data, and running code
built at run time (`eval`, `Function`, `instance_eval`); a literal shell command is analysed
as shell. Code that decodes a payload and runs it is `code.decode_exec`; code that runs what
cannot be read is `code.opaque`. Code with none of these (`node -e "console.log(1)"`) finds
nothing.
"""

from __future__ import annotations

import re

from interlock.risk._model import Effect
from interlock.risk.analyzers._codepy import analyze_python
from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._secrets import persistence_target, secret_file
from interlock.risk.analyzers._shctx import Ctx, Stdin, destroy_target

__all__ = ["analyze_interpreter"]

# The option that takes the code, per interpreter (a cluster such as perl's `-lne` ends in it).
_CODE_OPTS: dict[str, frozenset[str]] = {
    "python": words("-c"),
    "node": words("-e --eval -p --print"),
    "perl": words("-e -E"),
    "ruby": words("-e"),
    "php": words("-r"),
}
_LANG = {"python3": "python", "python2": "python", "nodejs": "node", "bun": "node"}

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_STR = r"""(?:'([^'\n]*)'|"([^"\n]*)"|`([^`\n]*)`)"""
_RUNS = re.compile(
    r"(?:\b(?:execSync|exec|spawnSync|spawn|execFileSync|execFile|system|shell_exec|passthru"
    r"|popen|proc_open|IO\.popen|Open3\.\w+|qx|%x)\s*(?:[({]\s*)?" + _STR + r")"
    r"|(?<![\w$])`([^`\n]+)`"
)
_RUNS_ANY = re.compile(
    r"\bchild_process\b|\b(?:system|exec|shell_exec|passthru|popen|proc_open|spawn)\s*\("
    r"|\bIO\.popen\b|\bOpen3\b|%x[{(\[]|\bqx[{(\[/]|(?<![\w$])`"
)
_TREE = re.compile(
    r"\b(?:rmSync|rmdirSync|rimraf|rm_rf|rm_r|remove_tree|rmtree|remove_entry)\s*(?:[({]\s*)?"
    + _STR
    + r"?"
)
_DELETE = re.compile(
    r"\b(?:unlinkSync|unlink|File\.delete|FileUtils\.rm\b)\s*(?:[({]\s*)?" + _STR + r"?"
)
_WRITE = re.compile(
    r"\b(?:writeFileSync|appendFileSync|writeFile|appendFile|File\.write|file_put_contents"
    r"|IO\.write|createWriteStream)\s*(?:[({]\s*)?" + _STR + r"?"
    r"|\bopen\b[^;'\"\n]{0,40}['\"]\+?(?:>>?|[wa]\b)([^'\"\n]*)['\"]"
)
_DYNAMIC = re.compile(
    r"\b(?:eval|Function|instance_eval|class_eval|create_function|assert)\s*\(|\beval\s+\S"
)
_DECODE = re.compile(
    r"\b(?:atob|base64_decode|decode_base64|decode64|b64decode|fromCharCode|pack|unpack"
    r"|gzinflate|str_rot13)\b|Buffer\.from\([^)]*['\"](?:base64|hex)['\"]"
)
_SEND = re.compile(r"\b(?:https?\.request|fetch|Net::HTTP|LWP|IO::Socket|fsockopen|curl_exec)\b")


def _code_of(lang: str, args: list[str]) -> str | None:
    opts = _CODE_OPTS.get(lang, frozenset())
    for i, a in enumerate(args):
        if a in opts or (lang != "node" and a[:1] == "-" and a[1:2] != "-" and f"-{a[-1]}" in opts):
            return args[i + 1] if i + 1 < len(args) else None
        if a.startswith("--eval=") or a.startswith("--print="):
            return a.partition("=")[2]
        if not a.startswith("-"):
            return None  # a script file: not ours to read
    return None


def analyze_interpreter(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """Analyse the code an interpreter command runs (given with -c/-e/-r, or on stdin)."""
    lang = _LANG.get(prog, prog)
    if lang not in _CODE_OPTS:
        return
    code = _code_of(lang, args)
    if code is None and stdin.text is not None and (not args or args[0] == "-"):
        code = stdin.text
    if code is None:
        return
    shown = snippet([prog, *args] if stdin.text != code else [f"... | {prog}", *args], 90)
    if lang == "python":
        analyze_python(code, shown, ctx)
        return
    _scan(code[:20_000], shown, ctx)


def _first(m: re.Match[str]) -> str | None:
    return next((g for g in m.groups() if g), None)


def _scan(code: str, shown: str, ctx: Ctx) -> None:
    ran = False
    for m in _RUNS.finditer(code):
        text = _first(m)
        if text:
            ran = True
            ctx.add("code.shell", "write", f"`{shown}` runs the shell command `{snippet(text)}`.")
            ctx.script(text)
    if not ran and _RUNS_ANY.search(code):
        ran = True
        ctx.add("code.shell", "write", f"`{shown}` runs a shell command built at run time.")
    for m in _TREE.finditer(code):
        path = _first(m)
        root = path is None or destroy_target([path])
        where = path or "a path computed at run time"
        effect: Effect = "destroy" if root else "delete"
        ctx.add("shell.recursive_delete", effect, f"`{shown}` deletes {where} and all under it.")
        ctx.add("code.file_write", effect, f"`{shown}` deletes the tree {where}.")
    for m in _DELETE.finditer(code):
        where = _first(m) or "a file named at run time"
        ctx.add("code.file_write", "delete", f"`{shown}` deletes {where}.")
    for m in _WRITE.finditer(code):
        path = _first(m)
        target = persistence_target(path) if path else None
        if target is not None:
            ctx.add(target[0], "config", f"`{shown}` writes {path}, {target[1]}.")
        else:
            where = path or "a file named at run time"
            ctx.add("code.file_write", "write", f"`{shown}` writes {where}.")
    secrets = [w for w in re.findall(r"['\"]([^'\"\s]{2,200})['\"]", code) if secret_file(w)]
    for path in dict.fromkeys(secrets):
        ctx.add("secret.read", "read", f"`{shown}` reads {path} ({secret_file(path)}).")
    if _SEND.search(code) and secrets:
        ctx.add("exfil.secret", "network", f"`{shown}` reads {secrets[0]} and sends it out.")
    if _DYNAMIC.search(code):
        if _DECODE.search(code):
            ctx.add(
                "code.decode_exec",
                "write",
                f"`{shown}` decodes a hidden payload and runs it: read it decoded first.",
            )
        else:
            ctx.add("code.opaque", "write", f"`{shown}` runs code built at run time (eval).")
