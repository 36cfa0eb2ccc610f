"""API tokens: ``PREQUEL_API_TOKENS`` is a comma-separated list of ``user:token``; comparison is constant-time."""

from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenTable:
    entries: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, spec: str) -> TokenTable:
        entries: list[tuple[str, str]] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            user, sep, token = item.partition(":")
            if not sep or not user.strip() or len(token.strip()) < 16:
                raise ValueError("each entry of PREQUEL_API_TOKENS must be user:token with a token of 16+ characters")
            entries.append((user.strip(), token.strip()))
        if not entries:
            raise ValueError("PREQUEL_API_TOKENS holds no user:token entry")
        return cls(tuple(entries))

    def user_for(self, token: str | None) -> str | None:
        if not token:
            return None
        found: str | None = None
        for user, expected in self.entries:  # no early exit: the time taken does not depend on the match
            if hmac.compare_digest(token.encode(), expected.encode()):
                found = user
        return found


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
