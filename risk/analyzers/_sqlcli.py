"""Command-line database clients: `psql -c`, `mysql -e`, `sqlite3 db SQL`, SQL on stdin."""

from __future__ import annotations

from collections.abc import Sequence

from interlock.risk.analyzers._findings import Finding, environment_of
from interlock.risk.analyzers._sql import analyze_sql

__all__ = ["SQL_CLIENTS", "analyze_sql_cli"]

# Command-line database clients: the option that carries SQL, and the ones that name where.
_SQL_OPTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "psql": (frozenset({"-c", "--command"}), frozenset({"-h", "--host", "-d", "--dbname"})),
    "mysql": (frozenset({"-e", "--execute"}), frozenset({"-h", "--host", "-D", "--database"})),
    "sqlcmd": (frozenset({"-Q", "-q"}), frozenset({"-S", "-d"})),
    "clickhouse-client": (frozenset({"-q", "--query"}), frozenset({"-h", "--host", "-d"})),
    "snowsql": (frozenset({"-q", "--query"}), frozenset({"-a", "--accountname", "-d"})),
    "cockroach": (frozenset({"-e", "--execute"}), frozenset({"--host", "--url", "-d"})),
}
_SQL_OPTS["mariadb"] = _SQL_OPTS["mysql"]
_SQL_OPTS["clickhouse"] = _SQL_OPTS["clickhouse-client"]
SQL_CLIENTS = frozenset({*_SQL_OPTS, "sqlite3"})


def analyze_sql_cli(
    prog: str, argv: Sequence[str], stdin: str | None, env: str | None
) -> list[Finding]:
    """`psql -c "..."`, `mysql -e "..."`, `sqlite3 db "..."`, or SQL piped on stdin."""
    sql_opts, where_opts = _SQL_OPTS.get(prog, (frozenset(), frozenset()))
    texts: list[str] = []
    positional: list[str] = []
    where: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        opt, eq, val = a.partition("=")
        if opt in sql_opts or opt in where_opts:
            if not eq:
                i += 1
                val = argv[i] if i < len(argv) else ""
            (texts if opt in sql_opts else where).append(val)
        elif len(a) > 2 and a[:2] in sql_opts:
            texts.append(a[2:])
        elif a.startswith("-"):
            pass
        else:
            positional.append(a)
        i += 1
    if prog == "sqlite3" and len(positional) > 1:
        texts.extend(positional[1:])
        positional = positional[:1]
    for w in (*where, *positional):
        env = environment_of(w, explicit=False) or env
    if stdin and not texts:
        texts.append(stdin)
    out: list[Finding] = []
    for text in texts:
        out.extend(analyze_sql(text, env))
    return out
