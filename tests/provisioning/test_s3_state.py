"""Per-interview Terraform state in S3 (``PREQUEL_TF_STATE=s3://bucket/prefix``, locked with ``use_lockfile``),
against moto's S3 server — a real HTTP endpoint — with the real terraform binary and the whole stack."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from stack import Stack, free_port, running_stack

pytestmark = pytest.mark.e2e

TOKEN = "s3state-token-0123456789abcdef"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[str, object]]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    client.create_bucket(Bucket="interview-states")
    client.create_bucket(Bucket="challenges")
    client.put_object(Bucket="challenges", Key="catalog/rust-async/README.md", Body=b"# Rust async challenge\n")
    client.put_object(Bucket="challenges", Key="catalog/rust-async/src/main.rs", Body=b"fn main() {}\n")
    yield endpoint, client
    server.stop()


def _keys(client: object) -> list[str]:
    listing = client.list_objects_v2(Bucket="interview-states")  # type: ignore[attr-defined]
    return [o["Key"] for o in listing.get("Contents", [])]


def _status(http: object, interview_id: str) -> str:
    interviews = http.get("/api/interviews").json()["interviews"]  # type: ignore[attr-defined]
    return str(next(i["status"] for i in interviews if i["id"] == interview_id))


def test_state_and_challenges_in_s3_for_the_whole_life_of_an_interview(s3: tuple[str, object], tmp_path: Path) -> None:
    endpoint, client = s3
    overrides = {
        "PREQUEL_TF_STATE": "s3://interview-states/portal/states",
        "PREQUEL_CHALLENGES": "s3://challenges/catalog",
        "PREQUEL_S3_ENDPOINT_URL": endpoint,
        **CREDS,
    }
    stack = Stack(data_dir=tmp_path, tokens=f"s3:{TOKEN}", front_port=free_port(), env_overrides=overrides)
    with running_stack(stack), stack.client() as http:
        listed = http.get("/api/challenges").json()["challenges"]
        assert listed == [{"id": "rust-async", "name": "Rust Async"}]
        request = {"candidateName": "S3 State", "challenge": "rust-async", "autoDestroyMinutes": 30}
        reply = http.post("/api/interviews/create", json=request)
        assert reply.status_code == 200, reply.text
        created = reply.json()
        interview_id = created["interviewId"]
        deadline = time.monotonic() + 60
        while _status(http, interview_id) != "active" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _status(http, interview_id) == "active"
        work = tmp_path / "provisioner" / "workspaces" / interview_id / "work"
        assert (work / "README.md").read_text() == "# Rust async challenge\n"
        assert (work / "src" / "main.rs").exists()
        assert not (tmp_path / "provisioner" / "challenge-cache" / interview_id).exists(), "the download is removed"
        key = f"portal/states/{interview_id}/terraform.tfstate"
        assert key in _keys(client)
        assert not (tmp_path / "provisioner" / "terraform" / interview_id / "terraform.tfstate").exists()
        state = client.get_object(Bucket="interview-states", Key=key)["Body"].read()  # type: ignore[attr-defined]
        assert b"terraform_data" in state
        assert created["password"].encode() not in state, "the password never reaches the state"
        # the destroy runs on a worker that never saw this interview (in AWS, each provisioner task has a disk of
        # its own): only the state in S3 tells it what to destroy
        shutil.rmtree(tmp_path / "provisioner" / "terraform" / interview_id)
        ide_pid = int((tmp_path / "provisioner" / "workspaces" / interview_id / "ide.pid").read_text())
        http.post(f"/api/interviews/{interview_id}/destroy")
        deadline = time.monotonic() + 60
        while _status(http, interview_id) != "destroyed" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _status(http, interview_id) == "destroyed"
        assert not [k for k in _keys(client) if k.endswith(".tflock")], "the lock is released"
        leftover = client.get_object(Bucket="interview-states", Key=key)["Body"].read()  # type: ignore[attr-defined]
        assert b'"resources": []' in leftover, "the state in S3 is empty after destroy"
        assert not Path(f"/proc/{ide_pid}").exists(), "the IDE was stopped by the destroy"
        assert not (tmp_path / "provisioner" / "workspaces" / interview_id).exists()
        destroy = next(
            o
            for o in http.get("/api/operations", params={"interviewId": interview_id}).json()["operations"]
            if o["type"] == "destroy"
        )
        log = http.get(f"/api/operations/{destroy['id']}/logs").json()["logs"]
        assert any("Working folder recreated here from the state in S3" in line for line in log), log
