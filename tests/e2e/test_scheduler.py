"""The scheduler through the whole stack: restarts across due times, destroy before start, orphan repair."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import httpx
import pytest
import redis
from stack import Stack

pytestmark = pytest.mark.e2e


def _z(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _status(http: httpx.Client, interview_id: str) -> str | None:
    found = [i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id]
    return found[0]["status"] if found else None


def _wait_status(http: httpx.Client, interview_id: str, wanted: str, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if _status(http, interview_id) == wanted:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{interview_id} not {wanted} after {timeout_s}s (is {_status(http, interview_id)})")


def test_a_scheduler_down_across_the_due_time_acts_right_after_restart(stack: Stack, http: httpx.Client) -> None:
    due = datetime.now(UTC) + timedelta(seconds=3)
    created = http.post(
        "/api/interviews/create",
        json={"candidateName": "Restart", "challenge": "python", "scheduledAt": _z(due), "autoDestroyMinutes": 30},
    ).json()
    stack.procs["scheduler"].stop()
    try:
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 2)
        assert _status(http, created["interviewId"]) == "scheduled", "nobody started it while the scheduler was down"
    finally:
        stack.restart("scheduler")
    waited = _wait_status(http, created["interviewId"], "initializing", timeout_s=10)
    assert waited < 5, f"started {waited:.1f}s after the restart"
    _wait_status(http, created["interviewId"], "active", timeout_s=60)
    http.post(f"/api/interviews/{created['interviewId']}/destroy")
    _wait_status(http, created["interviewId"], "destroyed", timeout_s=60)


def test_destroying_a_scheduled_interview_runs_no_terraform(stack: Stack, http: httpx.Client) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    created = http.post(
        "/api/interviews/create",
        json={"candidateName": "Never Started", "challenge": "sql", "scheduledAt": _z(later), "autoDestroyMinutes": 30},
    ).json()
    destroy = http.post(f"/api/interviews/{created['interviewId']}/destroy").json()
    _wait_status(http, created["interviewId"], "destroyed", timeout_s=20)
    assert not (stack.data_dir / "provisioner" / "terraform" / created["interviewId"]).exists()
    logs = http.get(f"/api/operations/{destroy['operationId']}/logs").json()["logs"]
    assert not any("terraform" in line.lower() for line in logs)
    create = http.get(f"/api/operations/{created['operationId']}").json()
    assert create["status"] == "cancelled"


def test_an_orphaned_environment_is_found_and_destroyed(stack: Stack, http: httpx.Client) -> None:
    created = http.post(
        "/api/interviews/create", json={"candidateName": "Orphan", "challenge": "python", "autoDestroyMinutes": 30}
    ).json()
    interview_id = created["interviewId"]
    _wait_status(http, interview_id, "active", timeout_s=60)
    access = urlparse(
        next(i["accessUrl"] for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)
    )
    # lose the record for real: the environment now has no live interview
    store = redis.Redis.from_url(f"redis://127.0.0.1:{stack.redis_port}/0")
    store.delete(f"prequel:interview:{interview_id}")
    store.zrem("prequel:interviews", interview_id)
    store.zrem("prequel:timers", f"destroy:{interview_id}")
    store.close()
    workspace = stack.data_dir / "provisioner" / "workspaces" / interview_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((access.hostname or "127.0.0.1", access.port or 0)) != 0 and not workspace.exists():
                break
        time.sleep(0.5)
    else:
        pytest.fail("the orphaned IDE or its files are still there")
    cleanups = http.get("/api/operations", params={"interviewId": interview_id}).json()["operations"]
    assert any(op["type"] == "destroy" and op["createdBy"] == "scheduler" for op in cleanups)
