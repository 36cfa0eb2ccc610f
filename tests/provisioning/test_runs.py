"""Provisioner runs under pressure, through the whole stack with the real terraform binary: cancel of a running
create, destroy during a create, a failing module, a run timeout, workers killed mid-apply and while the IDE starts,
the password a module prints kept out of every log and event, and many creates on two workers."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack import Stack

from tests.e2e.sse import SseClient
from tests.provisioning.support import (
    BODY,
    SIGINT_LINE,
    TOKEN,
    assert_nothing_running,
    create,
    first_line,
    get_interview,
    get_operation,
    has_line,
    holder_of,
    ide_processes,
    in_slow_step,
    interview_processes,
    log_of,
    make_stack,
    messages_of,
    serving,
    wait_until,
    workdir_of,
    workspace_of,
)

pytestmark = pytest.mark.e2e

# the tests with a stack of their own first: the shared one is only started once they are done


def test_a_run_longer_than_the_run_timeout_fails_and_is_cleaned_up(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, "slow-after-ide-workspace", PREQUEL_RUN_TIMEOUT_S="8", TEST_SLOW_APPLY_S="60")
    with serving(stack), stack.client() as http:
        created = create(http)
        op, interview_id = created["operationId"], created["interviewId"]
        wait_until(lambda: in_slow_step(http, op), 30, "the apply to reach its slow step")
        assert len(ide_processes(workspace_of(stack, interview_id))) == 1, "a partial environment to clean up"
        wait_until(lambda: get_operation(http, op)["status"] == "failed", 40, "the create to fail")
        assert get_interview(http, interview_id)["status"] == "error"
        reason = "Run timed out after 8s (PREQUEL_RUN_TIMEOUT_S)"
        assert get_operation(http, op)["result"] == {"success": False, "error": reason}
        messages = messages_of(log_of(http, op))
        steps = [SIGINT_LINE, reason, "Cleaning up the partial environment", "IDE (pid", "Destroy complete!"]
        at = [first_line(messages, step) for step in steps]
        assert at == sorted(at), "\n".join(messages)
        assert ide_processes(workspace_of(stack, interview_id)) == []
        assert_nothing_running(stack, interview_id)
        assert not workdir_of(stack, interview_id).exists()


def test_a_failing_module_fails_the_operation_with_a_readable_diagnostic(tmp_path: Path) -> None:
    with serving(make_stack(tmp_path, "failing-workspace")) as stack, stack.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        wait_until(lambda: get_operation(http, created["operationId"])["status"] == "failed", 60, "the create to fail")
        assert get_interview(http, created["interviewId"])["status"] == "error"
        operation = get_operation(http, created["operationId"])
        assert operation["result"] == {"success": False, "error": "terraform apply failed (exit code 1)"}
        text = "\n".join(http.get(f"/api/operations/{created['operationId']}/logs").json()["logs"])
        assert "ERROR: Error: local-exec provisioner error" in text
        assert "the challenge image could not be pulled" in text
        assert created["password"] not in text
        assert created["password"] not in (stack.logs / "provisioner.log").read_text()


def test_ten_creates_across_two_workers_all_become_active(tmp_path: Path) -> None:
    with serving(make_stack(tmp_path, provisioners=2)) as stack, stack.client() as http:
        created = [
            http.post("/api/interviews/create", json={**BODY, "candidateName": f"C{n}"}).json() for n in range(10)
        ]
        ids = {c["interviewId"] for c in created}

        def all_active() -> bool:
            statuses = {i["id"]: i["status"] for i in http.get("/api/interviews").json()["interviews"]}
            assert not any(statuses[i] == "error" for i in ids), statuses
            return all(statuses[i] == "active" for i in ids)

        wait_until(all_active, 240, "ten interviews to become active")
        logs = {name: (stack.logs / f"{name}.log").read_text() for name in stack.provisioner_names}
        assert all(any(c["operationId"] in text for c in created) for text in logs.values()), "both workers worked"
        assert stack.destroy_all(timeout_s=120) == []


def test_an_ide_that_never_answers_fails_the_create_and_is_destroyed(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, "silent-workspace", PREQUEL_READY_TIMEOUT_S="3")
    with serving(stack), stack.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        wait_until(lambda: get_operation(http, created["operationId"])["status"] == "failed", 60, "the create to fail")
        assert get_interview(http, created["interviewId"])["status"] == "error"
        text = "\n".join(http.get(f"/api/operations/{created['operationId']}/logs").json()["logs"])
        assert "did not answer" in text and "within 3s" in text
        assert "Cleaning up the partial environment" in text and "Destroy complete!" in text
    assert not (tmp_path / "provisioner" / "terraform" / created["interviewId"]).exists()


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two workers; each create's apply has a slow step (6 s) after its IDE started."""
    stack = make_stack(
        tmp_path_factory.mktemp("slow"), "slow-after-ide-workspace", provisioners=2, TEST_SLOW_APPLY_S="6"
    )
    with serving(stack):
        yield stack


def test_cancel_of_a_running_create_stops_terraform_and_cleans_up(slow: Stack) -> None:
    with slow.client() as http:
        created = create(http)
        op, interview_id = created["operationId"], created["interviewId"]
        wait_until(lambda: in_slow_step(http, op), 30, "the apply to reach its slow step")
        assert len(ide_processes(workspace_of(slow, interview_id))) == 1, "the IDE runs when the cancel comes"
        assert interview_processes(slow, interview_id), "terraform runs when the cancel comes"
        reply = http.post(f"/api/operations/{op}/cancel")
        assert reply.status_code == 200 and reply.json()["success"] is True
        wait_until(lambda: get_operation(http, op)["status"] == "cancelled", 40, "the create to end cancelled")
        wait_until(lambda: get_interview(http, interview_id)["status"] == "destroyed", 40, "the interview destroyed")
        messages = messages_of(log_of(http, op))
    steps = [
        "Cancellation requested",
        SIGINT_LINE,
        "terraform stopped gracefully; its state is saved",
        "Destroying what was partly created",
        "IDE (pid",  # the destroy stopped the IDE
        "Destroy complete!",
    ]
    at = [first_line(messages, step) for step in steps]
    assert at == sorted(at), "\n".join(messages)
    assert ide_processes(workspace_of(slow, interview_id)) == []
    assert_nothing_running(slow, interview_id)
    assert not workdir_of(slow, interview_id).exists()
    assert not workspace_of(slow, interview_id).exists()


def test_destroy_during_a_create_wins(slow: Stack) -> None:
    with slow.client() as http:
        created = create(http)
        wait_until(lambda: in_slow_step(http, created["operationId"]), 30, "the apply to reach its slow step")
        destroy = http.post(f"/api/interviews/{created['interviewId']}/destroy").json()
        wait_until(
            lambda: get_interview(http, created["interviewId"])["status"] == "destroyed", 60, "the interview destroyed"
        )
        assert get_operation(http, created["operationId"])["status"] == "cancelled"
        assert get_operation(http, destroy["operationId"])["status"] == "completed"
    assert_nothing_running(slow, created["interviewId"])
    assert not workspace_of(slow, created["interviewId"]).exists()


def test_a_worker_killed_mid_apply_is_replaced_by_the_other(slow: Stack) -> None:
    with slow.client() as http:
        created = create(http)
        op, interview_id = created["operationId"], created["interviewId"]
        wait_until(lambda: in_slow_step(http, op), 30, "the apply to reach its slow step")
        holder = holder_of(slow, op)
        slow.kill(holder)
        wait_until(lambda: get_interview(http, interview_id)["status"] == "active", 120, "the other worker to finish")
        assert get_operation(http, op)["status"] == "completed"
        assert any(m.startswith("Resuming after worker loss") for m in messages_of(log_of(http, op)))
        survivor = next(name for name in slow.provisioner_names if name != holder)
        assert op in (slow.logs / f"{survivor}.log").read_text(errors="replace")
        workspaces = [p.name for p in (slow.data_dir / "provisioner" / "workspaces").iterdir()]
        assert workspaces.count(interview_id) == 1
        assert len(ide_processes(workspace_of(slow, interview_id))) == 1
        slow.restart(holder)
        http.post(f"/api/interviews/{interview_id}/destroy")
        wait_until(lambda: get_interview(http, interview_id)["status"] == "destroyed", 60, "the interview destroyed")


def test_a_worker_killed_while_the_ide_starts_is_replaced_by_the_other(slow: Stack) -> None:
    with slow.client() as http:
        created = create(http)
        op, interview_id = created["operationId"], created["interviewId"]
        wait_until(lambda: in_slow_step(http, op), 30, "the apply to reach its slow step")
        [ide] = ide_processes(workspace_of(slow, interview_id))
        # a frozen IDE does not answer: the create stays `configuring` after its apply, until the worker is killed
        os.killpg(int(ide), signal.SIGSTOP)
        try:
            wait_until(lambda: get_interview(http, interview_id)["status"] == "configuring", 30, "the apply to end")
            wait_until(lambda: has_line(http, op, "Waiting for the IDE to answer"), 10, "the wait for the IDE")
            holder = holder_of(slow, op)
            slow.kill(holder)
            assert get_interview(http, interview_id)["status"] == "configuring"
        finally:
            os.killpg(int(ide), signal.SIGCONT)
        wait_until(lambda: get_interview(http, interview_id)["status"] == "active", 90, "the other worker to finish")
        assert get_operation(http, op)["status"] == "completed"
        messages = messages_of(log_of(http, op))
        assert first_line(messages, "Resuming after worker loss") < first_line(messages, "IDE answered after")
        survivor = next(name for name in slow.provisioner_names if name != holder)
        assert op in (slow.logs / f"{survivor}.log").read_text(errors="replace")
        assert ide_processes(workspace_of(slow, interview_id)) == [ide], "the same IDE: no second environment"
        slow.restart(holder)
        http.post(f"/api/interviews/{interview_id}/destroy")
        wait_until(lambda: get_interview(http, interview_id)["status"] == "destroyed", 60, "the interview destroyed")
    assert_nothing_running(slow, interview_id)


def test_the_password_never_reaches_a_log_or_an_event(slow: Stack) -> None:
    """The module's slow step prints the password it was given; a destroy then stops it, so that the password is
    also in the output Terraform repeats in its error. Every log line and event has the placeholder instead."""
    with SseClient(slow.url, TOKEN) as events, slow.client() as http:
        events.wait_for(lambda seen: seen.data.get("type") == "connection", 10)
        created = create(http, "Secret Keeper")
        op, interview_id, password = created["operationId"], created["interviewId"], created["password"]
        wait_until(lambda: in_slow_step(http, op), 30, "the apply to reach its slow step")
        destroy = http.post(f"/api/interviews/{interview_id}/destroy").json()["operationId"]
        wait_until(lambda: get_operation(http, destroy)["status"] == "completed", 60, "the destroy to complete")
        create_log, destroy_log = log_of(http, op), log_of(http, destroy)
        # the destroy ended after the create: once its end is on the stream, so is every line of the create
        events.wait_for(
            lambda seen: (
                seen.data.get("type") == "operation_update"
                and seen.data["operation"]["id"] == destroy
                and seen.data["operation"]["status"] == "completed"
            ),
            10,
        )
    with SseClient(slow.url, TOKEN, path=f"/api/operations/{op}/logs") as follow:
        follow.wait_for(lambda seen: seen.data.get("type") == "log_end", 20)
    printed = "(local-exec): slow step; password: ********"  # as the step printed it
    repeated = "Output: slow step; password: ********"  # in the diagnostic of the stopped step
    messages = messages_of(create_log)
    assert any(m.endswith(printed) for m in messages) and any(m.endswith(repeated) for m in messages), messages
    assert password not in "\n".join(create_log + destroy_log)
    streamed = [
        line["line"]
        for seen in events.snapshot()
        if seen.data.get("type") == "operation_log" and seen.data["operationId"] == op
        for line in seen.data["lines"]
    ]
    assert any(line.endswith(printed) for line in streamed) and any(line.endswith(repeated) for line in streamed)
    assert password not in json.dumps([seen.data for seen in events.snapshot()])
    followed = [seen.data["line"] for seen in follow.snapshot() if seen.data.get("type") == "log"]
    assert followed == create_log, "the live log follow gives the same lines"
    for service_log in slow.logs.iterdir():
        assert password not in service_log.read_text(errors="replace"), f"the password is in {service_log.name}"
