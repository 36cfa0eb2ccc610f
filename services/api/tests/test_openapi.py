"""The OpenAPI document at /openapi.json: examples shaped like the spec, honest schemas, the bearer scheme.

Rendered without a lifespan (nothing here talks to NATS or Redis); the fuzz tier checks the served document is the
same and that real answers match it.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from prequel_api.app import create_app
from prequel_api.settings import ApiSettings
from prequel_common.models import OperationResult

TOKEN = "0123456789abcdef0123"
INTERVIEW_FIELDS = {"id", "candidateName", "challenge", "status", "accessUrl", "password", "createdAt"}
INTERVIEW_FIELDS |= {"scheduledAt", "autoDestroyAt"}
OPERATION_FIELDS = {"id", "type", "status", "interviewId", "candidateName", "challenge", "startedAt", "completedAt"}
OPERATION_FIELDS |= {"scheduledAt", "autoDestroyAt", "logs", "result"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    settings = ApiSettings(nats_url="nats://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0", api_tokens=f"t:{TOKEN}")
    return create_app(settings).openapi()


def _validator(openapi: dict[str, Any], schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A JSON Schema 2020-12 validator (what OpenAPI 3.1 uses) that resolves the document's $refs."""
    return jsonschema.Draft202012Validator({**schema, "components": openapi["components"]})


def _ok_schema(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = openapi["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def _component(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    component: dict[str, Any] = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return component


@pytest.mark.parametrize(
    ("path", "items"),
    [("/api/interviews", "interviews"), ("/api/operations", "operations"), ("/api/operations/{operation_id}", None)],
    ids=["list interviews", "list operations", "operation detail"],
)
def test_list_and_detail_answers_have_spec_shaped_examples(
    openapi: dict[str, Any], path: str, items: str | None
) -> None:
    schema = _ok_schema(openapi, path)
    examples = _component(openapi, schema).get("examples")
    assert examples, f"GET {path}: no response example"
    validator = _validator(openapi, schema)
    for example in examples:
        validator.validate(example)  # the example is a valid answer
        records = example[items] if items else [example]
        assert records
        fields = INTERVIEW_FIELDS if items == "interviews" else OPERATION_FIELDS
        for record in records:
            assert fields <= set(record), f"the spec's fields: missing {fields - set(record)}"


def test_the_operation_result_schema_is_typed(openapi: dict[str, Any]) -> None:
    result = openapi["components"]["schemas"]["OperationResult"]
    assert result.get("additionalProperties") is not True
    assert result["type"] == "object"
    assert result["required"] == ["success"]
    properties = result["properties"]
    assert properties["success"] == {"type": "boolean", "title": "Success"}
    for name in ("accessUrl", "password", "error"):
        assert properties[name]["type"] == "string", name
    assert properties["timings"]["type"] == "object"
    assert properties["timings"]["additionalProperties"] == {"type": "number"}

    validator = _validator(openapi, {"$ref": "#/components/schemas/OperationResult"})
    produced = [
        OperationResult(success=True),
        OperationResult(success=False, error="destroy failed"),
        OperationResult(success=True, access_url="http://127.0.0.1:1/", password="k3v9x2m8q1z7", timings={"a": 1.5}),
    ]
    for value in produced:
        validator.validate(value.wire())
    # the JSON produced is unchanged: fields that are not set are left out, never null
    assert OperationResult(success=True).wire() == {"success": True}
    assert not validator.is_valid({"success": True, "accessUrl": None}), "the schema says what is produced"
    assert not validator.is_valid({"success": "yes"})


def test_the_bearer_scheme_is_declared_on_every_api_route(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    [(name, scheme)] = schemes.items()
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = [(p, m, op) for p, ops in openapi["paths"].items() if p.startswith("/api/") for m, op in ops.items()]
    assert len(operations) >= 8
    for path, method, operation in operations:
        assert operation.get("security") == [{name: []}], f"{method.upper()} {path}"
        assert "401" in operation["responses"], f"{method.upper()} {path}"


def test_no_fastapi_422_is_documented(openapi: dict[str, Any]) -> None:
    for ops in openapi["paths"].values():
        for operation in ops.values():
            assert "422" not in operation["responses"]
