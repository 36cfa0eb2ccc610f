"""Rate limits, idempotency and the body-size limit, against real NATS and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prequel_api.app import create_app
from prequel_api.settings import ApiSettings

TOKEN = "0123456789abcdef0123"
OTHER = "fedcba9876543210fedc"
BODY = {"candidateName": "Rate Limited", "challenge": "python", "autoDestroyMinutes": 30}


@pytest.fixture
def client(nats_url: str, redis_url: str, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "python").mkdir()
    settings = ApiSettings(
        nats_url=nats_url,
        redis_url=redis_url,
        api_tokens=f"tester:{TOKEN},other:{OTHER}",
        env="development",
        redis_prefix=f"limits-{uuid.uuid4().hex[:8]}",
        challenges_dir=tmp_path,
        rate_limit_queries_per_minute=5,
    )
    with TestClient(create_app(settings)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield test_client


def test_the_eleventh_create_within_a_minute_is_refused(client: TestClient) -> None:
    codes = [client.post("/api/interviews/create", json=BODY).status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]
    refused = client.post("/api/interviews/create", json=BODY)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "error" in refused.json()
    other = client.post("/api/interviews/create", json=BODY, headers={"Authorization": f"Bearer {OTHER}"})
    assert other.status_code == 200, "limits are per user"


def test_queries_have_their_own_limit(client: TestClient) -> None:
    codes = [client.get("/api/interviews").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert client.get("/api/operations").status_code == 429
    assert client.post("/api/interviews/create", json=BODY).status_code == 200, "creates are counted apart"


def test_the_same_idempotency_key_twice_creates_one_interview(client: TestClient) -> None:
    first = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "retry-1"})
    again = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    other_key = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "retry-2"})
    assert other_key.json()["interviewId"] != first.json()["interviewId"]
    other_user = client.post(
        "/api/interviews/create",
        json=BODY,
        headers={"Idempotency-Key": "retry-1", "Authorization": f"Bearer {OTHER}"},
    )
    assert other_user.json()["interviewId"] != first.json()["interviewId"], "keys are per user"
    ids = [i["id"] for i in client.get("/api/interviews").json()["interviews"]]
    assert ids.count(first.json()["interviewId"]) == 1
    assert len(ids) == 3


def test_a_failed_request_does_not_keep_its_idempotency_key(client: TestClient) -> None:
    bad = client.post("/api/interviews/create", json={**BODY, "challenge": "nope"}, headers={"Idempotency-Key": "k"})
    assert bad.status_code == 400
    good = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "k"})
    assert good.status_code == 200


def test_an_oversized_body_gets_413_with_the_error_body(client: TestClient) -> None:
    huge = {**BODY, "candidateName": "x" * (70 * 1024)}
    reply = client.post("/api/interviews/create", json=huge)
    assert reply.status_code == 413
    assert "too large" in reply.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"candidateName": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    streamed = client.post("/api/interviews/create", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_an_idempotent_replay_is_answered_even_at_the_create_limit(client: TestClient) -> None:
    first = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "lost-answer"})
    assert first.status_code == 200
    codes = [client.post("/api/interviews/create", json=BODY).status_code for _ in range(10)]
    assert codes == [200] * 9 + [429], "the first create counted: the user is now at the limit"
    before = client.get("/api/interviews").json()["interviews"]

    replay = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "lost-answer"})

    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert client.get("/api/interviews").json()["interviews"] == before, "a replay creates nothing"
    fresh = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "a-new-key"})
    assert fresh.status_code == 429, "a new key is a new create: still limited"
    again = client.post("/api/interviews/create", json=BODY, headers={"Idempotency-Key": "a-new-key"})
    assert again.status_code == 429, "the refused request did not keep its key"
