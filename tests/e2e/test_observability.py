"""Every service answers /healthz, /readyz and /metrics; readiness follows Redis; the metrics count real work; and
one interview can be followed across all four services' JSON logs by its id."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from stack import Stack

from tests.e2e.conftest import TOKEN
from tests.e2e.sse import SseClient

pytestmark = pytest.mark.e2e

SERVICES = ("api", "events-gateway", "provisioner", "scheduler")


def _service_url(stack: Stack, name: str) -> str:
    return f"http://127.0.0.1:{stack.procs[name].port}"


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else "")) and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _wait_ready(stack: Stack, names: tuple[str, ...], timeout_s: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    codes: dict[str, int] = {}
    while time.monotonic() < deadline:
        codes = {n: httpx.get(f"{_service_url(stack, n)}/readyz", timeout=5).status_code for n in names}
        if all(code == 200 for code in codes.values()):
            return codes
        time.sleep(0.3)
    return codes


def test_every_service_is_alive_ready_and_exposes_metrics(stack: Stack) -> None:
    for name in SERVICES:
        base = _service_url(stack, name)
        assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}, name
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json() == {"status": "ok", "nats": "ok", "redis": "ok"}, name
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200 and "# TYPE" in metrics.text, name
    assert "prequel_sse_clients" in httpx.get(f"{_service_url(stack, 'events-gateway')}/metrics").text
    assert "prequel_command_backlog" in httpx.get(f"{_service_url(stack, 'provisioner')}/metrics").text


def test_readiness_follows_redis(stack: Stack) -> None:
    stack.hold("redis")
    try:
        deadline = time.monotonic() + 10
        codes: dict[str, int] = {}
        while time.monotonic() < deadline:
            codes = {n: httpx.get(f"{_service_url(stack, n)}/readyz", timeout=5).status_code for n in SERVICES}
            if all(code == 503 for code in codes.values()):
                break
            time.sleep(0.2)
        assert codes == dict.fromkeys(SERVICES, 503)
        body = httpx.get(f"{_service_url(stack, 'api')}/readyz", timeout=5).json()
        assert body["status"] == "unavailable" and body["redis"].startswith("unreachable")
        # alive all the same: an orchestrator must not restart a service because Redis is away
        assert all(httpx.get(f"{_service_url(stack, n)}/healthz").status_code == 200 for n in SERVICES)
    finally:
        stack.release("redis")
    assert _wait_ready(stack, SERVICES) == dict.fromkeys(SERVICES, 200)


def test_metrics_count_the_work_and_logs_follow_one_interview(stack: Stack, http: httpx.Client) -> None:
    provisioner = f"{_service_url(stack, 'provisioner')}/metrics"
    before = httpx.get(provisioner).text
    applies_before = _metric(before, "prequel_terraform_duration_seconds_count", command="apply", outcome="ok")
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    body = {"candidateName": "Grace Hopper", "challenge": "sql", "autoDestroyMinutes": 30, "scheduledAt": soon}
    created = http.post("/api/interviews/create", json=body).json()
    interview_id, operation_id = created["interviewId"], created["operationId"]
    # a live log follow through the gateway, so the gateway has something to say about this interview too; the
    # scheduler starts the creation at scheduledAt
    with SseClient(stack.url, TOKEN, path=f"/api/operations/{operation_id}/logs") as follow:
        follow.wait_for(lambda s: s.data.get("type") == "log_end", timeout_s=90)
    assert http.post(f"/api/interviews/{interview_id}/destroy").status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = next(i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)["status"]
        if status == "destroyed":
            break
        time.sleep(0.5)
    assert status == "destroyed"

    after = httpx.get(provisioner).text
    assert _metric(after, "prequel_terraform_duration_seconds_count", command="apply", outcome="ok") >= (
        applies_before + 1
    )
    assert _metric(after, "prequel_operations_finished_total", type="create", outcome="completed") >= 1
    scheduler = httpx.get(f"{_service_url(stack, 'scheduler')}/metrics").text
    assert _metric(scheduler, "prequel_scheduler_lateness_seconds_count", kind="start") >= 1
    api = httpx.get(f"{_service_url(stack, 'api')}/metrics").text
    assert _metric(api, "prequel_http_request_duration_seconds_count", route="/api/interviews/create") >= 1

    # one grep for the interview's id finds it in the JSON logs of all four services, as a named field
    seen: dict[str, set[str]] = {}
    for name in SERVICES:
        for line in (stack.logs / f"{name}.log").read_text(errors="replace").splitlines():
            if interview_id not in line or not line.startswith("{"):
                continue
            record = json.loads(line)
            if record.get("interviewId") == interview_id:
                seen.setdefault(record["service"], set()).add(record["event"])
    assert set(seen) == set(SERVICES), seen
