"""Provisioner runs under pressure, through the whole stack with the real terraform binary:
cancel, destroy during a create, a failing module, a worker killed mid-apply, and many creates on two workers."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack import REPO, Stack, free_port, running_stack

pytestmark = pytest.mark.e2e

TOKEN = "runs-token-0123456789abcdef"
FIXTURES = REPO / "tests" / "fixtures" / "modules"
BODY = {"candidateName": "Under Pressure", "challenge": "python", "autoDestroyMinutes": 30}


def _stack(tmp: Path, module: str | None = None, provisioners: int = 1, **env: str) -> Stack:
    overrides = {
        "PREQUEL_ENV": "development",
        "PREQUEL_CANCEL_GRACE_S": "5",
        "PREQUEL_ACK_WAIT_S": "6",
        "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000",
        "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000",
        **env,
    }
    if module:
        overrides["PREQUEL_TF_MODULE"] = str(FIXTURES / module)
    return Stack(
        data_dir=tmp, tokens=f"runs:{TOKEN}", front_port=free_port(), env_overrides=overrides, provisioners=provisioners
    )


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _stack(tmp_path_factory.mktemp("slow"), "slow-workspace", provisioners=2, TEST_SLOW_APPLY_S="20")
    with running_stack(stack):
        yield stack


def _op(http: httpx.Client, operation_id: str) -> dict[str, object]:
    reply = http.get(f"/api/operations/{operation_id}")
    assert reply.status_code == 200
    return reply.json()  # type: ignore[no-any-return]


def _interview(http: httpx.Client, interview_id: str) -> dict[str, object]:
    return next(i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)


def _wait(check, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _in_slow_step(http: httpx.Client, operation_id: str) -> bool:
    return any("slow step" in line for line in http.get(f"/api/operations/{operation_id}/logs").json()["logs"])


def _ide_processes(data_dir: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(data_dir) in cmdline and "jupyterlab" in cmdline:
                found.append(proc.name)
    return found


def test_cancel_of_a_running_create_stops_terraform_and_cleans_up(slow: Stack) -> None:
    with slow.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        op = created["operationId"]
        _wait(lambda: _in_slow_step(http, op), 30, "the apply to reach its slow step")
        reply = http.post(f"/api/operations/{op}/cancel")
        assert reply.status_code == 200 and reply.json()["success"] is True
        _wait(lambda: _op(http, op)["status"] == "cancelled", 40, "the create to end cancelled")
        _wait(lambda: _interview(http, created["interviewId"])["status"] == "destroyed", 40, "the interview destroyed")
        logs = http.get(f"/api/operations/{op}/logs").json()["logs"]
    text = "\n".join(logs)
    assert "Cancellation requested" in text and "sent SIGINT to terraform" in text
    assert "Destroying what was partly created" in text and "Destroy complete!" in text
    assert not (slow.data_dir / "provisioner" / "terraform" / created["interviewId"]).exists()
    assert not (slow.data_dir / "provisioner" / "workspaces" / created["interviewId"]).exists()


def test_destroy_during_a_create_wins(slow: Stack) -> None:
    with slow.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        _wait(lambda: _in_slow_step(http, created["operationId"]), 30, "the apply to reach its slow step")
        destroy = http.post(f"/api/interviews/{created['interviewId']}/destroy").json()
        _wait(lambda: _interview(http, created["interviewId"])["status"] == "destroyed", 60, "the interview destroyed")
        assert _op(http, created["operationId"])["status"] == "cancelled"
        assert _op(http, destroy["operationId"])["status"] == "completed"
    assert not (slow.data_dir / "provisioner" / "workspaces" / created["interviewId"]).exists()


def test_a_worker_killed_mid_apply_is_replaced_by_the_other(slow: Stack) -> None:
    with slow.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        op = created["operationId"]
        _wait(lambda: _in_slow_step(http, op), 30, "the apply to reach its slow step")
        holder = next(
            name for name in slow.provisioner_names if op in (slow.logs / f"{name}.log").read_text(errors="replace")
        )
        popen = slow.procs[holder].popen
        assert popen is not None
        popen.send_signal(signal.SIGKILL)
        popen.wait()
        _wait(lambda: _interview(http, created["interviewId"])["status"] == "active", 120, "the other worker to finish")
        assert _op(http, op)["status"] == "completed"
        survivor = next(name for name in slow.provisioner_names if name != holder)
        assert op in (slow.logs / f"{survivor}.log").read_text(errors="replace")
        workspaces = [p.name for p in (slow.data_dir / "provisioner" / "workspaces").iterdir()]
        assert workspaces.count(created["interviewId"]) == 1
        assert len(_ide_processes(slow.data_dir / "provisioner" / "workspaces" / created["interviewId"])) == 1
        slow.restart(holder)
        http.post(f"/api/interviews/{created['interviewId']}/destroy")
        _wait(lambda: _interview(http, created["interviewId"])["status"] == "destroyed", 60, "the interview destroyed")


def test_a_failing_module_fails_the_operation_with_a_readable_diagnostic(tmp_path: Path) -> None:
    with running_stack(_stack(tmp_path, "failing-workspace")) as stack, stack.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        _wait(lambda: _op(http, created["operationId"])["status"] == "failed", 60, "the create to fail")
        assert _interview(http, created["interviewId"])["status"] == "error"
        operation = _op(http, created["operationId"])
        assert operation["result"] == {"success": False, "error": "terraform apply failed (exit code 1)"}
        text = "\n".join(http.get(f"/api/operations/{created['operationId']}/logs").json()["logs"])
        assert "ERROR: Error: local-exec provisioner error" in text
        assert "the challenge image could not be pulled" in text
        assert created["password"] not in text
        assert created["password"] not in (stack.logs / "provisioner.log").read_text()


def test_ten_creates_across_two_workers_all_become_active(tmp_path: Path) -> None:
    with running_stack(_stack(tmp_path, provisioners=2)) as stack, stack.client() as http:
        created = [
            http.post("/api/interviews/create", json={**BODY, "candidateName": f"C{n}"}).json() for n in range(10)
        ]
        ids = {c["interviewId"] for c in created}

        def all_active() -> bool:
            statuses = {i["id"]: i["status"] for i in http.get("/api/interviews").json()["interviews"]}
            assert not any(statuses[i] == "error" for i in ids), statuses
            return all(statuses[i] == "active" for i in ids)

        _wait(all_active, 240, "ten interviews to become active")
        logs = {name: (stack.logs / f"{name}.log").read_text() for name in stack.provisioner_names}
        assert all(any(c["operationId"] in text for c in created) for text in logs.values()), "both workers worked"
        assert stack.destroy_all(timeout_s=120) == []


def test_an_ide_that_never_answers_fails_the_create_and_is_destroyed(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "silent-workspace", PREQUEL_READY_TIMEOUT_S="3")
    with running_stack(stack), stack.client() as http:
        created = http.post("/api/interviews/create", json=BODY).json()
        _wait(lambda: _op(http, created["operationId"])["status"] == "failed", 60, "the create to fail")
        assert _interview(http, created["interviewId"])["status"] == "error"
        text = "\n".join(http.get(f"/api/operations/{created['operationId']}/logs").json()["logs"])
        assert "did not answer" in text and "within 3s" in text
        assert "Cleaning up the partial environment" in text and "Destroy complete!" in text
    assert not (tmp_path / "provisioner" / "terraform" / created["interviewId"]).exists()
