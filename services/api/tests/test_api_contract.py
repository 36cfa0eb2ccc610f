"""The API's HTTP contract, driven through the real app (lifespan on the real NATS and Redis).

No provisioner runs here: the commands the API publishes just sit in the commands stream.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from prequel_api.app import create_app
from prequel_api.settings import ApiSettings

TOKEN = "0123456789abcdef0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STAMPED = re.compile(r"^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\] ")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module")
def client(nats_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    challenges = tmp_path_factory.mktemp("challenges")
    for name in ("python", "data-science"):
        (challenges / name).mkdir()
    (challenges / "README.md").write_text("a file, not a challenge")
    prefix = f"apitest-{uuid.uuid4().hex[:8]}"
    settings = ApiSettings(
        nats_url=nats_url,
        redis_url=redis_url,
        api_tokens=f"tester:{TOKEN}",
        env="development",
        redis_prefix=prefix,
        challenges_dir=Path(challenges),
        # the rate limits have tests of their own (test_limits.py); here they must not get in the way
        rate_limit_creates_per_minute=10_000,
        rate_limit_queries_per_minute=10_000,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    cleanup = redis.Redis.from_url(redis_url)
    for key in cleanup.scan_iter(f"{prefix}:*"):
        cleanup.delete(key)
    cleanup.close()


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {"candidateName": "Jane Smith", "challenge": "python", "autoDestroyMinutes": 60, **overrides}
    response = client.post("/api/interviews/create", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    return dict(response.json())


def interview(client: TestClient, interview_id: str) -> dict[str, Any]:
    response = client.get("/api/interviews", headers=AUTH)
    assert response.status_code == 200
    [found] = [i for i in response.json()["interviews"] if i["id"] == interview_id]
    return dict(found)


def operations(client: TestClient, interview_id: str) -> list[dict[str, Any]]:
    response = client.get("/api/operations", params={"interviewId": interview_id}, headers=AUTH)
    assert response.status_code == 200
    return list(response.json()["operations"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "basic", "empty"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/challenges"), ("GET", "/api/interviews"), ("GET", "/api/operations")],
)
def test_api_routes_need_a_valid_token(client: TestClient, headers: dict[str, str], method: str, path: str) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]


def test_an_unauthenticated_create_creates_nothing(client: TestClient) -> None:
    before = client.get("/api/interviews", headers=AUTH).json()["interviews"]
    body = {"candidateName": "Eve", "challenge": "python", "autoDestroyMinutes": 60}
    response = client.post("/api/interviews/create", json=body)
    assert response.status_code == 401
    assert "error" in response.json()
    assert client.get("/api/interviews", headers=AUTH).json()["interviews"] == before
    # a stranger learns nothing about the body's validation
    assert client.post("/api/interviews/create", json={"challenge": "../etc"}).status_code == 401


def test_list_challenges(client: TestClient) -> None:
    response = client.get("/api/challenges", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "challenges": [{"id": "data-science", "name": "Data Science"}, {"id": "python", "name": "Python"}],
    }


def test_create_starts_now(client: TestClient) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    body = create(client, candidateName="  Jane Smith  ", challenge="data-science", autoDestroyMinutes=90)
    after = datetime.now(UTC)

    assert set(body) == {
        "operationId",
        "interviewId",
        "candidateName",
        "challenge",
        "password",
        "autoDestroyAt",
        "message",
    }
    assert body["candidateName"] == "Jane Smith"
    assert body["challenge"] == "data-science"
    assert re.fullmatch(r"[a-z0-9]{12,}", body["password"])
    assert body["operationId"].startswith("op-")
    assert body["interviewId"].startswith("int-")
    assert isinstance(body["message"], str)
    assert body["message"]
    assert ISO_Z.match(body["autoDestroyAt"])
    destroy_at = datetime.fromisoformat(body["autoDestroyAt"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=90) <= destroy_at <= after + timedelta(minutes=90)

    listed = interview(client, body["interviewId"])
    assert listed["status"] == "initializing"
    assert listed["candidateName"] == "Jane Smith"
    assert listed["challenge"] == "data-science"
    assert listed["autoDestroyAt"] == body["autoDestroyAt"]
    assert listed["createdBy"] == "tester"

    [operation] = operations(client, body["interviewId"])
    assert operation["id"] == body["operationId"]
    assert (operation["type"], operation["status"], operation["interviewId"]) == (
        "create",
        "pending",
        body["interviewId"],
    )
    assert operation["logs"] == [line for line in operation["logs"] if STAMPED.match(line)]
    assert operation["logs"]

    detail = client.get(f"/api/operations/{body['operationId']}", headers=AUTH)
    assert detail.status_code == 200
    assert detail.json()["id"] == body["operationId"]


def test_create_scheduled_in_the_future(client: TestClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    body = create(client, scheduledAt=iso(start), autoDestroyMinutes=30)

    assert body["scheduledAt"] == iso(start)
    assert body["autoDestroyAt"] == iso(start + timedelta(minutes=30))
    assert {"operationId", "interviewId", "candidateName", "challenge", "password", "message"} <= set(body)
    listed = interview(client, body["interviewId"])
    assert listed["status"] == "scheduled"
    assert listed["scheduledAt"] == iso(start)
    [operation] = operations(client, body["interviewId"])
    assert (operation["id"], operation["status"]) == (body["operationId"], "pending")


def test_create_with_another_zone_is_stored_in_utc(client: TestClient) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    kolkata = start.astimezone(timezone(timedelta(hours=5, minutes=30)))
    body = create(client, scheduledAt=kolkata.isoformat())
    assert body["scheduledAt"] == iso(start)
    assert interview(client, body["interviewId"])["scheduledAt"] == iso(start)


@pytest.mark.parametrize(
    "overrides",
    [
        lambda: {"candidateName": "x" * 100},
        lambda: {"candidateName": "Zoë Ñúñez-O'Brien 李"},
        lambda: {"autoDestroyMinutes": 30},
        lambda: {"autoDestroyMinutes": 240},
        lambda: {"scheduledAt": _now_plus(days=89)},
    ],
    ids=["name of 100 chars", "unicode name", "30 minutes", "240 minutes", "89 days ahead"],
)
def test_limits_are_inclusive(client: TestClient, overrides: Callable[[], dict[str, Any]]) -> None:
    values = overrides()
    body = create(client, **values)
    listed = interview(client, body["interviewId"])
    for key, value in values.items():
        if key in listed:
            assert listed[key] == value


def _now_plus(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


VALID = {"candidateName": "Jane Smith", "challenge": "python", "autoDestroyMinutes": 60}
BAD_BODIES: dict[str, Any] = {
    "missing candidateName": {"challenge": "python", "autoDestroyMinutes": 60},
    "blank name": {**VALID, "candidateName": "   "},
    "name of 101 chars": {**VALID, "candidateName": "x" * 101},
    "control character in name": {**VALID, "candidateName": "Jane\u0007Smith"},
    "unknown challenge": {**VALID, "challenge": "cobol"},
    "challenge ../etc": {**VALID, "challenge": "../etc"},
    "missing challenge": {"candidateName": "Jane Smith", "autoDestroyMinutes": 60},
    "missing autoDestroyMinutes": {"candidateName": "Jane Smith", "challenge": "python"},
    "autoDestroyMinutes 29": {**VALID, "autoDestroyMinutes": 29},
    "autoDestroyMinutes 241": {**VALID, "autoDestroyMinutes": 241},
    "autoDestroyMinutes as a string": {**VALID, "autoDestroyMinutes": "60"},
    "autoDestroyMinutes 60.5": {**VALID, "autoDestroyMinutes": 60.5},
    "scheduledAt without zone": {**VALID, "scheduledAt": "2030-01-15T14:00:00"},
    "scheduledAt garbage": {**VALID, "scheduledAt": "tomorrow"},
}


@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_bad_create_bodies_are_400(client: TestClient, body: dict[str, Any]) -> None:
    _assert_rejected(client, client.post("/api/interviews/create", json=body, headers=AUTH))


@pytest.mark.parametrize(
    "scheduled_at",
    [lambda: _now_plus(hours=-1), lambda: _now_plus(days=100)],
    ids=["in the past", "100 days ahead"],
)
def test_bad_schedules_are_400(client: TestClient, scheduled_at: Any) -> None:
    body = {**VALID, "scheduledAt": scheduled_at()}
    _assert_rejected(client, client.post("/api/interviews/create", json=body, headers=AUTH))


@pytest.mark.parametrize(
    "raw",
    ['{"candidateName": "Jane", "challenge": ', '[{"candidateName": "Jane"}]', "null", '"text"'],
    ids=["malformed JSON", "JSON array", "null", "JSON string"],
)
def test_bad_json_is_400(client: TestClient, raw: str) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    _assert_rejected(client, client.post("/api/interviews/create", content=raw, headers=headers))


def _assert_rejected(client: TestClient, response: Any) -> None:
    before = len(client.get("/api/interviews", headers=AUTH).json()["interviews"])
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    assert "detail" not in body  # not FastAPI's 422 shape
    assert len(client.get("/api/interviews", headers=AUTH).json()["interviews"]) == before


def test_unknown_operation_is_404(client: TestClient) -> None:
    for path in ("/api/operations/op-unknown", "/api/operations/op-unknown/logs"):
        response = client.get(path, headers=AUTH)
        assert response.status_code == 404
        assert isinstance(response.json()["error"], str)


def test_destroy_unknown_interview_is_404(client: TestClient) -> None:
    response = client.post("/api/interviews/int-unknown/destroy", headers=AUTH)
    assert response.status_code == 404
    assert isinstance(response.json()["error"], str)


def test_destroy_twice_is_a_conflict(client: TestClient) -> None:
    created = create(client)

    first = client.post(f"/api/interviews/{created['interviewId']}/destroy", headers=AUTH)
    assert first.status_code == 200
    body = first.json()
    assert body["interviewId"] == created["interviewId"]
    assert body["operationId"].startswith("op-")
    assert body["operationId"] != created["operationId"]
    assert isinstance(body["message"], str)

    second = client.post(f"/api/interviews/{created['interviewId']}/destroy", headers=AUTH)
    assert second.status_code == 409
    conflict = second.json()
    assert conflict["operationId"] == body["operationId"]
    assert isinstance(conflict["error"], str)

    ops = {op["id"]: op for op in operations(client, created["interviewId"])}
    assert set(ops) == {created["operationId"], body["operationId"]}
    assert ops[body["operationId"]]["type"] == "destroy"
    assert ops[body["operationId"]]["status"] == "pending"
    assert ops[created["operationId"]]["status"] == "cancelled"  # still pending: cancelled at once


def test_destroy_of_a_scheduled_interview_cancels_its_create(client: TestClient) -> None:
    created = create(client, scheduledAt=_now_plus(hours=1))

    response = client.post(f"/api/interviews/{created['interviewId']}/destroy", headers=AUTH)
    assert response.status_code == 200

    ops = {op["id"]: op for op in operations(client, created["interviewId"])}
    assert ops[created["operationId"]]["status"] == "cancelled"
    assert ops[response.json()["operationId"]]["status"] == "pending"


def test_operation_logs(client: TestClient) -> None:
    created = create(client, candidateName="Linus Torvalds")

    response = client.get(f"/api/operations/{created['operationId']}/logs", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"logs"}
    assert len(body["logs"]) == 1
    [line] = body["logs"]
    assert STAMPED.match(line), line
    assert line.endswith("] Starting interview creation for Linus Torvalds")
    year = datetime.now(UTC).year
    assert line.startswith(f"[{year}-")


def test_passwords_are_listed_to_the_owner_but_not_in_logs(client: TestClient) -> None:
    created = create(client)
    assert interview(client, created["interviewId"])["password"] == created["password"]
    logs = client.get(f"/api/operations/{created['operationId']}/logs", headers=AUTH).json()["logs"]
    assert all(created["password"] not in line for line in logs)


def test_cancel_of_a_scheduled_create_ends_the_interview_without_infrastructure(client: TestClient) -> None:
    created = create(client, scheduledAt=_now_plus(hours=1))
    reply = client.post(f"/api/operations/{created['operationId']}/cancel", headers=AUTH)
    assert reply.status_code == 200 and reply.json() == {"success": True, "message": "Operation cancelled successfully"}
    [interview] = [
        i for i in client.get("/api/interviews", headers=AUTH).json()["interviews"] if i["id"] == created["interviewId"]
    ]
    assert interview["status"] == "destroyed"
    again = client.post(f"/api/operations/{created['operationId']}/cancel", headers=AUTH)
    assert again.status_code == 409 and "only pending or running" in again.json()["error"]
