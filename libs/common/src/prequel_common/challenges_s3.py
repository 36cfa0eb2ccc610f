"""Challenges from S3: one "folder" per challenge under ``s3://bucket/prefix/``, named by its id.

Same interface as :class:`~prequel_api.adapters.challenges.LocalChallenges` (``list_ids``, ``exists``), plus
``download`` for the provisioner. boto3 is blocking, so every S3 call runs in a worker thread. The client is built
lazily on first use: nothing touches the network (or the AWS config files) at import or construction time.

Credential, permission and connectivity problems surface as :class:`ChallengeSourceUnavailable`, whose ``hint``
says what to do (``aws sso login`` in development, the ECS task role in production). A bucket that does not exist
is a configuration problem found only at run time, so it is reported the same way (not as ``ValueError``, which is
kept for a malformed URI at construction). Any other error propagates unchanged.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from prequel_common.intake import CHALLENGE_ID_PATTERN

CHALLENGE_ID = re.compile(CHALLENGE_ID_PATTERN)

T = TypeVar("T")

#: S3 bucket naming rules (lower case, digits, dots and hyphens; 3-63 characters; letter or digit at both ends).
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

#: ``ClientError`` codes that mean "your credentials are wrong, expired or not allowed".
CREDENTIAL_ERROR_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}
)

#: botocore exceptions raised while finding or refreshing credentials (before any request is sent).
_CREDENTIAL_EXCEPTIONS: tuple[type[Exception], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    TokenRetrievalError,
    SSOTokenLoadError,
    UnauthorizedSSOTokenError,
    CredentialRetrievalError,
    ProfileNotFound,
)
_CONNECTION_EXCEPTIONS: tuple[type[Exception], ...] = (EndpointConnectionError, ConnectTimeoutError)

#: Used for the default client: fail over a dead endpoint in seconds rather than minutes.
_DEFAULT_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})


class ChallengeSourceUnavailable(Exception):
    """The challenge source cannot be read right now (credentials, permissions, missing bucket, unreachable endpoint).

    ``str(exc)`` names the problem; ``hint`` says what to do about it.
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix/")``; ``s3://bucket`` -> ``("bucket", "")``."""
    parts = urlsplit(uri)
    if parts.scheme != "s3":
        raise ValueError(f"challenges URI must look like s3://bucket/prefix, got {uri!r} (scheme is not s3)")
    if parts.query or parts.fragment or uri.rstrip("/").endswith(("?", "#")):
        raise ValueError(f"challenges URI {uri!r} must not have a query or fragment")
    bucket = parts.netloc
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise ValueError(f"challenges URI {uri!r} has an invalid bucket name {bucket!r}")
    path = parts.path.strip("/")
    if not path:
        return bucket, ""
    segments = path.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise ValueError(f"challenges URI {uri!r} has an empty, '.' or '..' segment in its prefix")
    return bucket, path + "/"


def _safe_relative(rel: str) -> PurePosixPath:
    """A key's path below the challenge folder, refusing anything that could land outside the destination."""
    path = PurePosixPath(rel)
    if not rel or path.is_absolute() or rel.startswith("/") or "\\" in rel or "\0" in rel:
        raise ValueError(f"refusing S3 key part {rel!r}: absolute, empty or with a backslash/NUL")
    if any(part in ("..", ".") for part in rel.split("/")):
        raise ValueError(f"refusing S3 key part {rel!r}: it has a '.' or '..' segment")
    return path


class S3Challenges:
    """Challenges stored as ``s3://bucket/prefix/<challenge-id>/...``."""

    def __init__(
        self,
        uri: str,
        client_factory: Callable[[], Any] | None = None,
        endpoint_url: str | None = None,
        *,
        development: bool = False,
    ) -> None:
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.uri = f"s3://{self.bucket}/{self.prefix}"
        self._endpoint_url = endpoint_url
        self._client_factory = client_factory or self._default_client
        self._development = development
        self._client: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Challenges({self.uri!r}, endpoint_url={self._endpoint_url!r})"

    # -- public interface ---------------------------------------------------------------------------------------

    async def list_ids(self) -> list[str]:
        return await self._run(self._list_ids_sync)

    async def exists(self, challenge_id: str) -> bool:
        if not CHALLENGE_ID.match(challenge_id):
            return False
        return await self._run(self._exists_sync, challenge_id)

    async def download(self, challenge_id: str, dest: Path) -> int:
        """Copy every object under ``prefix/challenge_id/`` into ``dest`` (relative paths kept); return the file count.

        All keys are checked before anything is written: a key that would escape ``dest`` (``..``, absolute, ...)
        raises ``ValueError`` and nothing is downloaded.
        """
        if not CHALLENGE_ID.match(challenge_id):
            raise ValueError(f"invalid challenge id {challenge_id!r}")
        return await self._run(self._download_sync, challenge_id, dest)

    # -- blocking implementations (worker thread) ---------------------------------------------------------------

    def _list_ids_sync(self) -> list[str]:
        ids: set[str] = set()
        for page in self._pages(Prefix=self.prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = str(common["Prefix"])[len(self.prefix) :].rstrip("/")
                if CHALLENGE_ID.match(name):
                    ids.add(name)
        return sorted(ids)

    def _exists_sync(self, challenge_id: str) -> bool:
        response = self._client_or_build().list_objects_v2(
            Bucket=self.bucket, Prefix=f"{self.prefix}{challenge_id}/", MaxKeys=1
        )
        return bool(response.get("KeyCount", 0) or response.get("Contents"))

    def _download_sync(self, challenge_id: str, dest: Path) -> int:
        base = f"{self.prefix}{challenge_id}/"
        files: list[tuple[str, PurePosixPath]] = []
        folders: list[PurePosixPath] = []
        for page in self._pages(Prefix=base):
            for obj in page.get("Contents", []):
                key = str(obj["Key"])
                rel = key[len(base) :]
                if rel == "":
                    continue  # the folder marker of the challenge itself
                if rel.endswith("/"):  # a "folder" created by the console: an empty directory
                    folders.append(_safe_relative(rel.rstrip("/")))
                else:
                    files.append((key, _safe_relative(rel)))
        root = dest.resolve()
        targets: list[tuple[str, Path]] = []
        for key, rel_path in files:
            target = (root / rel_path).resolve()
            if not target.is_relative_to(root) or target == root:
                raise ValueError(f"refusing S3 key {key!r}: it would be written outside {dest}")
            targets.append((key, target))
        root.mkdir(parents=True, exist_ok=True)
        for folder in folders:
            (root / folder).mkdir(parents=True, exist_ok=True)
        client = self._client_or_build()
        for key, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            body = client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                with open(target, "wb") as out:
                    shutil.copyfileobj(body, out, 1024 * 1024)
            finally:
                body.close()
        return len(targets)

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client_or_build().get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self.bucket, **kwargs)

    # -- client and error mapping -------------------------------------------------------------------------------

    def _default_client(self) -> Any:
        # A private session: boto3's default session is not safe to build clients from in several threads at once.
        return boto3.session.Session().client("s3", endpoint_url=self._endpoint_url, config=_DEFAULT_CLIENT_CONFIG)

    def _client_or_build(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(func, *args)
        except _CREDENTIAL_EXCEPTIONS as exc:
            self._unavailable(f"no usable AWS credentials ({type(exc).__name__}: {exc})", self._credentials_hint(), exc)
        except _CONNECTION_EXCEPTIONS as exc:
            self._unavailable(f"cannot reach the S3 endpoint ({exc})", self._connection_hint(), exc)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in CREDENTIAL_ERROR_CODES:
                what = "access denied" if code == "AccessDenied" else "credentials rejected"
                self._unavailable(f"{what} by S3 ({code}: {exc})", self._credentials_hint(), exc)
            if code == "NoSuchBucket":
                self._unavailable(
                    f"bucket {self.bucket!r} does not exist ({code})",
                    f"check the bucket name in the challenges URI ({self.uri})",
                    exc,
                )
            raise

    def _unavailable(self, problem: str, hint: str, cause: BaseException) -> NoReturn:
        raise ChallengeSourceUnavailable(f"challenges at {self.uri} are unavailable: {problem}", hint) from cause

    def _credentials_hint(self) -> str:
        if self._development:
            profile = os.environ.get("AWS_PROFILE")
            if profile:
                return f"run `aws sso login --profile {profile}`"
            return "set AWS_PROFILE and run `aws sso login --profile <AWS_PROFILE>`"
        return f"check the ECS task role's permissions (s3:ListBucket and s3:GetObject on {self.uri})"

    def _connection_hint(self) -> str:
        endpoint = self._endpoint_url or "the default AWS S3 endpoint"
        if self._development:
            return f"check that {endpoint} is reachable (is the local S3 server running?)"
        return f"check the ECS task's network route to {endpoint} (VPC endpoint or NAT) and the ECS task role"
