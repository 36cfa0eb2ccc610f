"""One interview the whole way through the real parts, driven only through HTTP and SSE at the front door:
HTTP -> NATS JetStream -> terraform apply -> a live IDE -> SSE -> destroy."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from stack import Stack

from tests.e2e.conftest import TOKEN
from tests.e2e.sse import SseClient

pytestmark = pytest.mark.e2e

SPEC_CREATE_FIELDS = {
    "operationId",
    "interviewId",
    "candidateName",
    "challenge",
    "password",
    "autoDestroyAt",
    "message",
}


def _interview(http: httpx.Client, interview_id: str) -> dict[str, object]:
    found = [i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id]
    assert len(found) == 1
    return found[0]


def _port_open(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        return sock.connect_ex((parsed.hostname or "127.0.0.1", parsed.port or 80)) == 0


def test_create_reach_active_use_the_ide_then_destroy(stack: Stack, http: httpx.Client) -> None:
    with SseClient(stack.url, TOKEN) as sse:
        first = sse.wait_for(lambda s: True, timeout_s=10)
        assert first.data["type"] == "connection" and sse.retry == 5000
        assert sse.response_headers["content-type"].startswith("text/event-stream")

        started = time.monotonic()
        reply = http.post(
            "/api/interviews/create",
            json={"candidateName": "Ada Lovelace", "challenge": "python", "autoDestroyMinutes": 30},
        )
        assert reply.status_code == 200, reply.text
        created = reply.json()
        assert created.keys() >= SPEC_CREATE_FIELDS and "scheduledAt" not in created
        interview_id, operation_id, password = created["interviewId"], created["operationId"], created["password"]

        sse.wait_for(
            lambda s: (
                s.data.get("type") == "interview_update"
                and s.data["interview"]["id"] == interview_id
                and s.data["interview"]["status"] == "active"
            ),
            timeout_s=60,
        )
        assert time.monotonic() - started < 60
        sse.wait_for(lambda s: s.data.get("type") == "heartbeat", timeout_s=10)
        assert sse.interview_statuses(interview_id) == ["initializing", "configuring", "active"]
        sse.wait_for(
            lambda s: s.data.get("type") == "operation_update" and s.data["operation"]["status"] == "completed"
        )
        assert sse.operation_statuses(operation_id) == ["pending", "running", "completed"]
        ids = [int(s.id) for s in sse.snapshot() if s.data["type"] in ("interview_update", "operation_update")]
        assert ids == sorted(set(ids)), "stream events carry increasing ids"

        listed = _interview(http, interview_id)
        assert listed["status"] == "active" and listed["password"] == password
        access_url = str(listed["accessUrl"])
        operation = http.get(f"/api/operations/{operation_id}").json()
        result = operation["result"]
        assert {k: result[k] for k in ("success", "accessUrl", "password")} == {
            "success": True,
            "accessUrl": access_url,
            "password": password,
        }
        assert set(result["timings"]) == {
            "module.workspace.terraform_data.files",
            "module.workspace.terraform_data.ide",
        }

        # the IDE refuses a request without the password and serves one with it
        api = access_url.rstrip("/") + "/api/status"
        assert httpx.get(api).status_code == 403
        assert httpx.get(api, headers={"Authorization": "token wrong-password"}).status_code == 403
        assert httpx.get(api, headers={"Authorization": f"token {password}"}).status_code == 200
        assert httpx.get(access_url.rstrip("/") + f"/lab?token={password}").status_code == 200

        logs = http.get(f"/api/operations/{operation_id}/logs").json()["logs"]
        assert logs[0].startswith("[") and "Starting interview creation for Ada Lovelace" in logs[0]
        assert any("Apply complete!" in line for line in logs)
        assert any("Interview created successfully" in line for line in logs)
        log_events = [s for s in sse.snapshot() if s.data["type"] == "operation_log"]
        assert log_events, "log lines are also events"

        destroyed = http.post(f"/api/interviews/{interview_id}/destroy")
        assert destroyed.status_code == 200, destroyed.text
        destroy_id = destroyed.json()["operationId"]
        assert destroyed.json()["interviewId"] == interview_id
        sse.wait_for(
            lambda s: (
                s.data.get("type") == "interview_update"
                and s.data["interview"]["id"] == interview_id
                and s.data["interview"]["status"] == "destroyed"
            ),
            timeout_s=60,
        )
        assert sse.interview_statuses(interview_id)[-2:] == ["destroying", "destroyed"]

        # no event ever carried the password
        assert all(password not in str(s.data) for s in sse.snapshot())

    assert http.post(f"/api/interviews/{interview_id}/destroy").status_code == 409
    assert not _port_open(access_url), "the IDE port must be closed after destroy"
    workspace = stack.data_dir / "provisioner" / "workspaces" / interview_id
    assert not workspace.exists(), "the candidate's files must be gone"
    assert not (stack.data_dir / "provisioner" / "terraform" / interview_id).exists()
    destroy_logs = http.get(f"/api/operations/{destroy_id}/logs").json()["logs"]
    assert any("Destroy complete!" in line for line in destroy_logs)
    assert http.get(f"/api/operations/{operation_id}/logs").json()["logs"] == logs, "logs are kept"
    _assert_password_never_logged(stack.logs, password)


def _assert_password_never_logged(log_dir: Path, password: str) -> None:
    for path in log_dir.glob("*.log"):
        assert password not in path.read_text(errors="replace"), f"password leaked into {path.name}"


def test_scheduled_interview_waits_then_starts_and_auto_destroys(stack: Stack, http: httpx.Client) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    with SseClient(stack.url, TOKEN) as sse:
        reply = http.post(
            "/api/interviews/create",
            json={
                "candidateName": "Grace Hopper",
                "challenge": "sql",
                "scheduledAt": due.isoformat().replace("+00:00", "Z"),
                "autoDestroyMinutes": 1,
            },
        )
        assert reply.status_code == 200, reply.text
        created = reply.json()
        interview_id = created["interviewId"]
        assert created["scheduledAt"] == due.isoformat().replace("+00:00", "Z")
        assert created["autoDestroyAt"] == (due + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
        assert _interview(http, interview_id)["status"] == "scheduled"
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 1.5))
        assert _interview(http, interview_id)["status"] == "scheduled", "must not start before scheduledAt"

        start = sse.wait_for(
            lambda s: s.data.get("type") == "scheduler_event" and s.data["event"]["interviewId"] == interview_id,
            timeout_s=15,
        )
        assert start.data["event"] == {
            "type": "scheduled_start",
            "operationId": created["operationId"],
            "interviewId": interview_id,
        }
        assert datetime.now(UTC) - due < timedelta(seconds=3), "started within a few seconds of scheduledAt"
        sse.wait_for(
            lambda s: (
                s.data.get("type") == "interview_update"
                and s.data["interview"]["id"] == interview_id
                and s.data["interview"]["status"] == "active"
            ),
            timeout_s=60,
        )

        auto = sse.wait_for(
            lambda s: s.data.get("type") == "scheduler_event" and s.data["event"]["type"] == "auto_destroy",
            timeout_s=90,
        )
        assert auto.data["event"]["interviewId"] == interview_id
        fired_late = datetime.now(UTC) - (due + timedelta(minutes=1))
        assert fired_late < timedelta(seconds=3), f"auto-destroy fired {fired_late} late"
        sse.wait_for(
            lambda s: (
                s.data.get("type") == "interview_update"
                and s.data["interview"]["id"] == interview_id
                and s.data["interview"]["status"] == "destroyed"
            ),
            timeout_s=60,
        )
    operations = http.get("/api/operations", params={"interviewId": interview_id}).json()["operations"]
    assert {op["type"]: op["status"] for op in operations} == {"create": "completed", "destroy": "completed"}


def test_requests_without_a_token_are_refused(stack: Stack) -> None:
    for path in ("/api/interviews", "/api/operations", "/api/challenges", "/api/events"):
        reply = httpx.get(stack.url + path, timeout=10)
        assert reply.status_code == 401, path
        assert "error" in reply.json()
