"""Identifiers and secrets. Ids are DNS-label safe: they become hostnames in AWS."""

from __future__ import annotations

import hashlib
import secrets
import string

_PASSWORD_ALPHABET = string.ascii_lowercase + string.digits


def new_interview_id() -> str:
    return f"int-{secrets.token_hex(5)}"


def new_operation_id() -> str:
    return f"op-{secrets.token_hex(6)}"


def derived_operation_id(*parts: str) -> str:
    """A deterministic operation id: several replicas asking for the same action agree on it."""
    digest = hashlib.sha256(":".join(parts).encode()).hexdigest()[:12]
    return f"op-{digest}"


def new_password(length: int = 12) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
