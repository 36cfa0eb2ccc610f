"""Creates whose apply does not give way to a cancel (tests/fixtures/modules/stubborn-workspace), through the whole
stack with the real terraform binary: a terraform deaf to SIGINT is killed after the grace, and nothing a step
started outlives the cancel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stack import Stack

from tests.provisioning.support import (
    SIGINT_LINE,
    assert_nothing_running,
    create,
    first_line,
    get_interview,
    get_operation,
    has_line,
    interview_processes,
    kill_leftovers,
    log_of,
    make_stack,
    messages_of,
    serving,
    wait_until,
    workdir_of,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stubborn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Applies that do not give way to a cancel; 2 s of grace between SIGINT and SIGKILL."""
    stack = make_stack(tmp_path_factory.mktemp("stubborn"), "stubborn-workspace", PREQUEL_CANCEL_GRACE_S="2")
    with serving(stack):
        yield stack


def test_a_terraform_deaf_to_sigint_is_killed_after_the_grace(stubborn: Stack) -> None:
    with stubborn.client() as http:
        created = create(http, "Wedged Terraform")
        op, interview_id = created["operationId"], created["interviewId"]
        wait_until(lambda: has_line(http, op, "stubborn step: freezing terraform"), 30, "the apply to reach its step")

        def frozen() -> bool:  # terraform stopped (state T): it cannot act on a SIGINT
            return any(
                state.startswith("T ") and "terraform apply" in state
                for state in interview_processes(stubborn, interview_id).values()
            )

        wait_until(frozen, 10, "terraform to be frozen")
        assert http.post(f"/api/operations/{op}/cancel").status_code == 200
        wait_until(lambda: get_operation(http, op)["status"] == "cancelled", 30, "the create to end cancelled")
        wait_until(lambda: get_interview(http, interview_id)["status"] == "destroyed", 30, "the interview destroyed")
        messages = messages_of(log_of(http, op))
    sigint = first_line(messages, f"WARN: {SIGINT_LINE}")
    killed = first_line(messages, "WARN: terraform did not stop within 2s: killed (SIGKILL)")
    cleanup = first_line(messages, "Destroying what was partly created")
    assert sigint < killed < cleanup < first_line(messages, "Destroy complete!")
    assert not any("stopped gracefully" in m for m in messages)
    assert_nothing_running(stubborn, interview_id)
    assert not workdir_of(stubborn, interview_id).exists()


def test_a_cancel_leaves_nothing_that_terraform_started_running(stubborn: Stack) -> None:
    with stubborn.client() as http:
        created = create(http, "Orphan Maker")
        op, interview_id = created["operationId"], created["interviewId"]
        wait_until(lambda: has_line(http, op, "stubborn step: started a child"), 30, "the apply to reach its step")
        assert http.post(f"/api/operations/{op}/cancel").status_code == 200
        wait_until(lambda: get_operation(http, op)["status"] == "cancelled", 30, "the create to end cancelled")
        wait_until(lambda: get_interview(http, interview_id)["status"] == "destroyed", 30, "the interview destroyed")
        messages = messages_of(log_of(http, op))
    assert first_line(messages, SIGINT_LINE) < first_line(messages, "terraform stopped gracefully")
    try:
        assert_nothing_running(stubborn, interview_id)
    finally:
        kill_leftovers(stubborn.data_dir)
