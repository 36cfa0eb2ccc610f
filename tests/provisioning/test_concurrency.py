"""One worker with PREQUEL_PROVISIONER_CONCURRENCY=2, through the whole stack with the real terraform binary: a
pending create cancelled while both slots are busy never runs, and no more than two operations run at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from stack import Stack

from tests.provisioning.support import (
    create,
    get_interview,
    get_operation,
    log_of,
    make_stack,
    messages_of,
    serving,
    wait_until,
    workdir_of,
    workspace_of,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_slots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One worker that runs at most two operations at once; slow steps of 3 s."""
    stack = make_stack(
        tmp_path_factory.mktemp("two-slots"),
        "slow-after-ide-workspace",
        PREQUEL_PROVISIONER_CONCURRENCY="2",
        TEST_SLOW_APPLY_S="3",
    )
    with serving(stack):
        yield stack


def test_cancel_of_a_pending_create_ends_it_before_it_runs(two_slots: Stack) -> None:
    with two_slots.client() as http:
        blockers = [create(http, f"Blocker {n}") for n in (1, 2)]
        wait_until(
            lambda: all(get_operation(http, b["operationId"])["status"] == "running" for b in blockers),
            30,
            "both slots to be taken",
        )
        queued = create(http, "Queued")
        op, interview_id = queued["operationId"], queued["interviewId"]
        assert get_operation(http, op)["status"] == "pending"
        reply = http.post(f"/api/operations/{op}/cancel")
        assert reply.status_code == 200 and reply.json()["success"] is True
        assert get_operation(http, op)["status"] == "cancelled", "a pending create is cancelled at once"
        assert get_interview(http, interview_id)["status"] == "destroyed"
        for blocker in blockers:  # free the slots: the worker then takes the queued command, and must drop it
            http.post(f"/api/interviews/{blocker['interviewId']}/destroy")

        def dropped() -> bool:
            lines = (two_slots.logs / "provisioner.log").read_text(errors="replace").splitlines()
            return any(op in line and "command ignored" in line for line in lines)

        wait_until(dropped, 60, "the worker to take the queued command and drop it")
        assert get_operation(http, op)["status"] == "cancelled"
        assert get_interview(http, interview_id)["status"] == "destroyed"
        messages = messages_of(log_of(http, op))
        wait_until(
            lambda: all(get_interview(http, b["interviewId"])["status"] == "destroyed" for b in blockers),
            60,
            "the blockers destroyed",
        )
    assert any("before it started" in m for m in messages), messages
    assert not [m for m in messages if "▶" in m or "terraform" in m.lower()], "no Terraform ran for it"
    assert not workdir_of(two_slots, interview_id).exists(), "no Terraform working folder"
    assert not workspace_of(two_slots, interview_id).exists()


def test_a_worker_runs_no_more_operations_at_once_than_its_concurrency(two_slots: Stack) -> None:
    with two_slots.client() as http:
        created = [create(http, f"Parallel {n}") for n in range(4)]
        ops = {c["operationId"] for c in created}
        peak, queued_behind_full = 0, False
        deadline = time.monotonic() + 120
        while True:
            listed = http.get("/api/operations").json()["operations"]
            statuses = {o["id"]: o["status"] for o in listed if o["id"] in ops}
            running = sum(1 for s in statuses.values() if s == "running")
            assert running <= 2, f"more than PREQUEL_PROVISIONER_CONCURRENCY=2 running: {statuses}"
            assert not {"failed", "cancelled"} & set(statuses.values()), statuses
            peak = max(peak, running)
            queued_behind_full |= running == 2 and "pending" in statuses.values()
            if all(s == "completed" for s in statuses.values()):
                break
            assert time.monotonic() < deadline, f"not all completed: {statuses}"
            time.sleep(0.2)
        assert peak == 2 and queued_behind_full, "two ran at once while the others waited"
        assert all(get_interview(http, c["interviewId"])["status"] == "active" for c in created)
        for c in created:
            http.post(f"/api/interviews/{c['interviewId']}/destroy")
        wait_until(
            lambda: all(get_interview(http, c["interviewId"])["status"] == "destroyed" for c in created),
            90,
            "the four interviews destroyed",
        )
