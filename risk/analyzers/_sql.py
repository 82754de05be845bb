"""SQL analyzer: a tolerant tokenizer and the statements that lose data or change access.

Comments and string literals are removed first, so `SELECT '--DROP TABLE x'` is harmless.
Backslashes do not escape quotes (standard SQL): for MySQL-style input this can only add
findings, never hide one. Statements need not be separated by `;` (T-SQL batches): a
statement starts at any keyword in the right shape (`DELETE FROM`, `DROP TABLE`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from interlock.risk._model import Effect
from interlock.risk.analyzers._findings import Finding, snippet, words
from interlock.risk.analyzers._limits import MAX_SQL_DEPTH, incomplete
from interlock.risk.analyzers._oversight import oversight_table
from interlock.risk.analyzers._sql_tokens import (
    Tok,
    find_word,
    name_at,
    names_at,
    split_on,
    strip_parens,
    tokens,
)
from interlock.risk.analyzers._sqlmore import MORE_MENTIONS, MORE_SIGNALS, more_findings

__all__ = ["SQL_SIGNALS", "analyze_sql"]

SQL_SIGNALS: dict[str, str] = {
    "sql.drop": "DROP of a table, database, schema or other object",
    "sql.truncate": "TRUNCATE: every row of the table is removed",
    "sql.delete_without_where": "DELETE with no WHERE clause (or an always-true one)",
    "sql.update_without_where": "UPDATE with no WHERE clause (or an always-true one)",
    "sql.alter_drop": "ALTER TABLE ... DROP of a column, partition or constraint",
    "sql.grant": "GRANT or REVOKE: who can access the data changes",
    **MORE_SIGNALS,
}

_STARTS = words("DELETE UPDATE DROP TRUNCATE ALTER GRANT REVOKE")
# A keyword after one of these is part of another clause (`ON DELETE CASCADE`,
# `GRANT UPDATE ON`, `SELECT ... FOR UPDATE`, `ON CONFLICT DO UPDATE`, `AFTER DELETE`,
# `MERGE ... THEN DELETE`, which `_sqlmore` reads with its ON condition).
_NOT_AFTER = words("ON AFTER BEFORE OF FOR INSTEAD GRANT REVOKE , . WITH ALL ALSO NOT DO THEN")
_DROP_DESTROY = words(
    "TABLE DATABASE SCHEMA TABLESPACE SEQUENCE KEYSPACE COLLECTION OWNED PARTITION "
    "SNAPSHOT STAGE WAREHOUSE CATALOG BUCKET SHARE"
)
_DROP_ACCESS = frozenset({"USER", "ROLE", "LOGIN", "POLICY", "GROUP"})
_DROP_CONFIG = words(
    "INDEX VIEW FUNCTION PROCEDURE TRIGGER TYPE EXTENSION DOMAIN RULE SERVER "
    "PUBLICATION SUBSCRIPTION EVENT AGGREGATE OPERATOR CAST COLLATION CONVERSION "
    "LANGUAGE STATISTICS SYNONYM PACKAGE ROUTINE MATERIALIZED FOREIGN TEMPORARY TEMP "
    "TEXT ACCESS PROCEDURAL TRANSFORM CONSTRAINT EXTERNAL STREAM TASK PIPE"
)
_DROP_KINDS = _DROP_DESTROY | _DROP_ACCESS | _DROP_CONFIG
# Kinds spelled with more than one word: `DROP MATERIALIZED VIEW`, `DROP TEXT SEARCH ...`.
_DROP_PREFIXES = words(
    "MATERIALIZED FOREIGN TEMPORARY TEMP TEXT SEARCH ACCESS EXTERNAL PROCEDURAL EVENT DATA"
)
_ALTER_DROP_CONFIG = words("CONSTRAINT PRIMARY FOREIGN INDEX KEY CHECK UNIQUE")
# `ALTER COLUMN c DROP DEFAULT` and friends change a column's rules, not its data.
_ALTER_DROP_MINOR = frozenset({"DEFAULT", "NOT", "IDENTITY", "EXPRESSION"})
_CLAUSE_END = words("RETURNING ORDER LIMIT GROUP OUTPUT OPTION")
_TRUE_WORDS = frozenset({"TRUE", "ON", "YES"})
_CMP_TRUE = words("= == >= <= IS LIKE ILIKE")
_NUM_CMP = {"<>": float.__ne__, "!=": float.__ne__, ">": float.__gt__, "<": float.__lt__}


def _is_start(toks: Sequence[Tok], i: int, in_alter: bool) -> bool:
    kw = toks[i][1]
    if toks[i][0] != "w" or kw not in _STARTS:
        return False
    if i > 0 and toks[i - 1][1] in _NOT_AFTER:
        return False
    nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
    if kw == "DELETE":
        if nxt in ("FROM", "TOP"):
            return True
        # T-SQL and MySQL forms: `DELETE t FROM t JOIN ...`, `DELETE users`.
        return (
            i + 1 < len(toks)
            and toks[i + 1][0] in "wi"
            and (
                i + 2 == len(toks)
                or toks[i + 2][1] == "WHERE"
                or find_word(toks, i + 1, "FROM", 6) >= 0
            )
        )
    if kw == "UPDATE":
        return find_word(toks, i + 1, "SET", 10) >= 0
    if kw == "DROP":
        return not in_alter and nxt in _DROP_KINDS
    if kw == "TRUNCATE":
        return nxt == "TABLE" or nxt == "ONLY" or (i + 1 < len(toks) and toks[i + 1][0] in "wi")
    if kw == "ALTER":
        return nxt == "TABLE"
    # GRANT ... TO / REVOKE ... FROM
    return find_word(toks, i + 1, "TO" if kw == "GRANT" else "FROM", 40) >= 0


def _tautology(toks: list[Tok], depth: int = 0) -> bool:
    """True for conditions that hold for every row: `1=1`, `TRUE`, `x = x`, `a OR 1=1`."""
    toks = strip_parens(toks)
    if not toks or depth > 4:
        return False
    ors = split_on(toks, "OR")
    if len(ors) > 1:
        return any(_tautology(p, depth + 1) for p in ors)
    ands = split_on(toks, "AND")
    if len(ands) > 1:
        return all(_tautology(p, depth + 1) for p in ands)
    vals = [t[1] for t in toks]
    if len(vals) == 1:
        return vals[0] in _TRUE_WORDS or (toks[0][0] == "n" and vals[0].strip("0.") != "")
    if vals == ["NOT", "FALSE"] or vals == ["NOT", "0"]:
        return True
    if len(vals) == 3 and vals[1] in _CMP_TRUE:
        return vals[0] == vals[2] or (vals[1] in ("LIKE", "ILIKE") and vals[2] == "'%'")
    if len(vals) == 3 and toks[0][0] == toks[2][0] == "n" and vals[1] in _NUM_CMP:
        return _NUM_CMP[vals[1]](float(vals[0]), float(vals[2]))  # `2 > 1`, `1 <> 0`
    literal_in = len(vals) >= 4 and vals[1:3] == ["IN", "("] and toks[0][0] in "ns"
    return literal_in and "SELECT" not in vals and vals[0] in vals[3:]  # `1 IN (1, 2)`


def _where(toks: Sequence[Tok]) -> tuple[bool, str]:
    """(restricted, always-true condition text) for the clause tokens at depth 0."""
    w = find_word(toks, 0, "WHERE", len(toks))
    if w < 0:
        return False, ""
    cond: list[Tok] = []
    depth = 0
    for t in toks[w + 1 :]:
        if t[1] == "(":
            depth += 1
        elif t[1] == ")":
            depth -= 1
        if depth == 0 and t[0] == "w" and t[1] in _CLAUSE_END:
            break
        cond.append(t)
    if (cond and cond[0][1] == "CURRENT") or not _tautology(cond):
        return True, ""
    return False, snippet([t[2] if t[0] != "s" else t[1] for t in cond], 60)


def _clause(toks: Sequence[Tok], i: int, starts: set[int]) -> list[Tok]:
    depth = 0
    out: list[Tok] = []
    for j in range(i, len(toks)):
        if j != i and j in starts and depth == 0:
            break
        v = toks[j][1]
        if v == "(":
            depth += 1
        elif v == ")":
            depth -= 1
            if depth < 0:
                break
        out.append(toks[j])
    return out


def _delete_or_update(kw: str, clause: list[Tok], env: str | None) -> Finding | None:
    restricted, cond = _where(clause)
    if restricted:
        return None
    effect: Effect
    if kw == "DELETE":
        f = find_word(clause, 1, "FROM", len(clause))
        target, _ = name_at(clause, f + 1 if f >= 0 else 1)
        stmt = f"DELETE FROM {target}" if f >= 0 else f"DELETE {target}"
        signal, effect, verb = "sql.delete_without_where", "delete", "deletes"
    else:
        j = 1
        while j < len(clause) and clause[j][1] in ("ONLY", "LOW_PRIORITY", "IGNORE"):
            j += 1
        target, _ = name_at(clause, j)
        stmt = f"UPDATE {target} SET …"
        signal, effect, verb = "sql.update_without_where", "write", "overwrites"
    why = f"its WHERE clause `{cond}` is always true" if cond else "it has no WHERE clause"
    text = f"`{stmt}`: {why}, so it {verb} every row of {target or 'the table'}."
    return Finding(signal=signal, effect=effect, text=text, environment=env)


def _drop(clause: list[Tok], env: str | None) -> Finding:
    kinds = [clause[1][1]]
    j = 2
    while kinds[-1] in _DROP_PREFIXES and j < len(clause) and clause[j][0] == "w":
        kinds.append(clause[j][1])
        j += 1
    if clause[j : j + 2] and clause[j][1] == "IF":
        j += 2
    while j < len(clause) and clause[j][1] in ("CONCURRENTLY", "BY"):
        j += 1
    names = names_at(clause, j, frozenset({"CASCADE", "RESTRICT", "ON", "PURGE"}))
    cascade = any(t[1] == "CASCADE" for t in clause)
    kind = kinds[0] if kinds else "OBJECT"
    effect: Effect
    if cascade or (kind in _DROP_DESTROY and not {"TEMPORARY", "TEMP"} & set(kinds)):
        effect = "destroy"
    elif kind in _DROP_ACCESS:
        effect = "access"
    else:
        effect = "config"
    what = " ".join(kinds).lower() or "object"
    shown = ", ".join(names) or "?"
    loses = {
        "destroy": "and all the data in it, permanently",
        "access": "and the access it grants",
        "config": "from the database",
    }[effect]
    extra = " CASCADE also drops everything that depends on it." if cascade else ""
    text = f"`DROP {' '.join(kinds)} {shown}` removes the {what} {shown} {loses}.{extra}"
    if kind == "OWNED":
        text = f"`DROP OWNED BY {shown}` drops every object {shown} owns, with its data."
    return Finding(signal="sql.drop", effect=effect, text=text, environment=env)


def _alter(clause: list[Tok], env: str | None) -> list[Finding]:
    j = 2
    while j < len(clause) and clause[j][1] in ("IF", "EXISTS", "ONLY"):
        j += 1
    table, _ = name_at(clause, j)
    out: list[Finding] = []
    depth = 0
    for k, t in enumerate(clause):
        if t[1] == "(":
            depth += 1
        elif t[1] == ")":
            depth -= 1
        if depth or t[1] != "DROP" or t[0] != "w":
            continue
        nxt = clause[k + 1][1] if k + 1 < len(clause) else ""
        if nxt in _ALTER_DROP_MINOR:
            continue
        if nxt in _ALTER_DROP_CONFIG:
            rest = " ".join(names_at(clause, k + 2)) if nxt in ("CONSTRAINT", "INDEX") else ""
            shown = snippet(f"DROP {nxt} {rest}")
            text = (
                f"`ALTER TABLE {table} {shown}` removes a constraint or index from {table}; "
                "the data stays but is no longer protected by it."
            )
            out.append(
                Finding(signal="sql.alter_drop", effect="config", text=text, environment=env)
            )
            continue
        m = k + 2 if nxt in ("COLUMN", "PARTITION") else k + 1
        if m < len(clause) and clause[m][1] == "IF":
            m += 2
        col, _ = name_at(clause, m)
        what = "partition" if nxt == "PARTITION" else "column"
        text = (
            f"`ALTER TABLE {table} DROP {what.upper()} {col}` deletes the {what} {col} "
            f"and its data from every row."
        )
        out.append(Finding(signal="sql.alter_drop", effect="destroy", text=text, environment=env))
    return out


def _grant(kw: str, clause: list[Tok], env: str | None) -> Finding:
    shown = snippet([t[2] if t[0] != "s" else t[1] for t in clause], 90)
    to = find_word(clause, 1, "TO", len(clause))  # `public.users` is a schema, not PUBLIC
    to_public = to >= 0 and any(t[1] == "PUBLIC" for t in clause[to + 1 :])
    why = (
        "gives every database user access"
        if to_public and kw == "GRANT"
        else ("changes who can read or change the data" if kw == "GRANT" else "removes access")
    )
    return Finding(signal="sql.grant", effect="access", text=f"`{shown}` {why}.", environment=env)


# Every finding needs one of these words, or a `$`-quoted body run by DO.
_MENTIONS = (
    "delete",
    "update",
    "drop",
    "truncate",
    "alter",
    "grant",
    "revoke",
    "exec",
    "$",
    "checkpoint",
    "interlock_",
    *MORE_MENTIONS,
)
# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_RUNS_STRINGS = re.compile(r"\bdo\b|exec", re.I)


def analyze_sql(sql: str, env: str | None = None, depth: int = 0) -> list[Finding]:
    """Findings for one SQL text (any number of statements)."""
    low = sql.lower()
    if not any(w in low for w in _MENTIONS):
        return []
    out: list[Finding] = []
    runs_strings = _RUNS_STRINGS.search(sql) is not None
    for stmt in _split_statements(tokens(sql)):
        out.extend(_statement(stmt, env, depth, runs_strings))
    return out


def _split_statements(toks: list[Tok]) -> list[list[Tok]]:
    parts: list[list[Tok]] = [[]]
    for t in toks:
        if t[1] == ";":
            if parts[-1]:
                parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _statement(toks: list[Tok], env: str | None, depth: int, runs_strings: bool) -> list[Finding]:
    head = toks[0][1]
    # Plain EXPLAIN only plans; EXPLAIN ANALYZE runs the statement.
    if head == "EXPLAIN" and not any(t[1] == "ANALYZE" for t in toks[1:6]):
        return []
    out: list[Finding] = []
    tamper = _oversight(toks, env)
    if tamper is not None:
        out.append(tamper)
    if runs_strings:
        out.extend(_nested(toks, env, depth))
    out.extend(more_findings(toks, env, _tautology))
    in_alter = head == "ALTER"
    starts = [i for i, t in enumerate(toks) if t[1] in _STARTS and _is_start(toks, i, in_alter)]
    start_set = set(starts)
    for i in starts:
        clause = _clause(toks, i, start_set)
        kw = clause[0][1]
        if kw in ("DELETE", "UPDATE"):
            f = _delete_or_update(kw, clause, env)
            if f is not None:
                out.append(f)
        elif kw == "DROP":
            out.append(_drop(clause, env))
        elif kw == "TRUNCATE":
            j = 1
            while j < len(clause) and clause[j][1] in ("TABLE", "ONLY"):
                j += 1
            names = ", ".join(names_at(clause, j)) or "the table"
            text = f"`TRUNCATE {names}` removes every row of {names} at once."
            out.append(Finding(signal="sql.truncate", effect="delete", text=text, environment=env))
        elif kw == "ALTER":
            out.extend(_alter(clause, env))
        else:
            out.append(_grant(kw, clause, env))
    return out


def _nested(toks: list[Tok], env: str | None, depth: int) -> list[Finding]:
    """SQL that a statement runs from a string: `DO $$...$$`, `EXECUTE '...'`, `EXEC('...')`."""
    out: list[Finding] = []
    for i, t in enumerate(toks):
        if t[0] != "s":
            continue
        j = i - 1
        while j >= 0 and toks[j][1] in ("(", "IMMEDIATE", "SP_EXECUTESQL", "LANGUAGE", "PLPGSQL"):
            j -= 1
        if j < 0 or toks[j][1] not in ("DO", "EXEC", "EXECUTE"):
            continue
        if depth + 1 >= MAX_SQL_DEPTH:
            out.append(incomplete(f"SQL run from strings more than {MAX_SQL_DEPTH} levels deep"))
            break
        out.extend(analyze_sql(t[2], env, depth + 1))
    return out


def _oversight(toks: list[Tok], env: str | None) -> Finding | None:
    """Any use of Interlock's or LangGraph's own tables, reading included."""
    for t in toks:
        if t[0] in "wi":
            whose = oversight_table(t[1].rsplit(".", 1)[-1])
            if whose is not None:
                shown = snippet([u[2] if u[0] != "s" else u[1] for u in toks], 80)
                text = (
                    f"`{shown}` uses {t[2]}, {whose}: an agent must not read or change the "
                    "records that oversee it."
                )
                return Finding(
                    signal="oversight.tables", effect="access", text=text, environment=env
                )
    return None
