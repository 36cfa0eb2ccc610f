"""What the routes need, built once by the composition root (app.py) and read from ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from prequel_common.bus import CommandPublisher
from prequel_common.challenges_s3 import S3Challenges
from prequel_common.recorder import Recorder

from prequel_api.adapters.challenges import LocalChallenges
from prequel_api.idempotency import IdempotencyStore
from prequel_api.ratelimit import RateLimiter
from prequel_api.settings import ApiSettings


@dataclass(frozen=True)
class Services:
    settings: ApiSettings
    recorder: Recorder
    commands: CommandPublisher
    challenges: LocalChallenges | S3Challenges
    limiter: RateLimiter
    idempotency: IdempotencyStore


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
