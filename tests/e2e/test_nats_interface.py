"""The NATS interface is public: other internal services publish the same commands the api does."""

from __future__ import annotations

import asyncio
import time

import httpx
import nats.js.errors
import pytest
from prequel_common import bus
from prequel_common.commands import CreateInterview, DestroyInterview
from prequel_common.intake import InterviewRequest
from prequel_common.subjects import COMMANDS_STREAM, PROVISIONER_DURABLE, command_subject
from stack import Stack

pytestmark = pytest.mark.e2e


async def _publish(stack: Stack, payloads: list[tuple[str, bytes]]) -> None:
    nc = await bus.connect(f"nats://127.0.0.1:{stack.nats_port}", "another-service")
    js = nc.jetstream()
    for subject, data in payloads:
        await js.publish(subject, data)
    await bus.close(nc)


async def _pending(stack: Stack) -> tuple[int, int]:
    nc = await bus.connect(f"nats://127.0.0.1:{stack.nats_port}", "inspector")
    info = await nc.jetstream().consumer_info(COMMANDS_STREAM, PROVISIONER_DURABLE)
    await bus.close(nc)
    return info.num_pending, info.num_ack_pending


def test_garbage_is_terminated_and_a_valid_command_creates_an_interview(stack: Stack, http: httpx.Client) -> None:
    valid = CreateInterview(
        operation_id="op-fromnats0001",
        interview_id="int-fromnats0001",
        request=InterviewRequest(candidate_name="Via Nats", challenge="python", auto_destroy_minutes=30),
        requested_by="ats-sync",
    )
    invalid_request = CreateInterview(
        operation_id="op-fromnats0002",
        interview_id="int-fromnats0002",
        request=InterviewRequest(candidate_name="Too Long", challenge="python", auto_destroy_minutes=9999),
    )
    asyncio.run(
        _publish(
            stack,
            [
                (command_subject("create", "int-garbage"), b"\x00not json at all"),
                (command_subject("create", "int-garbage"), b'{"type": "explode", "operationId": "op-1"}'),
                (valid.subject, valid.model_dump_json(by_alias=True).encode()),
                (invalid_request.subject, invalid_request.model_dump_json(by_alias=True).encode()),
            ],
        )
    )
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        found = [i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == "int-fromnats0001"]
        status = found[0]["status"] if found else None
        if status == "active":
            break
        time.sleep(0.5)
    assert status == "active"
    created = http.get("/api/operations/op-fromnats0001").json()
    assert created["status"] == "completed" and created["createdBy"] == "ats-sync"
    assert http.get("/api/operations/op-fromnats0002").status_code == 404, "same validation as HTTP: refused"
    assert asyncio.run(_pending(stack)) == (0, 0), "nothing left to redeliver"
    provisioner_log = (stack.logs / "provisioner.log").read_text()
    assert provisioner_log.count("malformed command dropped") >= 2
    assert "create command rejected" in provisioner_log and "autoDestroyMinutes must be between" in provisioner_log
    _destroy_over_nats(stack, http, "int-fromnats0001")


def _destroy_over_nats(stack: Stack, http: httpx.Client, interview_id: str) -> None:
    """Another service destroys the interview by publishing DestroyInterview with an operation id of its own; a
    second destroy for the same interview is refused, as over HTTP."""
    first = DestroyInterview(operation_id="op-natsdestroy01", interview_id=interview_id, requested_by="ats-sync")
    second = DestroyInterview(operation_id="op-natsdestroy02", interview_id=interview_id, requested_by="ats-sync")
    asyncio.run(_publish(stack, [(c.subject, c.model_dump_json(by_alias=True).encode()) for c in (first, second)]))
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status = next(i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)["status"]
        if status == "destroyed":
            break
        time.sleep(0.5)
    assert status == "destroyed"
    # the two are handled concurrently (several workers): either may be the one, never both
    answers = [http.get(f"/api/operations/{c.operation_id}") for c in (first, second)]
    assert sorted(a.status_code for a in answers) == [200, 404], "one destroy per interview"
    destroy = next(a.json() for a in answers if a.status_code == 200)
    assert destroy["type"] == "destroy" and destroy["status"] == "completed" and destroy["createdBy"] == "ats-sync"
    assert http.post(f"/api/interviews/{interview_id}/destroy").status_code == 409


def test_a_command_on_a_subject_no_service_consumes_is_refused_at_once(stack: Stack) -> None:
    async def publish() -> BaseException | None:
        nc = await bus.connect(f"nats://127.0.0.1:{stack.nats_port}", "another-service")
        try:
            await nc.jetstream().publish("prequel.cmd.nobody.listens", b"{}", timeout=5)
        except Exception as exc:
            return exc
        finally:
            await bus.close(nc)
        return None

    started = time.monotonic()
    refused = asyncio.run(publish())
    assert isinstance(refused, nats.js.errors.NoStreamResponseError), refused
    assert time.monotonic() - started < 4, "refused at once, not after a timeout"
