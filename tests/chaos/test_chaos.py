"""Chaos: faults we can produce here, against the whole supervised stack (two provisioners, two gateways behind the
front door, restarted when they die, as ECS would). Each scenario asserts the end state, not just survival: every
interview in its correct final state, every operation finished, no IDE process or Terraform state left over, no
environment alive past its deadline + 2 minutes, and SSE clients that resumed without losing an event.

The scheduler scenario spans the others: the scheduler is held down while the other faults happen, across the due
times of a scheduled start and of an auto-destroy, and the last test checks both fired once it is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from stack import REPO, Stack, free_port, running_stack

from tests.chaos.probes import (
    DeadlineWatchdog,
    ResumingSseClient,
    assert_lossless,
    ide_processes,
    ide_sessions,
    states_with_resources,
    stream_last_seq,
)

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

TOKEN = "chaos-token-0123456789abcdef"
SLOW_MODULE = REPO / "tests" / "fixtures" / "modules" / "slow-workspace"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = {
        "PREQUEL_ENV": "development",
        "PREQUEL_TF_MODULE": str(SLOW_MODULE),
        "TEST_SLOW_APPLY_S": "6",  # a window, during each create, for the fault
        "PREQUEL_ACK_WAIT_S": "6",  # a dead worker's command comes back within 6 s
        "PREQUEL_AUTO_DESTROY_MIN_MINUTES": "1",
        "PREQUEL_SWEEP_INTERVAL_S": "2",
        "PREQUEL_OVERDUE_GRACE_S": "5",
        "PREQUEL_HEARTBEAT_S": "2",
        "PREQUEL_STATUS_INTERVAL_S": "1",
        "PREQUEL_CANCEL_GRACE_S": "5",
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000",
        "PREQUEL_RATE_LIMIT_SSE_CONNECTIONS": "50",
    }
    data_dir: Path = tmp_path_factory.mktemp("chaos")
    chaos = Stack(
        data_dir=data_dir,
        tokens=f"chaos:{TOKEN}",
        front_port=free_port(),
        env_overrides=overrides,
        provisioners=2,
        gateways=2,
    )
    with running_stack(chaos):
        chaos.supervise(report=lambda message: print(f"[supervisor] {message}", flush=True))
        yield chaos


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture(scope="module")
def watchdog(stack: Stack) -> Iterator[DeadlineWatchdog]:
    with DeadlineWatchdog(stack.url, TOKEN, stack.data_dir / "provisioner" / "workspaces") as dog:
        yield dog
    assert not dog.violations, dog.violations


@pytest.fixture
def sse(stack: Stack) -> Iterator[tuple[ResumingSseClient, int]]:
    """A resuming client from the current end of the events stream; the test checks it lost nothing."""
    start = stream_last_seq(_nats(stack))
    with ResumingSseClient(stack.url, TOKEN, after=start) as client:
        yield client, start


def _nats(stack: Stack) -> str:
    return f"nats://127.0.0.1:{stack.nats_port}"


def _wait(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None  # the front door or the api is restarting
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def _interview(http: httpx.Client, interview_id: str) -> dict[str, Any]:
    return next(i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)


def _status_is(http: httpx.Client, interview_id: str, *statuses: str) -> Callable[[], bool]:
    return lambda: _interview(http, interview_id)["status"] in statuses


def _create(http: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    body = {"candidateName": name, "challenge": "python", "autoDestroyMinutes": 30, **extra}
    reply = http.post("/api/interviews/create", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _log(http: httpx.Client, operation_id: str) -> list[str]:
    return http.get(f"/api/operations/{operation_id}/logs").json()["logs"]  # type: ignore[no-any-return]


def _applying(http: httpx.Client, operation_id: str) -> bool:
    """Terraform is inside the create (the slow step of the apply has started)."""
    return any("slow step" in line for line in _log(http, operation_id))


def _destroy_and_check_clean(stack: Stack, http: httpx.Client, interview_ids: list[str]) -> None:
    for interview_id in interview_ids:
        assert http.post(f"/api/interviews/{interview_id}/destroy").status_code == 200
    for interview_id in interview_ids:
        _wait(_status_is(http, interview_id, "destroyed"), 90, f"{interview_id} destroyed")
    _assert_nothing_left(stack, http, interview_ids)


def _assert_nothing_left(stack: Stack, http: httpx.Client, interview_ids: list[str]) -> None:
    for interview_id in interview_ids:
        operations = http.get("/api/operations", params={"interviewId": interview_id}).json()["operations"]
        unfinished = [(o["id"], o["type"], o["status"]) for o in operations if o["status"] in ("pending", "running")]
        assert not unfinished, f"{interview_id}: operations not finished: {unfinished}"
    workspaces = stack.data_dir / "provisioner" / "workspaces"
    alive = {i: pids for i, pids in ide_processes(workspaces).items() if i in interview_ids}
    assert not alive, f"IDE processes left: {alive}"
    states = set(states_with_resources(stack.data_dir / "provisioner" / "terraform")) & set(interview_ids)
    assert not states, f"Terraform states still holding resources: {states}"


def _assert_one_live_workspace(stack: Stack, interview_id: str) -> None:
    sessions = ide_sessions(stack.data_dir / "provisioner" / "workspaces").get(interview_id, set())
    assert len(sessions) == 1, f"{interview_id}: expected exactly one IDE, found sessions {sessions}"


def _completed_create(http: httpx.Client, interview_id: str, operation_id: str) -> dict[str, Any]:
    operation = http.get(f"/api/operations/{operation_id}").json()
    assert operation["status"] == "completed", operation
    assert operation["result"]["success"] is True and operation["result"]["accessUrl"]
    assert _interview(http, interview_id)["accessUrl"] == operation["result"]["accessUrl"]
    return operation  # type: ignore[no-any-return]


# --- the scheduler is held down across due times, while the other scenarios run -------------------------------


@pytest.fixture(scope="module")
def held_scheduler_plan() -> dict[str, Any]:
    return {}


def test_scheduler_stopped_across_due_times_begins(
    stack: Stack, http: httpx.Client, watchdog: DeadlineWatchdog, held_scheduler_plan: dict[str, Any]
) -> None:
    doomed = _create(http, "Ends While Nobody Watches", autoDestroyMinutes=1)  # auto-destroy due in 60 s
    _wait(_status_is(http, doomed["interviewId"], "active"), 60, "the doomed interview active")
    stack.hold("scheduler")
    soon = (datetime.now(UTC) + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    later = _create(http, "Starts While Nobody Watches", scheduledAt=soon, autoDestroyMinutes=5)
    held_scheduler_plan.update(doomed=doomed, later=later)
    assert _interview(http, later["interviewId"])["status"] == "scheduled"


# --- kill -9 every provisioner during a create ------------------------------------------------------------------


def test_every_provisioner_killed_during_creates(
    stack: Stack, http: httpx.Client, watchdog: DeadlineWatchdog, sse: tuple[ResumingSseClient, int]
) -> None:
    client, since = sse
    created = [_create(http, f"Survivor {n}") for n in range(2)]
    for c in created:
        _wait(lambda c=c: _applying(http, c["operationId"]), 60, "terraform inside the apply")
    for name in stack.provisioner_names:
        stack.kill(name)  # SIGKILL; the supervisor starts them again
    for c in created:
        _wait(_status_is(http, c["interviewId"], "active", "error"), 120, f"{c['interviewId']} settled")
        assert _interview(http, c["interviewId"])["status"] == "active"
        _completed_create(http, c["interviewId"], c["operationId"])
        assert any(
            line.split("] ", 1)[1].startswith("Resuming after worker loss") for line in _log(http, c["operationId"])
        )
        _assert_one_live_workspace(stack, c["interviewId"])
    assert sum(stack.restarts.count(name) for name in stack.provisioner_names) >= 2
    _destroy_and_check_clean(stack, http, [c["interviewId"] for c in created])
    end = stream_last_seq(_nats(stack))
    client.wait_until_seen(end, 20)
    assert_lossless(client, since, end)


# --- NATS restarted in the middle of a create -------------------------------------------------------------------


def test_nats_restarted_during_a_create(
    stack: Stack, http: httpx.Client, watchdog: DeadlineWatchdog, sse: tuple[ResumingSseClient, int]
) -> None:
    client, since = sse
    created = _create(http, "Through A NATS Restart")
    _wait(lambda: _applying(http, created["operationId"]), 60, "terraform inside the apply")
    stack.restart("nats")
    _wait(_status_is(http, created["interviewId"], "active", "error"), 120, "the create settled")
    assert _interview(http, created["interviewId"])["status"] == "active"
    operation = _completed_create(http, created["interviewId"], created["operationId"])
    assert operation["result"]["timings"], "the whole apply was recorded"
    _assert_one_live_workspace(stack, created["interviewId"])
    # the log is whole: every line Terraform printed during the outage was kept, in order
    log = _log(http, created["operationId"])
    assert any("Apply complete!" in line for line in log) and log[-1].endswith(operation["result"]["accessUrl"])
    _destroy_and_check_clean(stack, http, [created["interviewId"]])
    end = stream_last_seq(_nats(stack))
    client.wait_until_seen(end, 30)
    assert_lossless(client, since, end)


# --- Redis (AOF) killed and restarted in the middle of a create --------------------------------------------------


def test_redis_killed_during_a_create(
    stack: Stack, http: httpx.Client, watchdog: DeadlineWatchdog, sse: tuple[ResumingSseClient, int]
) -> None:
    client, since = sse
    created = _create(http, "Through A Redis Crash")
    _wait(lambda: _applying(http, created["operationId"]), 60, "terraform inside the apply")
    stack.kill("redis")  # SIGKILL; the supervisor starts it again and it reloads its append-only file
    _wait(_status_is(http, created["interviewId"], "active", "error"), 120, "the create settled")
    assert _interview(http, created["interviewId"])["status"] == "active"
    _completed_create(http, created["interviewId"], created["operationId"])
    _assert_one_live_workspace(stack, created["interviewId"])
    assert "redis" in stack.restarts
    _destroy_and_check_clean(stack, http, [created["interviewId"]])
    end = stream_last_seq(_nats(stack))
    client.wait_until_seen(end, 20)
    assert_lossless(client, since, end)


# --- a gateway killed while clients are connected ---------------------------------------------------------------


def test_gateway_killed_while_clients_are_connected(
    stack: Stack, http: httpx.Client, watchdog: DeadlineWatchdog
) -> None:
    since = stream_last_seq(_nats(stack))
    clients = [ResumingSseClient(stack.url, TOKEN, after=since) for _ in range(4)]  # spread over both gateways
    for client in clients:
        client.__enter__()
    try:
        created = _create(http, "Watched Through A Gateway Crash")
        _wait(lambda: _applying(http, created["operationId"]), 60, "terraform inside the apply")
        stack.kill(stack.gateway_names[0])
        _wait(_status_is(http, created["interviewId"], "active"), 90, "the interview active")
        stack.kill(stack.gateway_names[1])
        _destroy_and_check_clean(stack, http, [created["interviewId"]])
        end = stream_last_seq(_nats(stack))
        for client in clients:
            client.wait_until_seen(end, 30)
            assert_lossless(client, since, end)
        assert all(client.reconnects >= 1 for client in clients), "every client lived through a gateway crash"
    finally:
        for client in clients:
            client.__exit__(None, None, None)


# --- the scheduler comes back: what fell due while it was down fires at once ------------------------------------


def test_scheduler_stopped_across_due_times_catches_up(
    stack: Stack, http: httpx.Client, watchdog: DeadlineWatchdog, held_scheduler_plan: dict[str, Any]
) -> None:
    doomed, later = held_scheduler_plan["doomed"], held_scheduler_plan["later"]
    due = max(
        datetime.fromisoformat(doomed["autoDestroyAt"].replace("Z", "+00:00")),
        datetime.fromisoformat(later["scheduledAt"].replace("Z", "+00:00")),
    )
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() + 1))
    # both due times have passed with no scheduler: nothing happened
    assert _interview(http, doomed["interviewId"])["status"] == "active"
    assert _interview(http, later["interviewId"])["status"] == "scheduled"
    stack.release("scheduler")
    back = time.monotonic()
    _wait(_status_is(http, later["interviewId"], "initializing", "configuring", "active"), 10, "the late start")
    _wait(_status_is(http, doomed["interviewId"], "destroying", "destroyed"), 10, "the late auto-destroy")
    assert time.monotonic() - back < 6, "fired within seconds of the scheduler's return"
    _wait(_status_is(http, doomed["interviewId"], "destroyed"), 60, "the doomed interview destroyed")
    destroys = [
        o
        for o in http.get("/api/operations", params={"interviewId": doomed["interviewId"]}).json()["operations"]
        if o["type"] == "destroy"
    ]
    assert len(destroys) == 1 and destroys[0]["status"] == "completed", destroys
    _wait(_status_is(http, later["interviewId"], "active"), 60, "the late start active")
    _destroy_and_check_clean(stack, http, [later["interviewId"]])
    _assert_nothing_left(stack, http, [doomed["interviewId"]])
