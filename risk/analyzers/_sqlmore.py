"""SQL that runs programs, hides a delete, ends sessions, opens access or changes the server.

- `COPY ... TO|FROM PROGRAM 'cmd'` runs a shell command on the database server, as does
  `ALTER SYSTEM SET archive_command = ...` and the other settings that name a program or a
  library to load (`sql.run_program`).
- `MERGE ... WHEN [NOT] MATCHED [BY SOURCE] THEN DELETE` deletes rows (`sql.merge_delete`);
  with an always-true `ON` (or `NOT MATCHED BY SOURCE` with no condition) it deletes or
  rewrites every row, reported as the unbounded DELETE/UPDATE it is.
- `pg_terminate_backend`, `pg_cancel_backend`, `KILL` end other sessions or queries
  (`sql.terminate_sessions`): an availability risk.
- `GRANT ... TO PUBLIC` gives every role access (`sql.grant_public`).
- `ALTER SYSTEM`, MySQL's `SET GLOBAL|PERSIST` change the server's configuration
  (`sql.alter_system`).

Statements arrive tokenized by `_sql_tokens`, comments and strings already apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from interlock.risk._model import Effect
from interlock.risk.analyzers._findings import Finding, snippet, words
from interlock.risk.analyzers._sql_tokens import Tok, find_word, name_at, split_on

__all__ = ["MORE_MENTIONS", "MORE_SIGNALS", "more_findings"]

Tautology = Callable[[list[Tok]], bool]

MORE_SIGNALS: dict[str, str] = {
    "sql.run_program": (
        "COPY ... TO/FROM PROGRAM, or a server setting that runs a program or loads a library: "
        "a shell command runs on the database server"
    ),
    "sql.merge_delete": "MERGE ... THEN DELETE: rows deleted inside an upsert",
    "sql.terminate_sessions": "pg_terminate_backend, pg_cancel_backend or KILL: sessions ended",
    "sql.grant_public": "GRANT ... TO PUBLIC: every database role gets the access",
    "sql.alter_system": "ALTER SYSTEM or SET GLOBAL/PERSIST: the server's configuration changes",
}
# Lower-case words one of which every finding here needs (a cheap test before tokenizing).
MORE_MENTIONS = ("copy", "merge", "pg_", "kill", "public", "system", "global", "persist")

_KILLERS = frozenset({"PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND"})
# Settings whose value is a command the server runs, or a library it loads.
_PROGRAM_SETTINGS = words(
    "ARCHIVE_COMMAND RESTORE_COMMAND ARCHIVE_CLEANUP_COMMAND RECOVERY_END_COMMAND "
    "SSL_PASSPHRASE_COMMAND SHARED_PRELOAD_LIBRARIES SESSION_PRELOAD_LIBRARIES "
    "LOCAL_PRELOAD_LIBRARIES DYNAMIC_LIBRARY_PATH ARCHIVE_LIBRARY"
)


def _shown(toks: Sequence[Tok], limit: int = 90) -> str:
    return snippet([t[2] if t[0] != "s" else t[1] for t in toks], limit)


def more_findings(toks: list[Tok], env: str | None, tautology: Tautology) -> list[Finding]:
    """Findings of one statement; `tautology(tokens) -> bool` is the analyzer's own test."""
    out: list[Finding] = []
    head = toks[0][1]
    words_in = {t[1] for t in toks if t[0] == "w"}
    if head == "COPY" and "PROGRAM" in words_in:
        out.extend(_copy(toks, env))
    if "MERGE" in words_in and words_in & {"DELETE", "UPDATE"}:
        out.extend(_merge(toks, env, tautology))
    if _KILLERS & words_in or (head == "KILL" and len(toks) > 1):
        out.append(_kill(toks, env, head))
    if "GRANT" in words_in and "PUBLIC" in words_in:
        out.extend(_grant_public(toks, env))
    if head == "ALTER" and len(toks) > 1 and toks[1][1] == "SYSTEM":
        out.extend(_alter_system(toks, env))
    elif head == "SET" and len(toks) > 2 and toks[1][1] in ("GLOBAL", "PERSIST", "PERSIST_ONLY"):
        name = toks[2][2]
        text = f"`{_shown(toks)}` changes the server setting {name} for every session."
        out.append(Finding(signal="sql.alter_system", effect="config", text=text, environment=env))
    return out


def _copy(toks: list[Tok], env: str | None) -> list[Finding]:
    for i, t in enumerate(toks[:-1]):
        if t[1] == "PROGRAM" and t[0] == "w" and i > 0 and toks[i - 1][1] in ("TO", "FROM"):
            program = toks[i + 1][2] if toks[i + 1][0] == "s" else "a command"
            way = "sends the table's rows to" if toks[i - 1][1] == "TO" else "reads rows from"
            text = (
                f"`{_shown(toks)}` runs `{snippet(program, 80)}` as a shell command on the "
                f"database server (as its operating-system user) and {way} it."
            )
            return [Finding(signal="sql.run_program", effect="write", text=text, environment=env)]
    return []


def _merge(toks: list[Tok], env: str | None, tautology: Tautology) -> list[Finding]:
    m = next((i for i, t in enumerate(toks) if t[1] == "MERGE" and t[0] == "w"), -1)
    j = m + 1
    if j < len(toks) and toks[j][1] == "INTO":
        j += 1
    target, _ = name_at(toks, j)
    target = target or "the target table"
    on = find_word(toks, j, "ON", len(toks))
    first_when = find_word(toks, on + 1, "WHEN", len(toks)) if on >= 0 else -1
    cond = toks[on + 1 : first_when] if on >= 0 and first_when > on else []
    every = bool(cond) and tautology(cond)
    out: list[Finding] = []
    whens = split_on(toks[first_when:], "WHEN")[1:] if first_when >= 0 else []
    for branch in whens:
        vals = [t[1] for t in branch]
        if "THEN" not in vals:
            continue
        then = vals.index("THEN")
        action = vals[then + 1] if then + 1 < len(vals) else ""
        by_source = vals[:3] == ["NOT", "MATCHED", "BY"] and "SOURCE" in vals[:4]
        guarded = "AND" in vals[:then]
        shown = f"MERGE INTO {target} … WHEN {' '.join(t[2] for t in branch[: then + 2])}"
        if action == "DELETE":
            out.append(_merge_delete(shown, target, by_source, guarded, every, cond, env))
        elif action == "UPDATE" and every and not guarded and not by_source:
            text = (
                f"`{snippet(shown)}`: its ON condition `{_shown(cond, 60)}` is always true, "
                f"so it overwrites every row of {target}."
            )
            out.append(
                Finding(
                    signal="sql.update_without_where", effect="write", text=text, environment=env
                )
            )
    return out


def _merge_delete(
    shown: str,
    target: str,
    by_source: bool,
    guarded: bool,
    every: bool,
    cond: list[Tok],
    env: str | None,
) -> Finding:
    effect: Effect = "delete"
    if by_source:
        rows = f"every row of {target} that the source does not have"
    else:
        rows = f"every row of {target} that matches the source on `{_shown(cond, 60)}`"
    text = f"`{snippet(shown)}` deletes {rows}{' (within the AND condition)' if guarded else ''}."
    signal = "sql.merge_delete"
    if not guarded and (by_source or every):
        signal = "sql.delete_without_where"
        why = (
            "against a source that may be a small subset"
            if by_source
            else "with an ON condition that is always true"
        )
        text = f"`{snippet(shown)}` deletes {rows}, {why}: it can empty {target}."
    return Finding(signal=signal, effect=effect, text=text, environment=env)


def _kill(toks: list[Tok], env: str | None, head: str) -> Finding:
    names = [t[2] for t in toks if t[1] in _KILLERS]
    many = "FROM" in {t[1] for t in toks if t[0] == "w"}
    if head == "KILL":
        what = "a query" if len(toks) > 1 and toks[1][1] == "QUERY" else "a session"
        text = f"`{_shown(toks)}` ends {what} of another client; its work is rolled back."
    else:
        ends = "PG_TERMINATE_BACKEND" in {n.upper() for n in names}
        verb = "ends the sessions" if ends else "cancels the running queries"
        whose = "of every backend the query selects" if many else "of the backend it names"
        hurt = "their clients fail and open transactions roll back" if ends else "they fail"
        text = f"`{_shown(toks)}` {verb} {whose}: {hurt}."
    return Finding(signal="sql.terminate_sessions", effect="write", text=text, environment=env)


def _grant_public(toks: list[Tok], env: str | None) -> list[Finding]:
    for i, t in enumerate(toks):
        if t[1] == "GRANT" and t[0] == "w":
            to = find_word(toks, i + 1, "TO", 60)
            if to >= 0 and any(u[1] == "PUBLIC" for u in toks[to + 1 : to + 8]):
                text = (
                    f"`{_shown(toks)}` gives the access to PUBLIC, that is to every role in the "
                    "database, present and future."
                )
                return [
                    Finding(signal="sql.grant_public", effect="access", text=text, environment=env)
                ]
    return []


def _alter_system(toks: list[Tok], env: str | None) -> list[Finding]:
    verb = toks[2][1] if len(toks) > 2 else ""
    name = toks[3][2] if len(toks) > 3 else "?"
    if verb == "RESET" and name.upper() == "ALL":
        change = "resets every server setting made with ALTER SYSTEM"
    else:
        change = f"changes the server setting {name} in postgresql.auto.conf"
    out = [
        Finding(
            signal="sql.alter_system",
            effect="config",
            text=f"`{_shown(toks)}` {change}; it applies to every database on the server.",
            environment=env,
        )
    ]
    if verb == "SET" and name.upper() in _PROGRAM_SETTINGS:
        value = next((t[2] for t in toks[4:] if t[0] == "s"), "its value")
        text = (
            f"`{_shown(toks)}` makes the server run or load `{snippet(value, 80)}` "
            f"({name}): a program of the caller's choosing runs on the database server."
        )
        out.append(Finding(signal="sql.run_program", effect="write", text=text, environment=env))
    return out
