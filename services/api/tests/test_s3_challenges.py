"""S3Challenges against moto's server mode: a real HTTP S3 endpoint on 127.0.0.1, boto3 unpatched.

A bucket that does not exist is reported as ``ChallengeSourceUnavailable`` (a run-time configuration problem with a
hint), not ``ValueError`` (kept for a malformed URI, raised at construction).
"""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    PartialCredentialsError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from moto.server import ThreadedMotoServer
from prequel_common.challenges_s3 import ChallengeSourceUnavailable, S3Challenges, parse_s3_uri

_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


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
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials from the environment only: no ~/.aws files, no instance metadata lookups."""
    for name in _AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


#: One session for every client the tests build with explicit keys: a session caches the service models, so its
#: second and later clients take milliseconds instead of ~0.15 s. (S3Challenges' default client uses its own.)
_SESSION = boto3.session.Session()


def _client(endpoint: str, service: str = "s3", key: str = "testing", secret: str = "testing", **kw: Any) -> Any:
    return _SESSION.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        **kw,
    )


@pytest.fixture(scope="module")
def admin(endpoint: str) -> Any:
    """The tests' own client, to set buckets up."""
    return _client(endpoint)


def _bucket(s3: Any, objects: dict[str, bytes]) -> str:
    name = f"challenges-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for key, body in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return name


LAYOUT = {
    "catalog/python/README.md": b"# Python\n",
    "catalog/python/src/main.py": b"print('hello')\n",
    "catalog/data-science/task.md": b"analyse this\n",
    "catalog/Bad_Name/task.md": b"invalid id\n",
    "catalog/notes.txt": b"a top-level file, not a challenge\n",
    "catalogue/go/task.md": b"sibling prefix, outside\n",
    "other/rust/task.md": b"outside the prefix\n",
}


@pytest.fixture(scope="module")
def layout_bucket(admin: Any) -> str:
    return _bucket(admin, LAYOUT)


def _never_called() -> Any:
    raise AssertionError("no S3 client should be built")


# -- URI parsing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://my-bucket", ("my-bucket", "")),
        ("s3://my-bucket/", ("my-bucket", "")),
        ("s3://my-bucket/catalog", ("my-bucket", "catalog/")),
        ("s3://my-bucket/catalog/", ("my-bucket", "catalog/")),
        ("s3://my.bucket/a/b/c/", ("my.bucket", "a/b/c/")),
    ],
)
def test_parse_uri(uri: str, expected: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "my-bucket/catalog",
        "https://my-bucket/catalog",
        "s3:///catalog",
        "s3://My_Bucket/catalog",
        "s3://ab",
        "s3://user@my-bucket/x",
        "s3://my-bucket:9000/x",
        "s3://my-bucket/a//b",
        "s3://my-bucket/../x",
        "s3://my-bucket/x?versionId=1",
        "s3://my-bucket/x#frag",
    ],
)
def test_invalid_uri_is_rejected(uri: str) -> None:
    with pytest.raises(ValueError, match="URI"):
        S3Challenges(uri, client_factory=_never_called)


def test_construction_touches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    S3Challenges("s3://my-bucket/catalog", client_factory=lambda: built.append("client"))
    assert built == []
    # The default client is lazy too: no credentials and no endpoint are needed just to construct one.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    S3Challenges("s3://my-bucket", endpoint_url=f"http://127.0.0.1:{_free_port()}")


# -- listing and lookup -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["catalog", "catalog/"])
async def test_list_ids_under_prefix(endpoint: str, layout_bucket: str, suffix: str) -> None:
    source = S3Challenges(f"s3://{layout_bucket}/{suffix}", endpoint_url=endpoint)
    assert await source.list_ids() == ["data-science", "python"]


@pytest.mark.parametrize("suffix", ["", "/"])
async def test_list_ids_without_prefix(endpoint: str, admin: Any, suffix: str) -> None:
    bucket = _bucket(
        admin,
        {
            "python/task.md": b"x",
            "go/task.md": b"x",
            "go/more/deep.md": b"x",
            "Bad_Name/task.md": b"x",
            "-leading-dash/task.md": b"x",
            "README.md": b"top-level file",
        },
    )
    source = S3Challenges(f"s3://{bucket}{suffix}", endpoint_url=endpoint)
    assert await source.list_ids() == ["go", "python"]


async def test_list_ids_of_empty_prefix(endpoint: str, layout_bucket: str) -> None:
    source = S3Challenges(f"s3://{layout_bucket}/nothing-here", endpoint_url=endpoint)
    assert await source.list_ids() == []


async def test_exists(endpoint: str, layout_bucket: str) -> None:
    source = S3Challenges(f"s3://{layout_bucket}/catalog", endpoint_url=endpoint)
    assert await source.exists("python")
    assert await source.exists("data-science")
    assert not await source.exists("rust")  # only outside the prefix
    assert not await source.exists("go")  # only under the sibling prefix "catalogue/"
    assert not await source.exists("notes.txt")
    assert not await source.exists("pyth")  # a prefix of a challenge is not a challenge


@pytest.mark.parametrize("bad_id", ["../etc", "Bad_Name", "", "a/b", "-x", "x" * 64, "python/"])
async def test_exists_rejects_invalid_ids_without_s3(bad_id: str) -> None:
    source = S3Challenges("s3://my-bucket/catalog", client_factory=_never_called)
    assert await source.exists(bad_id) is False


# -- download ---------------------------------------------------------------------------------------------------


async def test_download(endpoint: str, layout_bucket: str, tmp_path: Path) -> None:
    source = S3Challenges(f"s3://{layout_bucket}/catalog/", endpoint_url=endpoint)
    dest = tmp_path / "work" / "python"  # does not exist yet
    assert await source.download("python", dest) == 2
    assert (dest / "README.md").read_bytes() == LAYOUT["catalog/python/README.md"]
    assert (dest / "src" / "main.py").read_bytes() == LAYOUT["catalog/python/src/main.py"]
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == ["README.md", "src/main.py"]


async def test_download_large_object_and_folder_marker(endpoint: str, admin: Any, tmp_path: Path) -> None:
    big = bytes(range(256)) * 12_000  # ~3 MB, several copy chunks
    bucket = _bucket(admin, {"java/data.bin": big, "java/empty-dir/": b"", "java/": b""})
    source = S3Challenges(f"s3://{bucket}", endpoint_url=endpoint)
    assert await source.download("java", tmp_path) == 1
    assert (tmp_path / "data.bin").read_bytes() == big
    assert (tmp_path / "empty-dir").is_dir()


@pytest.mark.parametrize("evil_key", ["evil/../escape.txt", "evil/a/../../escape.txt", "evil//etc/passwd"])
async def test_download_refuses_escaping_keys(endpoint: str, admin: Any, tmp_path: Path, evil_key: str) -> None:
    bucket = _bucket(admin, {"evil/fine.txt": b"fine", evil_key: b"pwned"})
    source = S3Challenges(f"s3://{bucket}", endpoint_url=endpoint)
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="refusing S3 key"):
        await source.download("evil", dest)
    assert not dest.exists()  # every key is checked before anything is written
    assert not (tmp_path / "escape.txt").exists()


async def test_download_rejects_invalid_id(tmp_path: Path) -> None:
    source = S3Challenges("s3://my-bucket", client_factory=_never_called)
    with pytest.raises(ValueError, match="invalid challenge id"):
        await source.download("../etc", tmp_path)


# -- errors -----------------------------------------------------------------------------------------------------


async def test_missing_bucket(endpoint: str) -> None:
    source = S3Challenges("s3://no-such-bucket-here/catalog", endpoint_url=endpoint)
    with pytest.raises(ChallengeSourceUnavailable, match="'no-such-bucket-here' does not exist") as info:
        await source.list_ids()
    assert "s3://no-such-bucket-here/catalog/" in info.value.hint
    assert isinstance(info.value.__cause__, ClientError)
    with pytest.raises(ChallengeSourceUnavailable):
        await source.exists("python")


async def test_no_credentials_development(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    source = S3Challenges("s3://my-bucket/catalog", endpoint_url=endpoint, development=True)
    with pytest.raises(ChallengeSourceUnavailable, match="NoCredentialsError") as info:
        await source.list_ids()
    assert "aws sso login --profile" in info.value.hint


async def test_no_credentials_production(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    source = S3Challenges("s3://my-bucket/catalog", endpoint_url=endpoint)
    with pytest.raises(ChallengeSourceUnavailable, match="no usable AWS credentials") as info:
        await source.exists("python")
    assert "ECS task role" in info.value.hint
    assert "sso" not in info.value.hint


async def test_unknown_profile_names_it_in_the_hint(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prequel-dev")
    source = S3Challenges("s3://my-bucket/catalog", endpoint_url=endpoint, development=True)
    with pytest.raises(ChallengeSourceUnavailable, match="ProfileNotFound") as info:
        await source.list_ids()
    assert info.value.hint == "run `aws sso login --profile prequel-dev`"


@pytest.fixture(scope="module")
def iam_keys(endpoint: str) -> dict[str, tuple[str, str]]:
    """Access keys created in moto's IAM: ``allowed`` (an s3:* policy) and ``denied`` (no policy at all)."""
    iam = _client(endpoint, "iam")
    keys: dict[str, tuple[str, str]] = {}
    for role, policy in (("allowed", True), ("denied", False)):
        user = f"{role}-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        if policy:
            iam.put_user_policy(
                UserName=user,
                PolicyName="s3",
                PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
            )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[role] = (key["AccessKeyId"], key["SecretAccessKey"])
    return keys


@pytest.fixture
def enforced_auth(endpoint: str, iam_keys: dict[str, tuple[str, str]]) -> Iterator[dict[str, tuple[str, str]]]:
    """Make moto check signatures and IAM policies (it accepts anything by default); restored afterwards."""

    def set_auth(value: str) -> None:
        request = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth",
            data=value.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    set_auth("0")
    try:
        yield iam_keys
    finally:
        set_auth("inf")


@pytest.mark.parametrize(
    ("who", "wrong_secret", "code"),
    [
        ("nobody", False, "InvalidAccessKeyId"),
        ("allowed", True, "SignatureDoesNotMatch"),
        ("denied", False, "AccessDenied"),
    ],
)
async def test_rejected_credentials(
    endpoint: str,
    layout_bucket: str,
    enforced_auth: dict[str, tuple[str, str]],
    who: str,
    wrong_secret: bool,
    code: str,
) -> None:
    key, secret = enforced_auth.get(who, ("AKIAUNKNOWNUNKNOWN00", "whatever"))
    if wrong_secret:
        secret = "not-the-secret"
    source = S3Challenges(
        f"s3://{layout_bucket}/catalog",
        client_factory=lambda: _client(endpoint, key=key, secret=secret),
        development=True,
    )
    with pytest.raises(ChallengeSourceUnavailable, match=code) as info:
        await source.list_ids()
    assert "aws sso login" in info.value.hint


async def test_valid_credentials_pass_enforced_auth(
    endpoint: str, layout_bucket: str, enforced_auth: dict[str, tuple[str, str]]
) -> None:
    key, secret = enforced_auth["allowed"]
    source = S3Challenges(
        f"s3://{layout_bucket}/catalog", client_factory=lambda: _client(endpoint, key=key, secret=secret)
    )
    assert await source.list_ids() == ["data-science", "python"]


async def test_unreachable_endpoint() -> None:
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    source = S3Challenges(
        "s3://my-bucket/catalog",
        client_factory=lambda: _client(dead, config=Config(retries={"max_attempts": 1}, connect_timeout=2)),
    )
    with pytest.raises(ChallengeSourceUnavailable, match="cannot reach the S3 endpoint") as info:
        await source.list_ids()
    assert "ECS task" in info.value.hint


async def test_unreachable_endpoint_default_client_gives_up_quickly() -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    source = S3Challenges("s3://my-bucket/catalog", endpoint_url=dead, development=True)
    started = time.monotonic()
    with pytest.raises(ChallengeSourceUnavailable, match="cannot reach") as info:
        await source.exists("python")
    assert time.monotonic() - started < 5  # the default client retries twice, with a short backoff
    assert dead in info.value.hint


class _RaisingClient:
    """A stand-in client for errors moto cannot produce (expired tokens, SSO)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def list_objects_v2(self, **_: Any) -> Any:
        raise self.error

    def get_paginator(self, _: str) -> Any:
        raise self.error


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "ListObjectsV2")


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: _client_error("ExpiredToken"),
        lambda: _client_error("ExpiredTokenException"),
        lambda: TokenRetrievalError(provider="sso", error_msg="token expired"),
        lambda: SSOTokenLoadError(error_msg="no cached token"),
        lambda: UnauthorizedSSOTokenError(),
        lambda: PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
    ],
)
@pytest.mark.parametrize("development", [True, False])
async def test_credential_errors_are_mapped(
    make_error: Callable[[], Exception], development: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prequel-dev")
    error = make_error()
    source = S3Challenges("s3://my-bucket", client_factory=lambda: _RaisingClient(error), development=development)
    for call in (source.list_ids(), source.exists("python")):
        with pytest.raises(ChallengeSourceUnavailable) as info:
            await call
        assert info.value.__cause__ is error
    expected = "run `aws sso login --profile prequel-dev`" if development else "check the ECS task role's permissions"
    assert info.value.hint.startswith(expected)


@pytest.mark.parametrize("error", [_client_error("InternalError"), _client_error("SlowDown"), RuntimeError("boom")])
async def test_other_errors_propagate(error: Exception) -> None:
    source = S3Challenges("s3://my-bucket", client_factory=lambda: _RaisingClient(error))
    with pytest.raises(type(error)) as info:
        await source.list_ids()
    assert info.value is error


# --- through the API: GET /api/challenges from S3, and 503 with the hint when S3 cannot be reached ---


def _api(nats_url: str, redis_url: str, challenges: str, endpoint_url: str) -> Any:
    from fastapi.testclient import TestClient
    from prequel_api.app import create_app
    from prequel_api.settings import ApiSettings

    settings = ApiSettings(
        nats_url=nats_url,
        redis_url=redis_url,
        api_tokens="tester:0123456789abcdef0123",
        env="development",
        redis_prefix="s3-api",
        challenges=challenges,
        s3_endpoint_url=endpoint_url,
    )
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = "Bearer 0123456789abcdef0123"
    return client


def test_api_lists_challenges_from_s3(endpoint: str, layout_bucket: str, nats_url: str, redis_url: str) -> None:
    with _api(nats_url, redis_url, f"s3://{layout_bucket}/catalog", endpoint) as api:
        reply = api.get("/api/challenges")
        expected = [{"id": "data-science", "name": "Data Science"}, {"id": "python", "name": "Python"}]
        assert reply.status_code == 200 and reply.json() == {"success": True, "challenges": expected}
        body = {"candidateName": "From S3", "challenge": "nonexistent", "autoDestroyMinutes": 30}
        assert api.post("/api/interviews/create", json=body).status_code == 400


def test_api_answers_503_with_the_hint_when_s3_is_unreachable(nats_url: str, redis_url: str) -> None:
    with _api(nats_url, redis_url, "s3://somewhere/challenges", f"http://127.0.0.1:{_free_port()}") as api:
        reply = api.get("/api/challenges")
    assert reply.status_code == 503
    assert reply.json()["error"].startswith("Challenges are unavailable")
