"""The scheduler's sweeps repairing real breakage, through the whole stack (dev/stack.py: every service its own
process, real NATS, Redis, terraform and IDEs): a destroy that keeps failing, a provisioner frozen mid-create,
an environment destroyed behind the portal's back, and (in S3, against moto's server) orphans and drift.

Sweep periods are cut to seconds through the same settings production uses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis
from moto.server import ThreadedMotoServer
from stack import REPO, Stack, free_port, running_stack

from tests.e2e.sse import Seen, SseClient

pytestmark = pytest.mark.e2e

TOKEN = "sweeps-token-0123456789abcdef"
FIXTURES = REPO / "tests" / "fixtures" / "modules"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}
SHORT = {
    "PREQUEL_ENV": "development",
    "PREQUEL_AUTO_DESTROY_MIN_MINUTES": "1",
    "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000",
    "PREQUEL_RATE_LIMIT_QUERIES_PER_MINUTE": "100000",
    "PREQUEL_READY_TIMEOUT_S": "60",
    "PREQUEL_SWEEP_INTERVAL_S": "1",
    "PREQUEL_OVERDUE_GRACE_S": "1",
    "PREQUEL_DESTROY_RETRY_S": "1",
    # a worker's lease lives ack_wait (renewed every ack_wait/3); an operation is hung after hung_after of silence
    "PREQUEL_ACK_WAIT_S": "4",
    "PREQUEL_HUNG_AFTER_S": "8",
}


def _stack(data_dir: Path, module: str = "faulty-workspace", **env: str) -> Stack:
    overrides = {**SHORT, "PREQUEL_TF_MODULE": str(FIXTURES / module), **env}
    return Stack(data_dir=data_dir, tokens=f"sweeps:{TOKEN}", front_port=free_port(), env_overrides=overrides)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack on the local workspace with switchable faults: a slow step (3 s) and injectable destroy failures."""
    with running_stack(_stack(tmp_path_factory.mktemp("sweeps"), TEST_SLOW_APPLY_S="3")) as stack:
        yield stack


def wait_until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def interview_of(http: httpx.Client, interview_id: str) -> dict[str, Any]:
    return next(i for i in http.get("/api/interviews").json()["interviews"] if i["id"] == interview_id)


def operations_of(http: httpx.Client, interview_id: str) -> list[dict[str, Any]]:
    """Oldest first (the API lists the newest first)."""
    ops = http.get("/api/operations", params={"interviewId": interview_id}).json()["operations"]
    return list(reversed(ops))


def log_of(http: httpx.Client, operation_id: str) -> str:
    return "\n".join(http.get(f"/api/operations/{operation_id}/logs").json()["logs"])


def create(http: httpx.Client, name: str, minutes: int = 30) -> dict[str, Any]:
    reply = http.post(
        "/api/interviews/create", json={"candidateName": name, "challenge": "python", "autoDestroyMinutes": minutes}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def scheduler_events(sse: SseClient, interview_id: str) -> list[dict[str, Any]]:
    return [
        s.data["event"]
        for s in sse.snapshot()
        if s.data.get("type") == "scheduler_event" and s.data["event"]["interviewId"] == interview_id
    ]


def is_scheduler_event(kind: str, interview_id: str) -> Callable[[Seen], bool]:
    def check(seen: Seen) -> bool:
        event = seen.data.get("event") or {}
        return seen.data.get("type") == "scheduler_event" and event == {
            **event,
            "type": kind,
            "interviewId": interview_id,
        }

    return check


def processes_in(*folders: Path) -> list[str]:
    """Live processes whose command line names one of ``folders`` (the IDE names its workspace)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if "Z (zombie)" not in state and any(str(folder) in cmdline for folder in folders):
            found.append(f"{proc.name} {cmdline.replace(chr(0), ' ')}")
    return found


def assert_nothing_left(stack: Stack, interview_id: str) -> None:
    workspace = stack.data_dir / "provisioner" / "workspaces" / interview_id
    workdir = stack.data_dir / "provisioner" / "terraform" / interview_id
    wait_until(lambda: not processes_in(workspace, workdir), 10, f"no process left in {workspace}")
    assert not workspace.exists(), "the workspace files are gone"
    assert not workdir.exists(), "the Terraform working folder (and its state) is gone"


def test_a_destroy_that_keeps_failing_is_retried_until_the_interview_is_gone(faulty: Stack) -> None:
    """The auto-destroy at the deadline fails, and so does the first overdue retry; each sweep round after a failure
    makes a new destroy (a command the provisioner has not seen), and the third attempt destroys everything."""
    with faulty.client() as http, SseClient(faulty.url, TOKEN) as sse:
        created = create(http, "Stubborn Destroy", minutes=1)
        interview_id = created["interviewId"]
        wait_until(lambda: interview_of(http, interview_id)["status"] == "active", 60, "the interview active")
        fault = faulty.data_dir / "provisioner" / "workspaces" / f"{interview_id}.fail-destroy"
        fault.write_text("2")  # the next two destroys fail
        wait_until(lambda: interview_of(http, interview_id)["status"] == "destroyed", 150, "the interview destroyed")

        destroys = [op for op in operations_of(http, interview_id) if op["type"] == "destroy"]
        assert [op["status"] for op in destroys] == ["failed", "failed", "completed"]
        assert len({op["id"] for op in destroys}) == 3
        first, retry, last = (op["id"] for op in destroys)
        for failed in (first, retry):
            assert "injected destroy failure" in log_of(http, failed)
            assert "the state is kept for a retry" in log_of(http, failed)
        assert "Overdue: auto-destroy was due at" in log_of(http, retry)
        assert f"retrying after destroy {first} failed" in log_of(http, retry)
        assert f"retrying after destroy {retry} failed" in log_of(http, last)
        assert "✅ Interview destroyed" in log_of(http, last)
        sse.wait_for(
            lambda s: is_scheduler_event("overdue_destroy", interview_id)(s) and s.data["event"]["operationId"] == last
        )
        kinds = [(e["type"], e["operationId"]) for e in scheduler_events(sse, interview_id)]
        assert kinds == [("auto_destroy", first), ("overdue_destroy", retry), ("overdue_destroy", last)]
        # one "Overdue" line per attempt, however many rounds ran while each one was under way
        assert sum(log_of(http, op_id).count("Overdue:") for op_id in (first, retry, last)) == 2
    assert not fault.exists()
    assert_nothing_left(faulty, interview_id)


def test_a_create_whose_only_worker_froze_is_failed_and_cleaned_up(faulty: Stack) -> None:
    """SIGSTOP the only provisioner mid-create: its lease expires and its heartbeat stops, so the hung sweep fails
    the create, marks the interview error and queues a cleanup destroy, which runs once a provisioner is back."""
    with faulty.client() as http, SseClient(faulty.url, TOKEN) as sse:
        created = create(http, "Frozen Worker")
        interview_id, create_id = created["interviewId"], created["operationId"]
        wait_until(lambda: "slow step" in log_of(http, create_id), 60, "the apply to reach its slow step")
        provisioner = faulty.procs["provisioner"].popen
        assert provisioner is not None
        provisioner.send_signal(signal.SIGSTOP)
        try:
            sse.wait_for(is_scheduler_event("hung_operation", interview_id), timeout_s=60)
            operation = http.get(f"/api/operations/{create_id}").json()
            assert operation["status"] == "failed"
            assert "lease expired" in operation["result"]["error"]
            assert "Hung" in log_of(http, create_id) and "marked failed" in log_of(http, create_id)
            assert interview_of(http, interview_id)["status"] == "error"
            [cleanup] = [op for op in operations_of(http, interview_id) if op["type"] == "destroy"]
            assert cleanup["status"] == "pending", "queued: no provisioner is running"
            assert cleanup["createdBy"] == "scheduler"
            [event] = [e for e in scheduler_events(sse, interview_id) if e["type"] == "hung_operation"]
            assert event["operationId"] == create_id
        finally:
            faulty.kill("provisioner")  # SIGKILL works on a stopped process; its terraform ended meanwhile
        faulty.restart("provisioner")
        wait_until(lambda: interview_of(http, interview_id)["status"] == "destroyed", 90, "the cleanup destroy")
        cleanup = http.get(f"/api/operations/{cleanup['id']}").json()
        assert cleanup["status"] == "completed"
        assert http.get(f"/api/operations/{create_id}").json()["status"] == "failed", "the redelivery was ignored"
    assert_nothing_left(faulty, interview_id)


def _terraform_destroy_behind_the_portals_back(stack: Stack, interview_id: str, **env: str) -> None:
    """What an operator running ``terraform destroy`` by hand in the interview's working folder does."""
    provisioner_dir = stack.data_dir / "provisioner"
    result = subprocess.run(
        ["terraform", "destroy", "-auto-approve", "-input=false", "-no-color", "-var-file=terraform.tfvars.json"],
        cwd=provisioner_dir / "terraform" / interview_id,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PREQUEL_")},
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "TF_CLI_CONFIG_FILE": str(provisioner_dir / "terraformrc"),
            "TF_IN_AUTOMATION": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_active_interview_destroyed_behind_the_portals_back_is_drift(faulty: Stack) -> None:
    with faulty.client() as http, SseClient(faulty.url, TOKEN) as sse:
        created = create(http, "Drifted Away")
        interview_id, create_id = created["interviewId"], created["operationId"]
        wait_until(lambda: interview_of(http, interview_id)["status"] == "active", 60, "the interview active")

        _terraform_destroy_behind_the_portals_back(faulty, interview_id)

        sse.wait_for(is_scheduler_event("drift", interview_id), timeout_s=30)
        assert interview_of(http, interview_id)["status"] == "error"
        assert "Drift: the interview was active but its infrastructure is gone" in log_of(http, create_id)
        [event] = [e for e in scheduler_events(sse, interview_id) if e["type"] == "drift"]
        assert event["operationId"] == create_id
        # an error interview can still be destroyed (nothing left to destroy: the folder goes)
        assert http.post(f"/api/interviews/{interview_id}/destroy").status_code == 200
        wait_until(lambda: interview_of(http, interview_id)["status"] == "destroyed", 60, "the interview destroyed")
    assert_nothing_left(faulty, interview_id)


# -- states in S3 ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[tuple[str, Any]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    client.create_bucket(Bucket="sweep-states")
    yield endpoint, client
    server.stop()


def _state_in_s3(client: Any, interview_id: str) -> bytes:
    key = f"portal/{interview_id}/terraform.tfstate"
    return client.get_object(Bucket="sweep-states", Key=key)["Body"].read()  # type: ignore[no-any-return]


def test_orphan_and_drift_sweeps_with_states_in_s3(moto_s3: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, client = moto_s3
    s3_env = {"PREQUEL_TF_STATE": "s3://sweep-states/portal", "PREQUEL_S3_ENDPOINT_URL": endpoint, **AWS}
    with (
        running_stack(_stack(tmp_path, "slow-workspace", TEST_SLOW_APPLY_S="0", **s3_env)) as stack,
        stack.client() as http,
        SseClient(stack.url, TOKEN) as sse,
    ):
        orphaned, drifted = create(http, "Orphan In S3"), create(http, "Drift In S3")
        for made in (orphaned, drifted):
            wait_until(lambda m=made: interview_of(http, m["interviewId"])["status"] == "active", 90, "active")
        orphan_id, drift_id = orphaned["interviewId"], drifted["interviewId"]
        assert b'"terraform_data"' in _state_in_s3(client, orphan_id)
        assert not (tmp_path / "provisioner" / "terraform" / orphan_id / "terraform.tfstate").exists()

        # the orphan: its record is lost, its state in S3 still holds a running IDE
        store = redis.Redis.from_url(f"redis://127.0.0.1:{stack.redis_port}/0")
        store.delete(f"prequel:interview:{orphan_id}")
        store.zrem("prequel:interviews", orphan_id)
        store.zrem("prequel:timers", f"destroy:{orphan_id}")
        store.close()
        # the drift: destroyed by hand, its state in S3 now empty
        _terraform_destroy_behind_the_portals_back(stack, drift_id, **AWS)

        sse.wait_for(is_scheduler_event("drift", drift_id), timeout_s=30)
        assert interview_of(http, drift_id)["status"] == "error"
        assert "Drift" in log_of(http, drifted["operationId"])
        sse.wait_for(is_scheduler_event("orphan_destroy", orphan_id), timeout_s=30)
        cleanups = [op for op in operations_of(http, orphan_id) if op["type"] == "destroy"]
        assert [op["createdBy"] for op in cleanups] == ["scheduler"]
        wait_until(
            lambda: http.get(f"/api/operations/{cleanups[0]['id']}").json()["status"] == "completed",
            60,
            "the orphan's cleanup",
        )
        assert b'"resources": []' in _state_in_s3(client, orphan_id), "the orphan's state in S3 is empty"
        assert "Orphaned infrastructure destroyed" in log_of(http, cleanups[0]["id"])
        assert http.post(f"/api/interviews/{drift_id}/destroy").status_code == 200
        wait_until(lambda: interview_of(http, drift_id)["status"] == "destroyed", 60, "the drifted one destroyed")
        for interview_id in (orphan_id, drift_id):
            assert_nothing_left(stack, interview_id)
