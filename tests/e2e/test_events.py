"""The SSE stream through the front door: resume by Last-Event-ID, filters, live log follow, per-user limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from stack import Stack

from tests.e2e.conftest import LIMITED_TOKEN, TOKEN
from tests.e2e.sse import Seen, SseClient

pytestmark = pytest.mark.e2e


def _later(days: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _create_scheduled(http: httpx.Client, name: str) -> dict[str, str]:
    reply = http.post(
        "/api/interviews/create",
        json={"candidateName": name, "challenge": "python", "scheduledAt": _later(), "autoDestroyMinutes": 30},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _is_status(interview_id: str, status: str):  # type: ignore[no-untyped-def]
    def check(seen: Seen) -> bool:
        return (
            seen.data.get("type") == "interview_update"
            and seen.data["interview"]["id"] == interview_id
            and seen.data["interview"]["status"] == status
        )

    return check


REPLAYABLE = {"interview_update", "operation_update", "operation_log", "scheduler_event"}


def _ids(client: SseClient) -> list[int]:
    """Ids of the stream events seen (an SSE client keeps the last id for events sent without one)."""
    return [int(s.id) for s in client.snapshot() if s.data.get("type") in REPLAYABLE]


def test_reconnect_with_last_event_id_gets_exactly_the_missed_events_then_live_ones(
    stack: Stack, http: httpx.Client
) -> None:
    with SseClient(stack.url, TOKEN) as reference:
        reference.wait_for(lambda s: s.data["type"] == "connection")
        with SseClient(stack.url, TOKEN) as first:
            first.wait_for(lambda s: s.data["type"] == "connection")
            x = _create_scheduled(http, "Before Disconnect")
            first.wait_for(
                lambda s: s.data.get("type") == "operation_log" and s.data["operationId"] == x["operationId"]
            )
            last_seen = max(_ids(first))
        # while away: another interview, and the first one destroyed
        y = _create_scheduled(http, "While Away")
        assert http.post(f"/api/interviews/{x['interviewId']}/destroy").status_code == 200
        reference.wait_for(_is_status(x["interviewId"], "destroyed"), timeout_s=30)
        missed = [i for i in _ids(reference) if i > last_seen]
        assert len(missed) >= 6

        with SseClient(stack.url, TOKEN, last_event_id=str(last_seen)) as resumed:
            resumed.wait_for(_is_status(x["interviewId"], "destroyed"), timeout_s=10)
            z = _create_scheduled(http, "After Reconnect")  # live, after the replay
            resumed.wait_for(
                lambda s: s.data.get("type") == "operation_log" and s.data["operationId"] == z["operationId"]
            )
            reference.wait_for(
                lambda s: s.data.get("type") == "operation_log" and s.data["operationId"] == z["operationId"]
            )
            got = _ids(resumed)
        assert resumed.snapshot()[0].data["type"] == "connection"
        assert got == sorted(set(got)), "in order, no duplicate"
        assert got == [i for i in _ids(reference) if last_seen < i <= got[-1]], "no gap"
        assert got[: len(missed)] == missed
        assert any(s.data.get("interview", {}).get("id") == y["interviewId"] for s in resumed.snapshot())


def test_a_last_event_id_beyond_the_stream_asks_for_a_resync(stack: Stack) -> None:
    with SseClient(stack.url, TOKEN, last_event_id="999999999") as client:
        seen = client.wait_for(lambda s: s.data["type"] == "resync")
        assert "reload" in seen.data["reason"]


def test_interview_filter_narrows_the_stream(stack: Stack, http: httpx.Client) -> None:
    first = _create_scheduled(http, "Filtered In")
    with SseClient(stack.url, TOKEN, path=f"/api/events?interviewId={first['interviewId']}") as only_first:
        only_first.wait_for(lambda s: s.data["type"] == "connection")
        other = _create_scheduled(http, "Filtered Out")
        http.post(f"/api/interviews/{other['interviewId']}/destroy")
        http.post(f"/api/interviews/{first['interviewId']}/destroy")
        only_first.wait_for(_is_status(first["interviewId"], "destroyed"), timeout_s=30)
        tagged = [s.data for s in only_first.snapshot() if s.data["type"] in REPLAYABLE]
    assert tagged
    assert other["interviewId"] not in str(tagged)
    assert all(first["interviewId"] in str(data) for data in tagged)


def test_log_follow_streams_lines_then_ends_with_the_final_event(stack: Stack, http: httpx.Client) -> None:
    created = http.post(
        "/api/interviews/create",
        json={"candidateName": "Log Follower", "challenge": "javascript", "autoDestroyMinutes": 30},
    ).json()
    op = created["operationId"]
    with SseClient(stack.url, TOKEN, path=f"/api/operations/{op}/logs") as follow:
        end = follow.wait_for(lambda s: s.data.get("type") == "log_end", timeout_s=60)
        lines = [s for s in follow.snapshot() if s.data.get("type") == "log"]
    assert end.data == {**end.data, "operationId": op, "status": "completed"}
    assert [int(s.id) for s in lines] == list(range(len(lines))), "every line once, in order"
    stored = http.get(f"/api/operations/{op}/logs").json()["logs"]
    assert [s.data["line"] for s in lines] == stored
    assert created["password"] not in str([s.data for s in lines])

    # from a cursor, after the end: only the later lines, then the end at once
    with SseClient(stack.url, TOKEN, path=f"/api/operations/{op}/logs?after=3") as tail:
        tail.wait_for(lambda s: s.data.get("type") == "log_end", timeout_s=10)
        rest = [s.data["line"] for s in tail.snapshot() if s.data.get("type") == "log"]
    assert rest == stored[4:]
    plain = httpx.get(f"{stack.url}/api/operations/{op}/logs", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert plain.headers["content-type"].startswith("application/json") and plain.json()["logs"] == stored
    http.post(f"/api/interviews/{created['interviewId']}/destroy")


def test_the_sixth_stream_of_one_user_is_refused(stack: Stack) -> None:
    clients = [SseClient(stack.url, LIMITED_TOKEN) for _ in range(5)]
    for client in clients:
        client.__enter__()
    try:
        for client in clients:
            client.wait_for(lambda s: s.data["type"] == "connection")
        refused = httpx.get(f"{stack.url}/api/events", params={"access_token": LIMITED_TOKEN}, timeout=10)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] and "error" in refused.json()
        with SseClient(stack.url, TOKEN) as other_user:  # the limit is per user
            other_user.wait_for(lambda s: s.data["type"] == "connection")
    finally:
        for client in clients:
            client.__exit__(None, None, None)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # slots are released when streams close
        with httpx.stream(
            "GET", f"{stack.url}/api/events", params={"access_token": LIMITED_TOKEN}, timeout=10
        ) as again:
            if again.status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail("slots were not released after the streams closed")


def test_the_stream_refuses_a_wrong_token_and_accepts_the_cookie(stack: Stack) -> None:
    for params, headers in (
        ({"access_token": "wrong-token-0123456789"}, {}),
        ({}, {"Authorization": "Bearer wrong-token-0123456789"}),
        ({}, {"Cookie": "prequel_token=wrong-token-0123456789"}),
    ):
        refused = httpx.get(f"{stack.url}/api/events", params=params, headers=headers, timeout=10)
        assert refused.status_code == 401 and "error" in refused.json()
    with httpx.stream(
        "GET", f"{stack.url}/api/events", headers={"Cookie": f"prequel_token={TOKEN}"}, timeout=10
    ) as accepted:
        assert accepted.status_code == 200
        assert accepted.headers["content-type"].startswith("text/event-stream")
