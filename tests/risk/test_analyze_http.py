"""HTTP requests and GraphQL documents in tool arguments."""

from __future__ import annotations

import json

import pytest

from interlock.risk.analyzers import analyze


def signals(args: dict[str, object], tool: str = "http_request") -> set[str]:
    return {f.signal for f in analyze(tool, args)}


@pytest.mark.parametrize(
    ("args", "signal"),
    [
        ({"method": "DELETE", "url": "https://api.example.com/v1/volumes/vol-1"}, "http.delete"),
        ({"method": "delete", "path": "/v1/users/42"}, "http.delete"),
        ({"http_method": " Delete ", "endpoint": "/v1/users/42"}, "http.delete"),
        (
            {"method": "POST", "url": "https://api.example.com/v1/volumes/vol-1/destroy"},
            "http.destructive",
        ),
        ({"method": "POST", "url": "/api/instances:terminate"}, "http.destructive"),
        ({"method": "POST", "url": "/api/deleteProject?id=3"}, "http.destructive"),
        ({"method": "PUT", "url": "/api/cache/purge"}, "http.destructive"),
        (
            {"method": "POST", "url": "/api/tokens/t1", "body": {"action": "revoke"}},
            "http.destructive",
        ),
        (
            {"method": "PATCH", "url": "/api/items/1", "json": {"force_delete": True}},
            "http.destructive",
        ),
        (
            {"method": "POST", "url": "/api/ops", "body": '{"op": "terminate_instance"}'},
            "http.destructive",
        ),
    ],
)
def test_destructive_requests(args: dict[str, object], signal: str) -> None:
    assert signal in signals(args)


@pytest.mark.parametrize(
    "args",
    [
        {"method": "GET", "url": "https://api.example.com/v1/volumes"},
        {"method": "GET", "url": "/api/deleted-items"},
        {"method": "POST", "url": "/api/comments", "body": {"text": "please delete this"}},
        {"method": "POST", "url": "/api/items", "body": {"deleted": False}},
        {"method": "PATCH", "url": "/api/db/1", "body": {"deletion_protection": True}},
        {"method": "POST", "url": "/api/products"},  # "product" is not "prod" either
        {"url": "https://api.example.com/v1/volumes/vol-1"},  # no method: a read
    ],
)
def test_harmless_requests(args: dict[str, object]) -> None:
    assert signals(args) == set()


def test_effect_follows_the_verb_and_what_it_names() -> None:
    (f,) = analyze("api", {"method": "POST", "url": "/v1/volumes/v1/destroy"})
    assert f.effect == "destroy"
    (g,) = analyze("api", {"method": "POST", "url": "/v1/tokens/t1/revoke"})
    assert g.effect == "access"
    (h,) = analyze("api", {"method": "DELETE", "url": "/v1/comments/1"})
    assert h.effect == "delete"


def test_environment_comes_from_the_host_or_path() -> None:
    (f,) = analyze("api", {"method": "DELETE", "url": "https://api.prod.example.com/v1/x/1"})
    assert f.environment == "production"
    (g,) = analyze("api", {"method": "DELETE", "url": "https://staging-api.example.com/v1/x"})
    assert g.environment == "staging"
    (h,) = analyze("api", {"method": "DELETE", "url": "https://product.example.com/v1/x"})
    assert h.environment is None


def test_tool_name_supplies_a_missing_method() -> None:
    assert signals({"url": "/v1/users/1"}, tool="http_delete") == {"http.delete"}
    assert signals({"url": "/v1/users/1"}, tool="delete_user") == set()  # not an HTTP tool


POCKETOS = 'mutation { volumeDelete(volumeId: "vol-prod-7") }'


@pytest.mark.parametrize(
    "doc",
    [
        POCKETOS,
        "mutation DeleteVolume($id: String!) { volumeDelete(volumeId: $id) { id } }",
        'mutation { a: projectDelete(id: 1) b: serviceCreate(name: "x") { id } }',
        "mutation { deleteUser(id: 1) { id } }",
        "mutation { user_remove(id: 1) }",
        "mutation { revokeApiToken(id: 1) }",
        'mutation { dropDatabase(name: "x") }',
        "mutation { purgeCache }",
        "mutation { terminateInstance(id: 1) { ok } }",
        "mutation Cleanup { volumeUpdate(id: 1, input: {size: 2}) { id } }",  # op name: no verb
        '# admin\nmutation\n{\n  environmentDelete ( id : "e1" )\n}',
        "mutation DestroyEverything { noop }",  # the operation's name says destroy
        "query Q { me { id } }\nmutation M { backupDelete(id: 2) }",
    ],
)
def test_destructive_mutations(doc: str) -> None:
    got = signals({"query": doc}, tool="graphql")
    if "Cleanup" in doc:
        assert got == set()
    else:
        assert got == {"graphql.destructive_mutation"}


@pytest.mark.parametrize(
    "doc",
    [
        "query { deletedVolumes { id } }",
        "{ volumes(filter: {deleted: true}) { id deleteAfter } }",
        "query DeleteCandidates { volumes { id } }",
        'mutation { volumeCreate(name: "delete-me") { id } }',  # only a string says delete
        "mutation { volumeUpdate(id: 1) { id deleteProtection } }",  # nested field, not an op
        "subscription { volumeDeleted { id } }",
    ],
)
def test_harmless_graphql(doc: str) -> None:
    assert signals({"query": doc}, tool="graphql") == set()


def test_pocketos_mutation_is_destroy_with_a_readable_text() -> None:
    (f,) = analyze("railway_api", {"query": POCKETOS, "variables": {}})
    assert f.effect == "destroy"
    assert "volumeDelete" in f.text
    assert "volume" in f.text


def test_graphql_found_in_every_shape_of_request() -> None:
    as_body = {
        "method": "POST",
        "url": "https://backboard.example.com/graphql/v2",
        "body": {"query": POCKETOS},
    }
    as_json_string = {"method": "POST", "url": "/graphql", "body": json.dumps({"query": POCKETOS})}
    as_mutation_key = {"mutation": POCKETOS}
    nested = {"request": {"payload": {"query": POCKETOS, "variables": {"id": 1}}}}
    for args in (as_body, as_json_string, as_mutation_key, nested):
        assert signals(args) == {"graphql.destructive_mutation"}, args


def test_a_graphql_query_arg_is_not_read_as_sql_and_vice_versa() -> None:
    assert signals({"query": "query { dropTable }"}) == set()
    assert signals({"query": "DROP TABLE users"}) == {"sql.drop"}
