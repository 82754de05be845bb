"""HTTP and GraphQL analyzers: DELETE requests, destructive POSTs, destructive mutations."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from interlock.risk._model import Effect
from interlock.risk.analyzers._findings import Finding, environment_of, snippet, words

__all__ = [
    "HTTP_SIGNALS",
    "analyze_graphql",
    "analyze_http",
    "analyze_http_cli",
    "looks_like_graphql",
    "verb_effect",
]

HTTP_SIGNALS: dict[str, str] = {
    "http.delete": "HTTP DELETE request",
    "http.destructive": (
        "HTTP PUT/PATCH/POST whose path or body asks to delete, destroy, revoke, terminate or purge"
    ),
    "graphql.destructive_mutation": (
        "GraphQL mutation whose operation or field name deletes, destroys, removes, revokes, "
        "drops, purges or terminates"
    ),
}

_VERBS: dict[str, Effect] = {
    "delete": "delete",
    "deletion": "delete",
    "remove": "delete",
    "removal": "delete",
    "truncate": "delete",
    "uninstall": "delete",
    "unpublish": "delete",
    "destroy": "destroy",
    "terminate": "destroy",
    "termination": "destroy",
    "purge": "destroy",
    "drop": "destroy",
    "wipe": "destroy",
    "erase": "destroy",
    "nuke": "destroy",
    "deprovision": "destroy",
    "decommission": "destroy",
    "revoke": "access",
    "revocation": "access",
}
# Things whose loss is not a row but a whole store: deleting one of these destroys data.
DATA_NOUNS = words(
    "volume volumes database databases db dbs instance instances cluster clusters "
    "bucket buckets project projects environment environments namespace namespaces "
    "disk disks backup backups snapshot snapshots table tables account accounts "
    "organization organizations org orgs workspace workspaces repository repositories "
    "repo repos storage vault vaults keyspace dataset datasets server servers "
    "filesystem stack stacks tenant tenants service services"
)
# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_GQL_START = re.compile(
    r'\A\s*(?:\#[^\n]*\n\s*)*(?:(?P<kw>mutation|query|subscription|fragment)\b|\{(?!\s*"))'
)
_GQL_STRIP = re.compile(r'\#[^\n]*|"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)|"(?:[^"\\\n]|\\.)*"?')
_GQL_TOKEN = re.compile(r"\.\.\.|[_A-Za-z][_0-9A-Za-z]*|[{}():@$]")
_BODY_ACTION_KEYS = words("action op operation command type intent event verb method")
_FLAG_WORDS = frozenset(_VERBS) | {"force", "hard", "permanent", "permanently", "all", "now"}
_METHODS = words("GET HEAD OPTIONS POST PUT PATCH DELETE")


def words_of(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def verb_effect(name: str) -> tuple[str, Effect] | None:
    """(verb, effect) when an identifier or path names a destructive verb, else None."""
    words = words_of(name)
    for w in words:
        effect = _VERBS.get(w)
        if effect is not None:
            if effect == "delete" and DATA_NOUNS.intersection(words):
                effect = "destroy"
            return w, effect
    return None


def looks_like_graphql(text: str) -> bool:
    return _GQL_START.match(text) is not None


def analyze_graphql(doc: str, env: str | None = None) -> list[Finding]:
    """Findings for the destructive fields of every mutation in a GraphQL document."""
    if "mutation" not in doc:
        return []
    toks = _GQL_TOKEN.findall(_GQL_STRIP.sub(" ", doc))
    out: list[Finding] = []
    i, n = 0, len(toks)
    while i < n:
        if toks[i] != "mutation":
            i += 1
            continue
        name = toks[i + 1] if i + 1 < n and toks[i + 1][0].isalpha() else ""
        while i < n and toks[i] != "{":
            i += 1
        fields, i = _top_fields(toks, i)
        hits = [(f, verb_effect(f)) for f in fields]
        found = [(f, v) for f, v in hits if v is not None]
        op_verb = verb_effect(name) if name else None
        if not found and op_verb is not None:
            found = [(name, op_verb)]
        label = f"mutation {name}".strip()
        for field, (verb, effect) in found:
            thing = " ".join(w for w in words_of(field) if w != verb)
            thing = f"the {thing}" if thing else "data"
            text = f"GraphQL `{label} {{ {field} }}` asks the API to {verb} {thing}."
            out.append(
                Finding(
                    signal="graphql.destructive_mutation", effect=effect, text=text, environment=env
                )
            )
    return out


def _top_fields(toks: Sequence[str], i: int) -> tuple[list[str], int]:
    """Field names directly inside the selection set opening at toks[i], and the end index."""
    fields: list[str] = []
    depth = parens = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if depth <= 0:
                return fields, i + 1
        elif t == "(":
            parens += 1
        elif t == ")":
            parens -= 1
        elif depth == 1 and parens == 0 and (t[0].isalpha() or t[0] == "_"):
            # Skip directives (@x), fragment spreads (...X, ... on T) and aliases (a: field).
            prev = toks[i - 1] if i else ""
            nxt = toks[i + 1] if i + 1 < n else ""
            if prev not in ("@", "...", "on") and nxt != ":":
                fields.append(t)
        i += 1
    return fields, i


def _body_verb(body: Any) -> tuple[str, Effect] | None:
    """A verb in a JSON body's action field (`{"action": "delete"}`) or flag (`{"purge": true}`).

    Free text is not read: a comment saying "delete" is not a request to delete.
    """
    if isinstance(body, str):
        text = body.strip()[:100_000]
        if not text.startswith("{"):
            return None
        try:
            body = json.loads(text)
        except ValueError:
            return None
    if not isinstance(body, Mapping):
        return None
    for k, v in list(body.items())[:50]:
        if not isinstance(k, str):
            continue
        if k.lower() in _BODY_ACTION_KEYS and isinstance(v, str):
            found = verb_effect(v[:200])
            if found:
                return found
        found = verb_effect(k)
        if found and v not in (False, None, 0, "") and _FLAG_WORDS.issuperset(words_of(k)):
            return found
    return None


def _graphql_in_body(body: Any) -> str | None:
    if isinstance(body, str):
        text = body.strip()
        if looks_like_graphql(text):
            return text
        if not text.startswith("{") or "mutation" not in text:
            return None
        try:
            body = json.loads(text[:100_000])
        except ValueError:
            return None
    if isinstance(body, Mapping):
        q = body.get("query")
        if isinstance(q, str) and looks_like_graphql(q):
            return q
    return None


def analyze_http(
    method: str, url: str, body: Any = None, env: str | None = None, *, graphql: bool = True
) -> list[Finding]:
    """A request given as method, URL or path, and optional body."""
    method = method.strip().upper()[:10]
    doc = _graphql_in_body(body)
    if doc is None and method not in ("DELETE", "POST", "PUT", "PATCH"):
        return []
    url = url.strip()[:2000]
    env = environment_of(url, explicit=False) or env
    shown = f"{method} {snippet(url, 80)}".strip()
    if doc is not None:
        return analyze_graphql(doc, env) if graphql else []
    if method == "DELETE":
        text = f"`{shown}` asks the API to delete what the URL names."
        return [Finding(signal="http.delete", effect="delete", text=text, environment=env)]
    if method not in ("POST", "PUT", "PATCH"):
        return []
    path = url.split("?", 1)[0].split("://", 1)[-1]
    path = path.partition("/")[2] if "://" in url else path
    found = verb_effect(path)
    where = "URL"
    if found is None:
        found, where = _body_verb(body), "body"
    if found is None:
        return []
    verb, effect = found
    text = f"`{shown}`: the {where} asks the API to {verb}."
    return [Finding(signal="http.destructive", effect=effect, text=text, environment=env)]


# Options of curl and wget that take a value; the URL is the first other word.
_CURL_VALUE = words(
    "-H --header -u --user -o --output -A --user-agent -e --referer -b --cookie -c "
    "--cookie-jar -x --proxy -T --upload-file -w --write-out -m --max-time "
    "--connect-timeout --retry -E --cert --key --cacert -K --config -r --range -Y -y "
    "-z --resolve -F --form --oauth2-bearer --aws-sigv4 --unix-socket -U --proxy-user "
    "--variable"
)
_CURL_DATA = words(
    "-d --data --data-raw --data-binary --data-urlencode --json --body-data --post-data"
)


def analyze_http_cli(prog: str, argv: Sequence[str], env: str | None) -> list[Finding]:
    """curl, wget and HTTPie command lines."""
    method, url, body = "", "", None
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        opt, eq, val = a.partition("=") if a.startswith("--") else (a, "", "")
        if opt in ("-X", "--request", "--method"):
            if not eq:
                i += 1
                val = argv[i] if i < len(argv) else ""
            method = val
        elif a.startswith("-X") and len(a) > 2:
            method = a[2:]
        elif opt in _CURL_DATA:
            if not eq:
                i += 1
                val = argv[i] if i < len(argv) else ""
            body = val
        elif opt == "--url":
            url = val if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 0 if eq else 1
        elif opt in _CURL_VALUE and not eq:
            i += 1
        elif not a.startswith("-"):
            rest.append(a)
        i += 1
    if prog in ("http", "https", "xh", "httpie") and rest and rest[0].upper() in _METHODS:
        method, rest = rest[0], rest[1:]
    if not url:
        url = next((r for r in rest if "://" in r or r.startswith(("/", "localhost"))), "")
        url = url or (rest[0] if rest else "")
    if not method:
        method = "POST" if body is not None or (prog != "curl" and len(rest) > 1) else "GET"
    if not url:
        return []
    return analyze_http(method, url, body, env)
