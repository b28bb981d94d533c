"""OpenAPI 3.1 document, the offline docs page, and the health probes."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_openapi_is_3_1_and_lists_the_api(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert {"/v1/questions", "/generate-question", "/v1/speaking-tests", "/v1/audit/events"} <= set(
        spec["paths"]
    )
    schemas = spec["components"]["schemas"]
    assert schemas["QuestionRequest"]["additionalProperties"] is False
    assert set(schemas["QuestionRequest"]["properties"]) == {"topic", "part"}
    assert "all or nothing" in spec["paths"]["/v1/speaking-tests"]["post"]["description"].lower()


def test_openapi_documents_how_the_topic_matched(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    for name in ("Question", "SpeakingTest"):
        match = schemas[name]["properties"]["match"]
        assert {"enum": ["exact", "kind", "theme", "fallback"], "type": "string"} in match["anyOf"]
        assert {"type": "null"} in match["anyOf"]
        assert "offline provider" in match["description"]


def test_openapi_refs_all_resolve(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    refs: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec)
    names = set(spec["components"]["schemas"])
    assert refs
    assert all(ref.removeprefix("#/components/schemas/") in names for ref in refs)


def test_docs_page_uses_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page
    assert "http" not in page.replace("http-equiv", "")
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        with client.get(f"/docs/assets/{asset}") as response:
            assert response.status_code == 200
            assert len(response.data) > 1000


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["data"] == {
        "database": "ok",
        "ratelimit_store": "ok",
        "provider": "offline",
    }
