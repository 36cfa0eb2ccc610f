"""Property-based test of the API's OpenAPI contract with schemathesis, on the real NATS and Redis.

Every operation of ``/openapi.json`` is called with a valid bearer token and generated inputs (valid and invalid):
no response may be a server error (5xx), and every response must have a documented status code, content type and
headers, and a body matching its schema. The app is called in-process over ASGI; schemathesis runs its lifespan,
so the app holds real NATS and Redis clients. No provisioner runs: the commands the API publishes just wait.

- ``test_api_conforms_to_its_schema``: one test per operation, generated inputs (examples, coverage, fuzzing).
- ``test_api_conforms_along_links``: stateful sequences over the links schemathesis infers (list -> detail, logs,
  cancel, destroy), on a store seeded with interviews in several states, so the routes taking an id see real ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import redis
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prequel_api.app import create_app
from prequel_api.settings import ApiSettings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

TOKEN = "0123456789abcdef0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SEED = 20240601
MAX_EXAMPLES = 30
CONFIG = schemathesis.Config.from_dict(
    {"seed": SEED, "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"}}
)


def _settings(nats_url: str, redis_url: str, **extra: Any) -> ApiSettings:
    return ApiSettings(nats_url=nats_url, redis_url=redis_url, api_tokens=f"tester:{TOKEN}", env="development", **extra)


# `schema.parametrize()` needs the schema when the module is collected, before the NATS and Redis fixtures exist
# (`schemathesis.pytest.from_fixture` would load it from a fixture, but its lazy loader breaks on pytest >= 9.2,
# which removed `Node._nodeid`). An app built with placeholder URLs renders the same document without any lifespan;
# test_the_schema_is_the_served_one checks it is what the real app serves at /openapi.json.
OPENAPI = create_app(_settings("nats://127.0.0.1:1", "redis://127.0.0.1:1/0")).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


@pytest.fixture(scope="module")
def app(nats_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    challenges = tmp_path_factory.mktemp("challenges")
    for name in ("python", "sql"):
        (challenges / name).mkdir()
    (challenges / "README.md").write_text("a file, not a challenge")
    prefix = f"fuzz-{uuid.uuid4().hex[:8]}"
    yield create_app(
        _settings(
            nats_url,
            redis_url,
            redis_prefix=prefix,
            challenges_dir=Path(challenges),
            # the fuzzer sends hundreds of requests a minute: rate limiting is not what it tests
            rate_limit_creates_per_minute=1_000_000,
            rate_limit_queries_per_minute=1_000_000,
        )
    )
    cleanup = redis.Redis.from_url(redis_url)
    for key in cleanup.scan_iter(f"{prefix}:*"):
        cleanup.delete(key)
    cleanup.close()


def test_the_schema_is_the_served_one(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == OPENAPI


@schema.parametrize()
def test_api_conforms_to_its_schema(app: FastAPI, case: schemathesis.Case[Any]) -> None:
    # `app=` sends the request in-process over ASGI: schemathesis starts the app's lifespan on the first call
    # and stops it when the test ends.
    case.call_and_validate(app=app, headers=AUTH, checks=CHECKS)


def _seed_interviews(app: FastAPI) -> None:
    """Interviews in several states, for the stateful test to reach through the lists."""
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0).isoformat()
    bodies = [
        {"candidateName": "Ada Lovelace", "challenge": "python", "autoDestroyMinutes": 60},
        {"candidateName": "Grace Hopper", "challenge": "sql", "autoDestroyMinutes": 30, "scheduledAt": later},
        {"candidateName": "Alan Turing", "challenge": "python", "autoDestroyMinutes": 240},
    ]
    with TestClient(app) as client:
        created = []
        for body in bodies:
            response = client.post("/api/interviews/create", json=body, headers=AUTH)
            assert response.status_code == 200, response.text
            created.append(response.json())
        destroyed = client.post(f"/api/interviews/{created[-1]['interviewId']}/destroy", headers=AUTH)
        assert destroyed.status_code == 200, destroyed.text


def test_api_conforms_along_links(app: FastAPI) -> None:
    _seed_interviews(app)
    machine = schema.as_state_machine()
    assert machine.root_rules, "schemathesis inferred no links"

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"app": app, "headers": AUTH}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case[Any], **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, headers=AUTH, transport_kwargs=kwargs)

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            database=None,
        )
    )
