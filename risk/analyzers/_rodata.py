"""What data clients do: SQL (and psql, mysql, sqlite3), redis-cli, mongosh, GraphQL, and
HTTP requests made with curl, wget or HTTPie or given as method and URL (see `_readonly`)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._http import looks_like_graphql
from interlock.risk.analyzers._rotypes import Classifier, Nested
from interlock.risk.analyzers._sql_tokens import tokens
from interlock.risk.analyzers._verdict import Verdict, destroy, read, worst, write

__all__ = ["DATA_PROGRAMS", "graphql_verdict", "http_verdict", "sql_verdict"]

_SQL_READ_FIRST = words("SELECT SHOW DESCRIBE DESC WITH TABLE VALUES EXPLAIN PRAGMA")
# Words that make a statement change something wherever they appear outside strings,
# comments and quoted names (a data-modifying CTE, SELECT ... INTO, FOR UPDATE, a function
# with side effects).
_SQL_WRITES = words(
    "INSERT UPDATE DELETE MERGE UPSERT REPLACE INTO COPY CALL DO EXEC EXECUTE LOCK VACUUM "
    "REFRESH REINDEX CLUSTER ALTER CREATE DROP TRUNCATE GRANT REVOKE RENAME ATTACH DETACH "
    "PG_TERMINATE_BACKEND PG_CANCEL_BACKEND SETVAL NEXTVAL LO_UNLINK LO_IMPORT LO_EXPORT "
    "SET_CONFIG PG_RELOAD_CONF PG_ROTATE_LOGFILE PG_FILE_WRITE PG_WRITE_FILE DBLINK "
    "DBLINK_EXEC DBLINK_CONNECT"
)
_PSQL_META_READ = re.compile(
    r"\\(?:d[a-zA-Z+]*|l\+?|list|conninfo|x|z|timing|\?|h|sf|sv|encoding)\b"
)


@lru_cache(maxsize=1024)
def sql_verdict(sql: str) -> Verdict:
    """Read when every statement starts like a query and no word in it writes."""
    text = sql.strip()
    if not text:
        return Verdict("read", "runs no SQL")
    if text.startswith("\\"):
        if _PSQL_META_READ.match(text) and ";" not in text:
            return read(text, "is a psql command that only describes the database")
        return write(text, "is a psql command that may run files, shells or copies")
    toks = tokens(text[:100_000])
    statements: list[list[Any]] = [[]]
    for t in toks:
        if t[0] == "o" and t[1] == ";":
            statements.append([])
        else:
            statements[-1].append(t)
    out = []
    for st in statements:
        if not st:
            continue
        words_ = [t[1] for t in st if t[0] == "w"]
        first = next((t[1] for t in st if t[1] != "("), "")
        shown = snippet(text if len(statements) == 1 else " ".join(t[2] for t in st), 80)
        if first not in _SQL_READ_FIRST:
            out.append(write(shown, f"is a {first or 'SQL'} statement: it may change data"))
        elif first == "EXPLAIN" and ("ANALYZE" in words_ or "ANALYSE" in words_):
            out.append(write(shown, "runs the statement it explains (EXPLAIN ANALYZE)"))
        elif first == "EXPLAIN":
            out.append(read(shown, "only shows the plan; EXPLAIN without ANALYZE runs nothing"))
        elif hit := next((w for w in words_ if w in _SQL_WRITES), None):
            out.append(write(shown, f"contains {hit}: it may change data"))
        elif first == "PRAGMA" and any(t[1] == "=" for t in st):
            out.append(write(shown, "sets a database option"))
        else:
            out.append(read(shown, "only queries"))
    return worst(out)


def graphql_verdict(doc: str) -> Verdict:
    found = [t.lower() for t in re.findall(r"[_A-Za-z]\w*", re.sub(r'"[^"]*"|#[^\n]*', " ", doc))]
    if "mutation" in found:
        return write(doc, "is a GraphQL mutation")
    return read(doc, "is a GraphQL query: it only reads")


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def http_verdict(method: str, url: str, body: Any) -> Verdict:
    method = method.strip().upper()
    shown = f"{method} {snippet(url, 70)}".strip()
    if method in _READ_METHODS:
        return read(shown, "only reads what the URL names")
    doc = body.get("query") if isinstance(body, dict) else body
    if method == "POST" and isinstance(doc, str) and looks_like_graphql(doc.strip()):
        v = graphql_verdict(doc)
        return Verdict(v.kind, f"`{shown}` {v.reason.split('` ', 1)[-1]}")
    return write(shown, f"is an HTTP {method or 'request'}: it may change what the URL names")


# --- command-line clients -------------------------------------------------------------

_SQL_CLI: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # program: options that carry SQL, options that take another value
    "psql": (
        words("-c --command"),
        words("-h --host -d --dbname -U --username -p --port -v --set -P --pset -o --output -L"),
    ),
    "mysql": (words("-e --execute"), words("-h --host -D --database -u --user -P --port")),
    "mariadb": (words("-e --execute"), words("-h --host -D --database -u --user -P --port")),
}


def _sql_client(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    sql_opts, value_opts = _SQL_CLI.get(prog, (frozenset(), frozenset()))
    texts: list[str] = []
    pos: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        opt, eq, val = a.partition("=")
        if opt in ("-f", "--file", "-o", "--output") or a.startswith("--file="):
            return write(shown, "runs or writes a file whose contents are not shown")
        if opt in sql_opts:
            texts.append(val if eq else (args[i + 1] if i + 1 < len(args) else ""))
            i += 0 if eq else 1
        elif len(a) > 2 and a[:2] in sql_opts:
            texts.append(a[2:])
        elif opt in value_opts and not eq:
            i += 1
        elif not a.startswith("-"):
            pos.append(a)
        elif a in ("-l", "--list", "--version", "-V"):
            return read(shown, "only lists databases or prints the version")
        i += 1
    if prog == "sqlite3":
        texts.extend(pos[1:])
    if n.stdin is not None and not texts:
        texts.append(n.stdin)
    if not texts:
        return write(shown, "runs SQL from its input or interactively, which is not shown")
    verdicts = []
    for text in texts:
        if prog == "sqlite3" and text.lstrip().startswith("."):
            dot = text.split()[0]
            ok = dot in (".tables", ".schema", ".indexes", ".indices", ".databases", ".dbinfo")
            verdicts.append(
                read(shown, "only describes the database")
                if ok
                else write(shown, f"runs the sqlite3 command {dot}")
            )
        else:
            verdicts.append(sql_verdict(text))
    return worst(verdicts)


_REDIS_READ = words(
    "GET MGET HGET HGETALL HMGET HKEYS HVALS HLEN HEXISTS KEYS SCAN HSCAN SSCAN ZSCAN INFO PING "
    "TTL PTTL TYPE EXISTS STRLEN GETRANGE LRANGE LLEN LINDEX SMEMBERS SCARD SISMEMBER ZRANGE "
    "ZREVRANGE ZRANGEBYSCORE ZCARD ZSCORE ZRANK ZCOUNT DBSIZE ECHO TIME LASTSAVE ROLE XRANGE "
    "XREVRANGE XLEN XINFO PFCOUNT MONITOR SUBSCRIBE"
)
_REDIS_PAIRS_READ = {
    ("CONFIG", "GET"),
    ("CLIENT", "LIST"),
    ("SLOWLOG", "GET"),
    ("MEMORY", "USAGE"),
    ("CLUSTER", "INFO"),
    ("CLUSTER", "NODES"),
    ("CLIENT", "INFO"),
    ("MEMORY", "STATS"),
    ("SLOWLOG", "LEN"),
    ("COMMAND", "COUNT"),
}
_REDIS_VALUE = words("-h -p -a -n -u -s --user --pass --tls-cert --cacert -i -r -d --sni")


def _redis(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] in ("--scan", "--bigkeys", "--memkeys", "--stat", "--latency", "--version"):
            return read(shown, "only samples keys or statistics")
        i += 2 if args[i] in _REDIS_VALUE else 1
    cmd = [a.upper() for a in args[i : i + 2]]
    if not cmd:
        return write(shown, "opens an interactive session, or runs commands from its input")
    if cmd[0] in ("FLUSHALL", "FLUSHDB"):
        scope = "every database" if cmd[0] == "FLUSHALL" else "the database"
        return destroy(shown, f"deletes every key in {scope}", "destroy")
    if cmd[0] in ("DEL", "UNLINK", "HDEL", "SREM", "ZREM", "LREM", "XDEL", "GETDEL"):
        return destroy(shown, "deletes keys or members")
    if cmd[0] in _REDIS_READ or tuple(cmd[:2]) in _REDIS_PAIRS_READ:
        return read(shown, f"(redis {cmd[0]}) only reads")
    return write(shown, f"(redis {cmd[0]}) changes keys or the server")


_MONGO_READ = words(
    "find findOne count countDocuments estimatedDocumentCount distinct aggregate explain "
    "getCollectionNames getCollectionInfos getIndexes stats serverStatus printjson print "
    "listCollections getName getSiblingDB getCollection toArray limit sort skip pretty "
    "forEach hostInfo version isMaster hello currentOp getUsers getRoles dbStats adminCommand "
    "runCommand itcount next hasNext map project"
)
_MONGO_DESTROY = words(
    "drop dropDatabase deleteMany deleteOne remove dropIndex dropIndexes findOneAndDelete"
)


def _mongo(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    code = next((args[k + 1] for k, a in enumerate(args[:-1]) if a == "--eval"), None)
    code = code if code is not None else n.stdin
    if code is None:
        return write(shown, "opens an interactive shell, or runs a script that is not shown")
    calls = re.findall(r"\.\s*([A-Za-z_]\w*)\s*\(", code)
    if re.search(r"\bshow\s+(?:dbs|databases|collections|users)\b", code):
        calls.append("find")
    gone = [c for c in calls if c in _MONGO_DESTROY]
    if gone:
        return destroy(shown, f"deletes documents or collections ({gone[0]})", "destroy")
    if "$out" in code or "$merge" in code:
        return write(shown, "writes the aggregation's results into a collection")
    # runCommand and adminCommand can do anything; they read only with a known read command.
    if (
        not calls
        or any(c not in _MONGO_READ for c in calls)
        or re.search(
            r"(?:run|admin)Command\s*\(\s*\{\s*['\"]?(?!(?:ping|serverStatus|dbStats|listDatabases|"
            r"collStats|buildInfo|hello|isMaster)\b)",
            code,
        )
    ):
        return write(shown, "may change data: it calls more than queries")
    return read(shown, "only queries")


_CURL_VALUE = words(
    "-H --header -u --user -A --user-agent -e --referer -b --cookie -c --cookie-jar -x --proxy "
    "-w --write-out -m --max-time --connect-timeout --retry -E --cert --key --cacert -K "
    "--config -r --range --resolve --oauth2-bearer --aws-sigv4 --unix-socket -U --proxy-user"
)
_CURL_SENDS = words(
    "-d --data --data-raw --data-binary --data-urlencode --json -F --form --form-string -T "
    "--upload-file --post-data --post-file --body-data --body-file"
)
_CURL_SAVES = words("-o --output -O --remote-name --remote-name-all -J --output-dir")


def _curl(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    method = ""
    urls: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        opt, eq, val = a.partition("=") if a.startswith("--") else (a, "", "")
        if opt in ("-X", "--request", "--method"):
            method = val if eq else (args[i + 1] if i + 1 < len(args) else "")
            i += 0 if eq else 1
        elif a.startswith("-X") and len(a) > 2:
            method = a[2:]
        elif opt in _CURL_SENDS:
            return write(shown, "sends data (a POST or an upload)")
        elif opt in _CURL_SAVES and not (
            prog == "wget" and opt == "-O" and args[i + 1 : i + 2] == ["-"]
        ):
            if opt in ("-o", "--output") and args[i + 1 : i + 2] == ["/dev/null"]:
                i += 2
                continue
            return write(shown, "saves the response into a file")
        elif prog == "wget" and a.startswith("-") and not a.startswith("--") and "O" in a:
            if not (a.endswith("O-") or args[i + 1 : i + 2] == ["-"]):
                return write(shown, "saves the response into a file")
            i += 0 if a.endswith("O-") else 1
        elif a[:1] == "-" and a[1:2] != "-" and ("o" in a[1:] or "O" in a[1:]) and prog == "curl":
            if a.endswith("o") and args[i + 1 : i + 2] == ["/dev/null"]:
                i += 2
                continue
            return write(shown, "saves the response into a file")
        elif a in ("-I", "--head", "--spider"):
            method = "HEAD"
        elif opt in _CURL_VALUE and not eq:
            i += 1
        elif not a.startswith("-"):
            urls.append(a)
        i += 1
    if (
        prog == "wget"
        and method != "HEAD"
        and not any(
            a in ("-O-", "-qO-", "-O", "--output-document=-") or a.endswith("O-") for a in args
        )
    ):
        return write(shown, "saves the download into a file")
    return (
        http_verdict(method or "GET", " ".join(urls[:1]), None)
        if urls
        else write(shown, "names no URL Interlock can see")
    )


_HTTPIE_METHODS = words("GET HEAD OPTIONS POST PUT PATCH DELETE")
_HTTPIE_DATA = re.compile(r"^[^=:@]+(?:=|:=|@|=@|:=@)")


def _httpie(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    if any(a in ("-d", "--download", "-o", "--output", "-f", "--form") for a in args):
        return write(shown, "sends a form or saves the response into a file")
    pos = [a for a in args if not a.startswith("-")]
    method = pos[0].upper() if pos and pos[0].upper() in _HTTPIE_METHODS else ""
    url = pos[1] if method and len(pos) > 1 else (pos[0] if pos else "")
    items = pos[2:] if method else pos[1:]
    sends = any(_HTTPIE_DATA.match(x) and "==" not in x for x in items)
    return http_verdict(method or ("POST" if sends else "GET"), url, "data" if sends else None)


DATA_PROGRAMS: dict[str, Classifier] = {
    "psql": _sql_client,
    "mysql": _sql_client,
    "mariadb": _sql_client,
    "sqlite3": _sql_client,
    "redis-cli": _redis,
    "mongosh": _mongo,
    "mongo": _mongo,
    "curl": _curl,
    "wget": _curl,
    "http": _httpie,
    "https": _httpie,
    "xh": _httpie,
}
