"""SQL arguments: destructive statements found through comments, strings and dialects."""

from __future__ import annotations

import pytest

from interlock.risk.analyzers import analyze


def found(sql: str, key: str = "query") -> dict[str, str]:
    """signal -> effect for one SQL argument."""
    return {f.signal: f.effect for f in analyze("run_sql", {key: sql})}


@pytest.mark.parametrize(
    ("sql", "signal", "effect"),
    [
        ("DROP TABLE users", "sql.drop", "destroy"),
        ("DROP DATABASE app", "sql.drop", "destroy"),
        ("drop schema billing cascade", "sql.drop", "destroy"),
        ("DROP INDEX CONCURRENTLY idx_users_email", "sql.drop", "config"),
        ("DROP VIEW IF EXISTS report", "sql.drop", "config"),
        ("DROP VIEW report CASCADE", "sql.drop", "destroy"),
        ("DROP ROLE analyst", "sql.drop", "access"),
        ("TRUNCATE orders", "sql.truncate", "delete"),
        ("TRUNCATE TABLE ONLY a, b RESTART IDENTITY CASCADE", "sql.truncate", "delete"),
        ("DELETE FROM users", "sql.delete_without_where", "delete"),
        ("DELETE FROM users WHERE 1=1", "sql.delete_without_where", "delete"),
        ("DELETE FROM users WHERE TRUE", "sql.delete_without_where", "delete"),
        ("DELETE FROM users WHERE id = 7 OR 1 = 1", "sql.delete_without_where", "delete"),
        ("DELETE FROM users WHERE (1=1)", "sql.delete_without_where", "delete"),
        ("DELETE FROM users WHERE 'a' = 'a'", "sql.delete_without_where", "delete"),
        ("DELETE FROM users RETURNING *", "sql.delete_without_where", "delete"),
        ("UPDATE accounts SET balance = 0", "sql.update_without_where", "write"),
        ("UPDATE accounts SET balance = 0 WHERE 1=1", "sql.update_without_where", "write"),
        ("ALTER TABLE users DROP COLUMN email", "sql.alter_drop", "destroy"),
        ("ALTER TABLE users DROP email", "sql.alter_drop", "destroy"),
        ("ALTER TABLE orders DROP CONSTRAINT orders_user_fk", "sql.alter_drop", "config"),
        ("GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO PUBLIC", "sql.grant", "access"),
        ("REVOKE SELECT ON payroll FROM auditor", "sql.grant", "access"),
    ],
)
def test_destructive_statements(sql: str, signal: str, effect: str) -> None:
    assert found(sql).get(signal) == effect


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM users WHERE id = 1",
        "SELECT 'DROP TABLE users; DELETE FROM users' AS text",
        "SELECT * FROM t -- DROP TABLE t",
        "/* DELETE FROM users */ SELECT 1",
        "DELETE FROM users WHERE id = 1",
        "DELETE FROM users WHERE id IN (SELECT id FROM banned)",
        "DELETE FROM users WHERE 1=1 AND id = 5",
        "UPDATE users SET name = 'x' WHERE id = 1",
        "UPDATE t SET a = 1 WHERE CURRENT OF c",
        "SELECT * FROM jobs FOR UPDATE SKIP LOCKED",
        "CREATE TABLE a (id int REFERENCES b(id) ON DELETE CASCADE ON UPDATE CASCADE)",
        "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1",
        "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1",
        "GRANT SELECT ON t TO bob WITH GRANT OPTION; SELECT 1",  # the GRANT itself fires
        "ALTER TABLE t ALTER COLUMN c DROP NOT NULL",
        "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
        "EXPLAIN DELETE FROM users",
        "CREATE TRIGGER t AFTER DELETE ON x FOR EACH ROW EXECUTE FUNCTION f()",
        'SELECT "drop", "delete" FROM "update"',
    ],
)
def test_harmless_sql_stays_quiet(sql: str) -> None:
    signals = set(found(sql))
    if sql.startswith("GRANT"):
        assert signals == {"sql.grant"}
    else:
        assert signals == set()


@pytest.mark.parametrize(
    ("sql", "signal"),
    [
        # Unseen phrasings: case, whitespace, comments, quoting, several statements, dialects.
        ('drop   TABLE\n\t"Users"', "sql.drop"),
        ("DrOp TaBlE IF EXISTS public.users CASCADE;", "sql.drop"),
        ("-- cleanup\nDROP TABLE users; -- done", "sql.drop"),
        ("/* maintenance */ DELETE /* all */ FROM sessions", "sql.delete_without_where"),
        ("SELECT 1; SELECT 2; DELETE FROM audit_log;", "sql.delete_without_where"),
        ("BEGIN; UPDATE users SET admin = true; COMMIT;", "sql.update_without_where"),
        ("delete from `orders`", "sql.delete_without_where"),
        ("DELETE FROM [dbo].[Orders]", "sql.delete_without_where"),
        ("DELETE TOP (100) FROM logs", "sql.delete_without_where"),
        ("DELETE FROM a\nDELETE FROM b WHERE id = 1", "sql.delete_without_where"),  # T-SQL batch
        (
            "WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone",
            "sql.delete_without_where",
        ),
        ("EXPLAIN ANALYZE DELETE FROM users", "sql.delete_without_where"),
        ("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;", "sql.drop"),
        ("DO $body$ BEGIN DELETE FROM t; END $body$", "sql.delete_without_where"),
        ("EXEC('TRUNCATE TABLE dbo.Orders')", "sql.truncate"),
        ("SELECT 'it''s fine'; DROP TABLE x", "sql.drop"),
        ("SELECT 'a\\'; DROP TABLE users; --'", "sql.drop"),  # Postgres: the backslash is data
        ("# don't\nDROP TABLE x", "sql.drop"),  # MySQL comment with a quote in it
        ("update\nusers\nset\nrole='admin'", "sql.update_without_where"),
    ],
)
def test_unseen_phrasings(sql: str, signal: str) -> None:
    assert signal in found(sql)


def test_each_key_name_that_holds_sql_is_read() -> None:
    for key in ("sql", "query", "statement", "sql_query", "rawSql", "statements"):
        assert "sql.drop" in found("DROP TABLE users", key), key
    assert found("DROP TABLE users", "comment") == {}


def test_several_statements_give_several_findings() -> None:
    got = analyze("sql", {"sql": "DROP TABLE a; TRUNCATE b; DELETE FROM c; SELECT 1"})
    assert [f.signal for f in got] == ["sql.drop", "sql.truncate", "sql.delete_without_where"]


def test_texts_name_the_table_and_the_reason() -> None:
    (f,) = analyze("sql", {"sql": "DELETE FROM customers WHERE 1=1"})
    assert "customers" in f.text
    assert "always true" in f.text
    (g,) = analyze("sql", {"sql": "DROP TABLE users"})
    assert g.text.startswith("`DROP TABLE users`")


def test_environment_from_sibling_arguments() -> None:
    (f,) = analyze("sql", {"sql": "DROP TABLE users", "database": "orders_prod"})
    assert f.environment == "production"
    (g,) = analyze("sql", {"sql": "DROP TABLE users", "environment": "qa-2"})
    assert g.environment == "qa-2"
    (h,) = analyze("sql", {"sql": "DROP TABLE users", "database": "orders"})
    assert h.environment is None
