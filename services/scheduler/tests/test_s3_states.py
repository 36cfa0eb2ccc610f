"""The orphan and drift sweeps over states in S3 (``PREQUEL_TF_STATE=s3://...``), against moto's server mode: a
real HTTP S3 endpoint on 127.0.0.1, boto3 unpatched, with real Redis and NATS."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from nats.js import JetStreamContext
from prequel_common.bus import CommandPublisher, EventPublisher
from prequel_common.ids import derived_operation_id, new_interview_id, new_operation_id
from prequel_common.models import Interview, Operation
from prequel_common.recorder import Recorder
from prequel_common.status import InterviewStatus, OperationStatus, OperationType
from prequel_common.store import Store
from prequel_common.tfstate import S3States, StatesUnavailable
from prequel_scheduler.sweeps import JetStreamQueue, Sweeper, SweepRules

BUCKET = "interview-states"
LIVE = {
    "version": 4,
    "resources": [{"mode": "managed", "type": "terraform_data", "name": "ide", "instances": [{"attributes": {}}]}],
}
EMPTY: dict[str, Any] = {"version": 4, "resources": []}
ONLY_DATA = {
    "version": 4,
    "resources": [{"mode": "data", "type": "aws_caller_identity", "name": "me", "instances": [{"attributes": {}}]}],
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(endpoint: str) -> Iterator[Any]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _put(s3: Any, key: str, state: dict[str, Any]) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(state).encode(), ServerSideEncryption="AES256")


def test_s3_states_lists_the_states_that_hold_resources(s3: Any, endpoint: str) -> None:
    live, empty, data_only = new_interview_id(), new_interview_id(), new_interview_id()
    _put(s3, f"portal/states/{live}/terraform.tfstate", LIVE)
    _put(s3, f"portal/states/{empty}/terraform.tfstate", EMPTY)
    _put(s3, f"portal/states/{data_only}/terraform.tfstate", ONLY_DATA)
    s3.put_object(Bucket=BUCKET, Key=f"portal/states/{empty}/terraform.tfstate.tflock", Body=b"{}")  # a lock
    _put(s3, f"portal/other/{new_interview_id()}/terraform.tfstate", LIVE)  # outside the prefix
    _put(s3, "portal/states/notes/terraform.tfstate", LIVE)  # not an interview's
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    reads: list[str] = []
    client.meta.events.register("before-call.s3.GetObject", lambda params, **_: reads.append(params["url_path"]))
    states = S3States(f"s3://{BUCKET}/portal/states/", client=client)

    assert states.with_resources() == [live]
    assert len(reads) == 3, "the three states were read; the lock and the other objects were not"
    assert states.has_resources(live) and not states.has_resources(empty)
    assert not states.has_resources(new_interview_id()), "no state at all holds nothing"

    # a state that changes is read again (its ETag changed); one that did not is not
    reads.clear()
    _put(s3, f"portal/states/{live}/terraform.tfstate", EMPTY)
    _put(s3, f"portal/states/{empty}/terraform.tfstate", LIVE)
    assert states.with_resources() == [empty]
    assert sorted(reads) == sorted(f"/portal/states/{i}/terraform.tfstate" for i in (live, empty))
    s3.delete_object(Bucket=BUCKET, Key=f"portal/states/{empty}/terraform.tfstate")
    assert states.with_resources() == []


def test_s3_states_at_the_bucket_root(s3: Any, endpoint: str) -> None:
    live = new_interview_id()
    _put(s3, f"{live}/terraform.tfstate", LIVE)
    assert S3States(f"s3://{BUCKET}", endpoint_url=endpoint).with_resources() == [live]


def test_an_unreadable_bucket_is_no_view(endpoint: str) -> None:
    with pytest.raises(StatesUnavailable):
        S3States("s3://no-such-bucket/states", endpoint_url=endpoint).with_resources()
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        S3States("/var/states")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def _active(store: Store) -> tuple[Interview, Operation]:
    created = _now() - timedelta(minutes=5)
    interview = Interview(
        id=new_interview_id(),
        candidate_name="In S3",
        challenge="python",
        status=InterviewStatus.ACTIVE,
        password="pw0123456789",
        created_at=created,
        auto_destroy_at=created + timedelta(hours=1),
        auto_destroy_minutes=60,
        create_operation_id=new_operation_id(),
    )
    create = Operation(
        id=interview.create_operation_id or "",
        type=OperationType.CREATE,
        status=OperationStatus.COMPLETED,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge="python",
        created_at=created,
    )
    await store.create_interview(interview, create)
    await store.redis.srem(store.keys.active_operations, create.id)
    return interview, create


async def test_orphan_and_drift_sweeps_read_the_states_in_s3(
    s3: Any, endpoint: str, store: Store, js: JetStreamContext
) -> None:
    recorder = Recorder(store, EventPublisher(js))
    healthy, _ = await _active(store)
    drifted, drifted_create = await _active(store)
    orphan = new_interview_id()
    _put(s3, f"states/{healthy.id}/terraform.tfstate", LIVE)
    _put(s3, f"states/{drifted.id}/terraform.tfstate", EMPTY)  # destroyed behind the portal's back
    _put(s3, f"states/{orphan}/terraform.tfstate", LIVE)  # no interview record at all
    states = S3States(f"s3://{BUCKET}/states", endpoint_url=endpoint)
    sweeper = Sweeper(recorder, CommandPublisher(js), SweepRules(), states, JetStreamQueue(js))

    repairs = await sweeper.run_once(lease_s=1)

    assert repairs is not None
    assert [(r.kind, r.interview_id) for r in repairs] == [("orphan_destroy", orphan), ("drift", drifted.id)]
    cleanup = await store.operations.get(derived_operation_id("orphan", orphan, "0"))
    assert cleanup is not None and cleanup.type == OperationType.DESTROY
    flagged = await store.interviews.get(drifted.id)
    assert flagged is not None and flagged.status == InterviewStatus.ERROR
    assert any("Drift" in line for line in await store.logs.read(drifted_create.id))
    kept = await store.interviews.get(healthy.id)
    assert kept is not None and kept.status == InterviewStatus.ACTIVE


async def test_sweeps_skip_states_they_cannot_read(endpoint: str, store: Store, js: JetStreamContext) -> None:
    recorder = Recorder(store, EventPublisher(js))
    active, _ = await _active(store)
    states = S3States("s3://no-such-bucket/states", endpoint_url=endpoint)
    sweeper = Sweeper(recorder, CommandPublisher(js), SweepRules(), states, JetStreamQueue(js))
    assert await sweeper.run_once(lease_s=1) == []
    kept = await store.interviews.get(active.id)
    assert kept is not None and kept.status == InterviewStatus.ACTIVE


def test_a_stale_lock_is_cleared_and_a_fresh_one_kept(s3: Any, endpoint: str) -> None:
    """The provisioner, taking over from a dead worker, removes the use_lockfile lock that worker left, but never
    one younger than the lease (its holder may be alive)."""
    interview_id = new_interview_id()
    states = S3States(f"s3://{BUCKET}/portal/states", endpoint_url=endpoint, region="us-east-1")
    lock = f"portal/states/{interview_id}/terraform.tfstate.tflock"
    assert not states.clear_stale_lock(interview_id, older_than_s=0), "no lock: nothing to clear"
    s3.put_object(Bucket=BUCKET, Key=lock, Body=b'{"ID": "dead-worker"}')
    assert not states.clear_stale_lock(interview_id, older_than_s=3600)
    assert s3.head_object(Bucket=BUCKET, Key=lock)
    assert states.clear_stale_lock(interview_id, older_than_s=0)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=lock)
