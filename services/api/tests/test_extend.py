"""POST /api/interviews/{id}/extend against real NATS and Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from nats.js.errors import NotFoundError
from prequel_api.app import create_app
from prequel_api.settings import ApiSettings
from prequel_common import bus
from prequel_common.subjects import EVENTS_STREAM, scheduler_event_subject

TOKEN = "0123456789abcdef0123"


@pytest.fixture
def setup(nats_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    (tmp_path / "python").mkdir()
    prefix = f"extend-{uuid.uuid4().hex[:8]}"
    settings = ApiSettings(
        nats_url=nats_url,
        redis_url=redis_url,
        api_tokens=f"tester:{TOKEN}",
        redis_prefix=prefix,
        challenges_dir=tmp_path,
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client, prefix


def _deadline(client: TestClient, interview_id: str) -> datetime:
    [found] = [i for i in client.get("/api/interviews").json()["interviews"] if i["id"] == interview_id]
    return datetime.fromisoformat(found["autoDestroyAt"].replace("Z", "+00:00"))


def test_extend_moves_the_deadline_and_its_timer_within_the_maximum(
    setup: tuple[TestClient, str], redis_url: str
) -> None:
    client, prefix = setup
    created = client.post(
        "/api/interviews/create", json={"candidateName": "Ext", "challenge": "python", "autoDestroyMinutes": 200}
    ).json()
    interview_id = created["interviewId"]
    before = _deadline(client, interview_id)

    reply = client.post(f"/api/interviews/{interview_id}/extend", json={"minutes": 30})
    assert reply.status_code == 200, reply.text
    assert _deadline(client, interview_id) == before + timedelta(minutes=30)
    assert reply.json()["autoDestroyAt"] == (before + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    due = redis.Redis.from_url(redis_url).zscore(f"{prefix}:timers", f"destroy:{interview_id}")
    assert due == (before + timedelta(minutes=30)).timestamp(), "the auto-destroy timer moved with it"

    too_long = client.post(f"/api/interviews/{interview_id}/extend", json={"minutes": 11})  # 241 > 240
    assert too_long.status_code == 400 and "maximum is 240" in too_long.json()["error"]
    assert _deadline(client, interview_id) == before + timedelta(minutes=30)
    logs = client.get(f"/api/operations/{created['operationId']}/logs").json()["logs"]
    assert any("Auto-destroy moved 30 min later" in line for line in logs)

    client.post(f"/api/interviews/{interview_id}/destroy")
    refused = client.post(f"/api/interviews/{interview_id}/extend", json={"minutes": 5})
    assert refused.status_code == 409 and "only live interviews" in refused.json()["error"]


@pytest.mark.parametrize("body", [{}, {"minutes": 0}, {"minutes": -5}, {"minutes": "10"}, {"minutes": 1.5}])
def test_extend_validates_its_body(setup: tuple[TestClient, str], body: dict[str, object]) -> None:
    client, _ = setup
    created = client.post(
        "/api/interviews/create", json={"candidateName": "Ext", "challenge": "python", "autoDestroyMinutes": 30}
    ).json()
    reply = client.post(f"/api/interviews/{created['interviewId']}/extend", json=body)
    assert reply.status_code == 400 and "error" in reply.json()


def test_extend_of_an_unknown_interview_is_404(setup: tuple[TestClient, str]) -> None:
    client, _ = setup
    assert client.post("/api/interviews/int-nope0000/extend", json={"minutes": 5}).status_code == 404


def _scheduler_events(nats_url: str, interview_id: str) -> list[dict[str, object]]:
    """The ``scheduler_event`` messages of one interview on the events stream (read by sequence, nothing consumed)."""

    async def read() -> list[dict[str, object]]:
        nc = await bus.connect(nats_url, "extend-test")
        try:
            js = nc.jetstream()
            state = (await js.stream_info(EVENTS_STREAM, subjects_filter=scheduler_event_subject(interview_id))).state
            found = []
            for seq in range(state.first_seq, state.last_seq + 1):
                try:
                    msg = await js.get_msg(EVENTS_STREAM, seq)
                except NotFoundError:  # removed by a purge
                    continue
                if msg.subject == scheduler_event_subject(interview_id):
                    found.append(json.loads(msg.data or b""))
            return found
        finally:
            await bus.close(nc)

    return asyncio.run(read())


def test_extend_emits_the_extended_scheduler_event(setup: tuple[TestClient, str], nats_url: str) -> None:
    client, _ = setup
    created = client.post(
        "/api/interviews/create", json={"candidateName": "Ext", "challenge": "python", "autoDestroyMinutes": 30}
    ).json()
    assert client.post(f"/api/interviews/{created['interviewId']}/extend", json={"minutes": 15}).status_code == 200

    [event] = _scheduler_events(nats_url, created["interviewId"])

    assert event["type"] == "scheduler_event"
    assert event["event"] == {
        "type": "extended",
        "operationId": created["operationId"],
        "interviewId": created["interviewId"],
    }
    assert isinstance(event["timestamp"], str)
