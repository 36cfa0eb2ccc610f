"""``/api/interviews``: create, list, destroy."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header
from prequel_common import intake, lifecycle
from prequel_common.clock import iso, utcnow
from prequel_common.commands import CreateInterview
from prequel_common.ids import new_operation_id
from prequel_common.lifecycle import DestroyConflict, InterviewNotFound, request_destroy
from prequel_common.models import Interview, Operation, OperationResult
from prequel_common.status import InterviewStatus, OperationStatus
from prequel_common.views import InterviewView

from prequel_api.auth import current_user
from prequel_api.deps import Services, services
from prequel_api.errors import ApiError
from prequel_api.ratelimit import limit_queries
from prequel_api.schemas import (
    CreateInterviewRequest,
    CreateInterviewResponse,
    DestroyResponse,
    ErrorBody,
    ExtendRequest,
    ExtendResponse,
    InterviewList,
)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/interviews", tags=["interviews"])
Svc = Annotated[Services, Depends(services)]
User = Annotated[str, Depends(current_user)]
Querier = Annotated[str, Depends(limit_queries)]
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    413: {"model": ErrorBody},
    429: {"model": ErrorBody},
    500: {"model": ErrorBody},
}


@router.post(
    "/create",
    response_model=CreateInterviewResponse,
    response_model_exclude_none=True,
    responses={**ERRORS, 409: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def create_interview(
    body: CreateInterviewRequest,
    svc: Svc,
    user: User,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Same key within 24 h: the first response again",
            min_length=1,
            max_length=200,
        ),
    ] = None,
) -> CreateInterviewResponse:
    """Create an interview now, or at ``scheduledAt``; it is destroyed ``autoDestroyMinutes`` after it starts."""
    if idempotency_key is None:
        await _count_create(svc, user)
        return await _create(body, svc, user)
    # a replay creates nothing, so it is answered before the create limit is counted: a client retrying a create
    # whose answer it lost gets that answer even when it is at its limit
    earlier = await svc.idempotency.begin(user, idempotency_key)
    if earlier is not None:
        return CreateInterviewResponse.model_validate_json(earlier)
    try:
        await _count_create(svc, user)
        response = await _create(body, svc, user)
    except BaseException:
        await svc.idempotency.abandon(user, idempotency_key)
        raise
    await svc.idempotency.finish(user, idempotency_key, response.model_dump_json(by_alias=True))
    return response


async def _count_create(svc: Services, user: str) -> None:
    await svc.limiter.hit("creates", user, svc.settings.rate_limit_creates_per_minute)


async def _create(body: CreateInterviewRequest, svc: Services, user: str) -> CreateInterviewResponse:
    now = utcnow()
    try:
        intake.check(body, svc.settings.limits, now)
    except intake.RequestRejected as exc:
        raise ApiError(400, str(exc), exc.details) from exc
    if not await svc.challenges.exists(body.challenge):
        raise ApiError(
            400,
            f"Unknown challenge '{body.challenge}': see GET /api/challenges",
            f"no challenge with id {body.challenge!r} in the configured challenge source",
        )
    interview, operation = intake.new_records(body, now=now, created_by=user)
    structlog.contextvars.bind_contextvars(interview_id=interview.id, operation_id=operation.id)
    recorder = svc.recorder
    await recorder.store.create_interview(interview, operation)
    await recorder.announce_interview(interview)
    await recorder.announce_operation(operation)
    if interview.status == InterviewStatus.SCHEDULED:
        start = iso(interview.scheduled_at or now)
        await recorder.log(operation, f"Interview for {interview.candidate_name} scheduled to start at {start}")
        message = "Interview scheduled: creation starts in background at scheduledAt"
    else:
        await recorder.log(operation, f"Starting interview creation for {interview.candidate_name}")
        await _publish_create(svc, interview, operation)
        message = "Interview creation started in background"
    log.info("interview created", status=interview.status, challenge=interview.challenge)
    return CreateInterviewResponse(
        operation_id=operation.id,
        interview_id=interview.id,
        candidate_name=interview.candidate_name,
        challenge=interview.challenge,
        password=interview.password,
        scheduled_at=interview.scheduled_at,
        auto_destroy_at=interview.auto_destroy_at,
        message=message,
    )


async def _publish_create(svc: Services, interview: Interview, operation: Operation) -> None:
    try:
        await svc.commands.publish(CreateInterview(operation_id=operation.id, interview_id=interview.id))
    except Exception as exc:
        recorder = svc.recorder
        failure = OperationResult(success=False, error="could not queue the create command")
        await recorder.operation_to(operation.id, OperationStatus.FAILED, completed_at=utcnow(), result=failure)
        await recorder.interview_to(interview.id, InterviewStatus.ERROR)
        await recorder.log(operation, f"❌ Could not queue the create command: {type(exc).__name__}")
        raise ApiError(
            500, "Could not start the interview creation: the command bus is unavailable", repr(exc)
        ) from exc


@router.get("", response_model=InterviewList, responses=ERRORS)
async def list_interviews(svc: Svc, user: Querier) -> InterviewList:
    interviews = await svc.recorder.store.interviews.list_all()
    return InterviewList(interviews=[InterviewView.of(i) for i in interviews])


@router.post(
    "/{interview_id}/destroy",
    response_model=DestroyResponse,
    responses={**ERRORS, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def destroy_interview(interview_id: str, svc: Svc, user: User) -> DestroyResponse:
    structlog.contextvars.bind_contextvars(interview_id=interview_id)
    outcome = await request_destroy(
        svc.recorder, svc.commands, interview_id, operation_id=new_operation_id(), reason="requested", created_by=user
    )
    if isinstance(outcome, InterviewNotFound):
        raise ApiError(404, f"Interview {interview_id} not found")
    if isinstance(outcome, DestroyConflict):
        raise ApiError(
            409,
            f"Interview {interview_id} is already {outcome.status} (operation {outcome.operation_id})",
            extra={"operationId": outcome.operation_id},
        )
    return DestroyResponse(
        operation_id=outcome.operation.id,
        interview_id=interview_id,
        message="Interview destruction started in background",
    )


@router.post(
    "/{interview_id}/extend",
    response_model=ExtendResponse,
    responses={**ERRORS, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def extend_interview(interview_id: str, body: ExtendRequest, svc: Svc, user: User) -> ExtendResponse:
    """Move the auto-destroy later; the whole lifetime stays within the configured maximum."""
    structlog.contextvars.bind_contextvars(interview_id=interview_id)
    max_minutes = svc.settings.auto_destroy_max_minutes
    outcome = await lifecycle.extend(svc.recorder, interview_id, body.minutes, max_minutes=max_minutes, by=user)
    if isinstance(outcome, InterviewNotFound):
        raise ApiError(404, f"Interview {interview_id} not found")
    if isinstance(outcome, lifecycle.ExtendRefused):
        raise ApiError(409, f"Interview {interview_id} is {outcome.status}: only live interviews can be extended")
    if isinstance(outcome, lifecycle.ExtendTooLong):
        raise ApiError(
            400,
            f"The interview would last {outcome.lifetime_minutes:.0f} minutes; the maximum is {outcome.max_minutes}",
        )
    return ExtendResponse(
        interview_id=interview_id,
        auto_destroy_at=outcome.interview.auto_destroy_at,
        message=f"Auto-destroy moved {body.minutes} minutes later",
    )
