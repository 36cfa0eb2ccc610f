"""The API's HTTP contract, driven through the real app (lifespan on the real NATS and Redis).

No provisioner runs here: the commands the API publishes just sit in the commands stream.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import pytest
import redis
from fastapi.testclient import TestClient
from prequel_api.app import create_app
from prequel_api.settings import ApiSettings

TOKEN = "0123456789abcdef0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STAMPED = re.compile(r"^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\] ")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@contextmanager
def _running_api(
    nats_url: str, redis_url: str, challenges_root: Path, env: Literal["development", "production"]
) -> Iterator[TestClient]:
    challenges = challenges_root / "challenges"
    for name in ("python", "data-science"):
        (challenges / name).mkdir(parents=True)
    (challenges / "README.md").write_text("a file, not a challenge")
    prefix = f"apitest-{uuid.uuid4().hex[:8]}"
    settings = ApiSettings(
        nats_url=nats_url,
        redis_url=redis_url,
        api_tokens=f"tester:{TOKEN}",
        env=env,
        redis_prefix=prefix,
        challenges_dir=Path(challenges),
        # the rate limits have tests of their own (test_limits.py); here they must not get in the way
        rate_limit_creates_per_minute=10_000,
        rate_limit_queries_per_minute=10_000,
    )
    try:
        with TestClient(create_app(settings)) as test_client:
            yield test_client
    finally:
        cleanup = redis.Redis.from_url(redis_url)
        for key in cleanup.scan_iter(f"{prefix}:*"):
            cleanup.delete(key)
        cleanup.close()


@pytest.fixture(scope="module")
def client(nats_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _running_api(nats_url, redis_url, tmp_path_factory.mktemp("dev"), "development") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def production_client(nats_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _running_api(nats_url, redis_url, tmp_path_factory.mktemp("prod"), "production") as test_client:
        yield test_client


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
        lambda: {"candidateName": "Zoe\u0301 Nu\u0303n\u0303ez"},
        lambda: {"candidateName": "山田\u3000太郎"},
        lambda: {"candidateName": "Mehrnaz \u0645\u06cc\u200c\u0646\u0627"},
        lambda: {"candidateName": "Dev \U0001f469\u200d\U0001f4bb"},
        lambda: {"autoDestroyMinutes": 30},
        lambda: {"autoDestroyMinutes": 240},
        lambda: {"scheduledAt": _now_plus(days=89)},
    ],
    ids=[
        "name of 100 chars",
        "unicode name",
        "combining accents",
        "ideographic space inside",
        "Persian zero-width non-joiner inside a word",
        "emoji zero-width joiner sequence",
        "30 minutes",
        "240 minutes",
        "89 days ahead",
    ],
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
    "tab in name": {**VALID, "candidateName": "Jane\tSmith"},
    "zero-width space in name": {**VALID, "candidateName": "Jane\u200bSmith"},
    "only zero-width spaces": {**VALID, "candidateName": "\u200b\u200b\u200b"},
    "zero-width joiner in name": {**VALID, "candidateName": "Jane\u200dSmith"},
    "bidi override in name": {**VALID, "candidateName": "Jane \u202enhoJ"},
    "bidi isolate in name": {**VALID, "candidateName": "\u2066Jane\u2069"},
    "byte order mark in name": {**VALID, "candidateName": "\ufeffJane"},
    "line separator in name": {**VALID, "candidateName": "Jane\u2028Smith"},
    "paragraph separator in name": {**VALID, "candidateName": "Jane\u2029Smith"},
    "only combining marks": {**VALID, "candidateName": "\u0301\u0308"},
    "only hangul fillers": {**VALID, "candidateName": "\u3164\u3164"},
    "only a braille blank": {**VALID, "candidateName": "\u2800"},
    "only no-break spaces": {**VALID, "candidateName": "\u00a0\u00a0"},
    "candidateName a number": {**VALID, "candidateName": 42},
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
    "scheduledAt a date without time": {**VALID, "scheduledAt": "2030-01-15"},
    "scheduledAt epoch seconds": {**VALID, "scheduledAt": 1893456000},
    "scheduledAt epoch milliseconds": {**VALID, "scheduledAt": 1893456000000},
    "scheduledAt epoch with a fraction": {**VALID, "scheduledAt": 1893456000.5},
    "scheduledAt epoch seconds as a string": {**VALID, "scheduledAt": "1893456000"},
    "scheduledAt true": {**VALID, "scheduledAt": True},
    "scheduledAt an object": {**VALID, "scheduledAt": {"at": "2030-01-15T14:00:00Z"}},
}


@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_bad_create_bodies_are_400(client: TestClient, body: dict[str, Any]) -> None:
    _assert_rejected(client, lambda: client.post("/api/interviews/create", json=body, headers=AUTH))


@pytest.mark.parametrize("body", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_bad_create_bodies_are_400_without_details_in_production(
    production_client: TestClient, body: dict[str, Any]
) -> None:
    _assert_rejected(
        production_client,
        lambda: production_client.post("/api/interviews/create", json=body, headers=AUTH),
        development=False,
    )


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("Jane\u200bSmith", "candidateName"),
        ("\u3164", "candidateName"),
    ],
    ids=["zero-width space", "only a filler"],
)
def test_a_refused_name_says_which_field(client: TestClient, name: str, field: str) -> None:
    response = client.post("/api/interviews/create", json={**VALID, "candidateName": name}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"Invalid request: {field}: ")


@pytest.mark.parametrize(
    ("seconds_ago", "accepted"),
    [(30, True), (45, True), (75, False), (3600, False)],
    ids=["30 s ago: clock skew", "45 s ago: clock skew", "75 s ago: past", "an hour ago: past"],
)
def test_scheduled_at_allows_one_minute_of_clock_skew(client: TestClient, seconds_ago: int, accepted: bool) -> None:
    body = {**VALID, "scheduledAt": _now_plus(seconds=-seconds_ago)}
    if accepted:
        response = client.post("/api/interviews/create", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        assert interview(client, response.json()["interviewId"])["status"] == "initializing"  # starts now
    else:
        refused = _assert_rejected(client, lambda: client.post("/api/interviews/create", json=body, headers=AUTH))
        assert refused["error"] == "scheduledAt is in the past"


@pytest.fixture(scope="module")
def ranged_client(nats_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An api configured with the lifetimes a demo uses: 5 to 10 minutes, through the environment variables."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREQUEL_AUTO_DESTROY_MIN_MINUTES", "5")
        env.setenv("PREQUEL_AUTO_DESTROY_MAX_MINUTES", "10")
        with _running_api(nats_url, redis_url, tmp_path_factory.mktemp("ranged"), "development") as test_client:
            yield test_client


@pytest.mark.parametrize(
    ("minutes", "accepted"),
    [(4, False), (5, True), (10, True), (11, False), (30, False), (240, False)],
    ids=["4: below", "5: the minimum", "10: the maximum", "11: above", "30: default minimum", "240: default maximum"],
)
def test_the_configured_lifetime_range_applies(ranged_client: TestClient, minutes: int, accepted: bool) -> None:
    body = {**VALID, "autoDestroyMinutes": minutes}

    def send() -> Any:
        return ranged_client.post("/api/interviews/create", json=body, headers=AUTH)

    if accepted:
        response = send()
        assert response.status_code == 200, response.text
        created_at = datetime.now(UTC)
        destroy_at = datetime.fromisoformat(response.json()["autoDestroyAt"].replace("Z", "+00:00"))
        assert abs((destroy_at - created_at) - timedelta(minutes=minutes)) < timedelta(seconds=5)
    else:
        refused = _assert_rejected(ranged_client, send)
        assert refused["error"] == "autoDestroyMinutes must be between 5 and 10"


@pytest.mark.parametrize(
    "scheduled_at",
    [lambda: _now_plus(hours=-1), lambda: _now_plus(days=100)],
    ids=["in the past", "100 days ahead"],
)
def test_bad_schedules_are_400(client: TestClient, scheduled_at: Any) -> None:
    body = {**VALID, "scheduledAt": scheduled_at()}
    _assert_rejected(client, lambda: client.post("/api/interviews/create", json=body, headers=AUTH))


@pytest.mark.parametrize(
    "raw",
    ['{"candidateName": "Jane", "challenge": ', '[{"candidateName": "Jane"}]', "null", '"text"'],
    ids=["malformed JSON", "JSON array", "null", "JSON string"],
)
def test_bad_json_is_400(client: TestClient, raw: str) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    _assert_rejected(client, lambda: client.post("/api/interviews/create", content=raw, headers=headers))


def _assert_rejected(client: TestClient, send: Callable[[], Any], *, development: bool = True) -> dict[str, Any]:
    """``send()`` is refused with 400 and the spec's error body, and creates nothing."""
    before = len(client.get("/api/interviews", headers=AUTH).json()["interviews"])
    response = send()
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    assert "detail" not in body  # not FastAPI's 422 shape
    if development:  # the spec's body: details for developers, in development only
        assert isinstance(body.get("details"), str), body
        assert body["details"]
    else:
        assert "details" not in body, body
    assert set(body) <= {"error", "details"}
    assert len(client.get("/api/interviews", headers=AUTH).json()["interviews"]) == before
    return dict(body)


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


def test_destroy_after_the_scheduled_create_was_cancelled_is_a_conflict(client: TestClient) -> None:
    """Cancelling its pending create ended the interview without any destroy operation: a destroy now is refused,
    like any destroy of a destroyed interview, with the interview's last operation (the cancelled create)."""
    created = create(client, scheduledAt=_now_plus(hours=1))
    assert client.post(f"/api/operations/{created['operationId']}/cancel", headers=AUTH).status_code == 200
    assert interview(client, created["interviewId"])["status"] == "destroyed"

    reply = client.post(f"/api/interviews/{created['interviewId']}/destroy", headers=AUTH)

    assert reply.status_code == 409, reply.text
    assert reply.json()["operationId"] == created["operationId"]
    assert "destroyed" in reply.json()["error"]
    assert [op["id"] for op in operations(client, created["interviewId"])] == [created["operationId"]]
