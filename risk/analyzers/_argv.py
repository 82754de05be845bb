"""A small, forgiving command-line option parser shared by the CLI analyzers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Parsed", "parse_argv"]


@dataclass
class Parsed:
    positionals: list[str] = field(default_factory=list)
    opts: dict[str, list[str]] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    after_dashdash: list[str] = field(default_factory=list)

    def last(self, *names: str) -> str | None:
        for name in names:
            values = self.opts.get(name)
            if values:
                return values[-1]
        return None

    def has(self, *names: str) -> bool:
        return not (self.flags.isdisjoint(names) and self.opts.keys().isdisjoint(names))

    def values(self) -> list[str]:
        return [v for vs in self.opts.values() for v in vs]


def parse_argv(
    argv: Sequence[str], value_opts: frozenset[str], *, single_dash_long: bool = False
) -> Parsed:
    """Split argv into positionals, options with values and flags.

    Options may come anywhere (as kubectl, aws and gcloud allow); `--x=v`, `--x v`, `-x v`,
    `-xv` and clusters of short flags (`-fr`) are understood. Unknown `--x` options are taken
    as flags, so at worst their value is read as a positional. With `single_dash_long`
    (terraform), `-auto-approve` and `-var=k=v` are long options, not clusters.
    """
    p = Parsed()
    i, n = 0, len(argv)
    while i < n:
        a = argv[i]
        i += 1
        if a == "--":
            p.after_dashdash = list(argv[i:])
            break
        if len(a) < 2 or a[0] != "-":
            p.positionals.append(a)
            continue
        if a.startswith("--") or (single_dash_long and len(a) > 2):
            name, eq, value = a.lstrip("-").partition("=")
            # terraform accepts `-x` and `--x` alike; it is keyed as `-x`.
            key = "-" + name if single_dash_long else "--" + name
            if eq:
                p.opts.setdefault(key, []).append(value)
            elif key in value_opts and i < n:
                p.opts.setdefault(key, []).append(argv[i])
                i += 1
            else:
                p.flags.add(key)
            continue
        # Short options: `-n prod`, `-nprod`, `-fr`.
        for j in range(1, len(a)):
            key = "-" + a[j]
            if key in value_opts:
                value = a[j + 1 :]
                if value.startswith("="):
                    value = value[1:]
                if not value and i < n:
                    value = argv[i]
                    i += 1
                p.opts.setdefault(key, []).append(value)
                break
            p.flags.add(key)
    return p
