"""Python one-liners (`python -c CODE`, `python - <<EOF`, `... | python`), read with `ast`.

Parsing is exact, so what the code calls is known rather than guessed: `os.system`,
`subprocess.*`, `os.popen`, `pty.spawn` and `os.exec*` run shell commands (literal ones are
analysed as shell); `shutil.rmtree` deletes a tree; `os.remove` and friends delete files;
`open(p, "w")` and `Path(p).write_text` write files; `open` of a credential file reads a
secret; `requests.post`, `urlopen`, `socket` send data; `exec`/`eval`/`compile` of anything
but a literal, and code that does not parse, are opaque (decode-and-exec when it decodes).
Code with none of these (`print(1 + 1)`) finds nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from interlock.risk._model import Effect
from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._secrets import (
    persistence_target,
    remote_host,
    secret_file,
    secret_var,
)
from interlock.risk.analyzers._shctx import Ctx, destroy_target

__all__ = ["analyze_python"]

_SHELL = words(
    "os.system os.popen subprocess.run subprocess.call subprocess.check_call "
    "subprocess.check_output subprocess.Popen subprocess.getoutput subprocess.getstatusoutput "
    "pty.spawn commands.getoutput os.execl os.execlp os.execv os.execvp os.execve os.execvpe "
    "os.spawnl os.spawnlp os.spawnv os.spawnvp os.posix_spawn os.posix_spawnp"
)
_TREE = words("shutil.rmtree distutils.dir_util.remove_tree")
_DELETE = words("os.remove os.unlink os.rmdir os.removedirs unlink rmdir")
_WRITE_METHODS = words("write_text write_bytes")
_DYNAMIC = words("exec eval compile __import__ importlib.import_module")
_DECODERS = words(
    "b64decode b32decode b85decode a85decode urlsafe_b64decode decodebytes decompress "
    "fromhex unhexlify loads decode rot13 rot_13"
)
_SENDERS = words(
    "requests.post requests.put requests.patch httpx.post httpx.put urllib.request.urlopen "
    "urlopen socket.create_connection smtplib.SMTP ftplib.FTP"
)
_FETCH = words("urlopen requests.get httpx.get urllib.request.urlopen")
_ENV_DUMPS = words("os.environ os.environ.items os.environ.copy")
_ENV_READS = words("os.environ.get os.getenv")


def _name(node: ast.AST, aliases: dict[str, str]) -> str:
    """Dotted name of a call target, through `import x as y` and `from x import y`."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # Path(p).unlink() -> "Path.unlink"
        inner = _name(node.func, aliases)
        parts.append(inner.rsplit(".", 1)[-1] if inner else "")
    elif isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
    else:
        return ""
    return ".".join(reversed(parts))


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _argv(node: ast.AST | None) -> list[str] | None:
    if isinstance(node, ast.List | ast.Tuple):
        items = [_literal(e) for e in node.elts]
        if items and all(i is not None for i in items):
            return [i for i in items if i is not None]
    return None


def _path_of(call: ast.Call) -> str | None:
    """The literal path a call acts on: its first argument, or `Path("x")` it hangs off."""
    if call.args:
        lit = _literal(call.args[0])
        if lit is not None:
            return lit
    target = call.func.value if isinstance(call.func, ast.Attribute) else None
    if isinstance(target, ast.Call) and target.args:
        return _literal(target.args[0])
    return None


def _mode(call: ast.Call) -> str:
    node = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "mode":
            node = kw.value
    return _literal(node) or "r"


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def analyze_python(code: str, shown: str, ctx: Ctx) -> None:
    """Add what `code` does to ctx (findings, and its literal shell commands analysed)."""
    try:
        tree = ast.parse(code[:20_000])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        ctx.add(
            "code.opaque",
            "write",
            f"`{shown}` runs Python that cannot be parsed, so what it does is unknown.",
        )
        return
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    decodes = fetches = False
    secrets: list[str] = []
    for call in _calls(tree):
        name = _name(call.func, aliases)
        last = name.rsplit(".", 1)[-1]
        decodes = decodes or last in _DECODERS
        fetches = fetches or name in _FETCH
        if name == "open" or name.endswith(("Path.read_text", "Path.read_bytes")):
            path = _path_of(call)
            if path is not None and secret_file(path) and "r" in _mode(call).replace("+", "r"):
                secrets.append(path)
    if not any(isinstance(n, ast.Call) for n in ast.walk(tree)):
        return
    for call in _calls(tree):
        _call(call, _name(call.func, aliases), shown, ctx, decodes, fetches, secrets)
    for path in dict.fromkeys(secrets):
        ctx.add("secret.read", "read", f"`{shown}` reads {path} ({secret_file(path)}).")


def _call(
    call: ast.Call,
    name: str,
    shown: str,
    ctx: Ctx,
    decodes: bool,
    fetches: bool,
    secrets: list[str],
) -> None:
    last = name.rsplit(".", 1)[-1]
    first = call.args[0] if call.args else None
    if name in _SHELL:
        text, argv = _literal(first), _argv(first)
        if text is not None:
            ctx.add("code.shell", "write", f"`{shown}` runs the shell command `{snippet(text)}`.")
            ctx.script(text)
        elif argv is not None:
            ctx.add("code.shell", "write", f"`{shown}` runs the command `{snippet(argv)}`.")
            ctx.command(argv)
        else:
            ctx.add(
                "code.opaque",
                "write",
                f"`{shown}` runs a command through {name} that is only built at run time.",
            )
    elif name in _TREE or last in ("rmtree", "remove_tree"):
        path = _path_of(call)
        where = path or "a path computed at run time"
        root = path is None or destroy_target([path])
        effect: Effect = "destroy" if root else "delete"
        ctx.add(
            "shell.recursive_delete",
            effect,
            f"`{shown}` deletes {where} and everything under it ({name}).",
        )
        ctx.add("code.file_write", effect, f"`{shown}` deletes the tree {where} from Python.")
    elif name in _DELETE or last in ("unlink", "rmdir"):
        where = _path_of(call) or "a file named at run time"
        ctx.add("code.file_write", "delete", f"`{shown}` deletes {where} ({name}).")
    elif (name == "open" and any(c in _mode(call) for c in "wax+")) or last in _WRITE_METHODS:
        _write(_path_of(call), name, shown, ctx)
    elif name in _DYNAMIC or last in ("exec", "eval"):
        text = _literal(first)
        if text is not None and name in ("exec", "eval") and ctx.nest() is not None:
            analyze_python(text, shown, ctx.child())
        elif fetches:
            ctx.add("shell.remote_exec", "network", f"`{shown}` downloads code and runs it.")
        elif decodes:
            ctx.add(
                "code.decode_exec",
                "write",
                f"`{shown}` decodes a hidden payload and runs it ({name}): read it decoded "
                "before approving.",
            )
        else:
            ctx.add("code.opaque", "write", f"`{shown}` runs code built at run time ({name}).")
    elif name in _SENDERS or (last in ("sendall", "send") and "socket" in name):
        url = _literal(first) or ""
        host = remote_host(url) if url else "a host named at run time"
        if secrets:
            ctx.add(
                "exfil.secret",
                "network",
                f"`{shown}` reads {secrets[0]} ({secret_file(secrets[0])}) and sends data "
                f"to {host}.",
            )
        elif name not in _FETCH or call.keywords or len(call.args) > 1:
            ctx.add("exfil.upload", "network", f"`{shown}` sends data to {host} ({name}).")
    elif name in ("print", "json.dumps", "dict", "str", "repr", "pprint.pprint"):
        for arg in call.args:
            inner = _name(arg.func, {}) if isinstance(arg, ast.Call) else _name(arg, {})
            if inner in _ENV_DUMPS:
                ctx.add(
                    "secret.env_dump",
                    "read",
                    f"`{shown}` prints every environment variable, secrets included.",
                )
            elif isinstance(arg, ast.Subscript | ast.Call) and (var := _env_read(arg)):
                ctx.add("secret.print", "read", f"`{shown}` prints the secret {var}.")


def _env_read(node: ast.AST) -> str | None:
    """`os.environ["AWS_SECRET_ACCESS_KEY"]` or `os.getenv("TOKEN")` of a secret name."""
    key: ast.AST | None = None
    if isinstance(node, ast.Subscript) and _name(node.value, {}) == "os.environ":
        key = node.slice
    elif isinstance(node, ast.Call) and _name(node.func, {}) in _ENV_READS and node.args:
        key = node.args[0]
    name = _literal(key)
    return secret_var(f"${name}") if name else None


def _write(path: str | None, name: str, shown: str, ctx: Ctx) -> None:
    where = path or "a file named at run time"
    target = persistence_target(path) if path else None
    if target is not None:
        signal, what = target
        ctx.add(signal, "config", f"`{shown}` writes {where}, {what}.")
    else:
        ctx.add("code.file_write", "write", f"`{shown}` writes {where} ({name}).")
