"""``/api/challenges``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from prequel_api.adapters.challenges import display_name
from prequel_api.deps import Services, services
from prequel_api.ratelimit import limit_queries
from prequel_api.schemas import Challenge, ChallengeList, ErrorBody

router = APIRouter(prefix="/api/challenges", tags=["challenges"])


@router.get(
    "",
    response_model=ChallengeList,
    responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def list_challenges(
    svc: Annotated[Services, Depends(services)], user: Annotated[str, Depends(limit_queries)]
) -> ChallengeList:
    ids = await svc.challenges.list_ids()
    return ChallengeList(challenges=[Challenge(id=i, name=display_name(i)) for i in ids])
